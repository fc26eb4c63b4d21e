"""Business actions: one function per action, each one database transaction."""

from trustweb.ledger.rules import LedgerError


class ServiceError(ValueError):
    """An action refused for a reason the user can act on; the message is shown as is."""


# What a view shows the user as the reason an action was refused (never a 500).
REFUSALS = (ServiceError, LedgerError)
