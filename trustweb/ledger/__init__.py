"""The money rules: pure functions and typed errors, with no Flask imports."""
