"""Business actions: one function per action, each one database transaction."""
