"""Database models, one module per area of the firm's work."""

from trustweb.models.accounts import ACCOUNT_KINDS, BankAccount
from trustweb.models.contacts import CONTACT_KINDS, Contact
from trustweb.models.firm import Counter, FirmSettings
from trustweb.models.matters import MATTER_STATUSES, Matter
from trustweb.models.users import ROLE_LABELS, ROLES, LoginAttempt, User, UserSession

__all__ = [
    "ACCOUNT_KINDS",
    "BankAccount",
    "CONTACT_KINDS",
    "Contact",
    "Counter",
    "LoginAttempt",
    "FirmSettings",
    "MATTER_STATUSES",
    "Matter",
    "ROLE_LABELS",
    "ROLES",
    "User",
    "UserSession",
]
