"""Fixtures the ledger's tests share."""

from tests.ledger.test_audit_trail import unguard  # noqa: F401 - the fixture that switches a trigger off, as a DBA would
