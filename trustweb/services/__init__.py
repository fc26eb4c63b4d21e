"""Business actions: one function per action, each one database transaction."""

from trustweb.ledger.rules import LedgerError


class ServiceError(ValueError):
    """An action refused for a reason the user can act on; the message is shown as is."""


# What a view shows the user as the reason an action was refused (never a 500).
REFUSALS = (ServiceError, LedgerError)


def printable(text, limit):
    """Text a person or a file gave, without control characters (PostgreSQL refuses NUL), trimmed, at most limit
    long."""
    return "".join(ch for ch in text if ch.isprintable()).strip()[:limit]
