"""Database models, one module per area of the firm's work."""

from trustweb.models import append_only
from trustweb.models.accounts import ACCOUNT_KINDS, BankAccount
from trustweb.models.audit import AuditChainHead, AuditEvent
from trustweb.models.contacts import CONTACT_KINDS, Contact
from trustweb.models.firm import Counter, FirmSettings
from trustweb.models.invoices import INVOICE_STATUSES, LINE_KINDS, Invoice, InvoiceLine, TrustApplication
from trustweb.models.ledger import (
    ENTRY_KINDS,
    NORMAL_SIGN,
    DepositClearance,
    JournalEntry,
    JournalLine,
    LedgerAccount,
)
from trustweb.models.mail import MAIL_KINDS, OutboxMessage
from trustweb.models.matters import MATTER_STATUSES, Matter
from trustweb.models.payments import PAYMENT_STATUSES, Dispute, Payment, ProcessorEvent, Refund
from trustweb.models.requests import REQUEST_STATUSES, TEMPLATE_KINDS, EmailTemplate, PayLink, TrustRequest
from trustweb.models.statements import STATEMENT_SOURCES, BankStatement, Reconciliation, StatementLine
from trustweb.models.users import ROLE_LABELS, ROLES, LoginAttempt, User, UserSession

append_only.register()
append_only.register_locks()

__all__ = [
    "AuditChainHead",
    "AuditEvent",
    "DepositClearance",
    "ENTRY_KINDS",
    "JournalEntry",
    "JournalLine",
    "LedgerAccount",
    "NORMAL_SIGN",
    "ACCOUNT_KINDS",
    "BankAccount",
    "BankStatement",
    "Reconciliation",
    "STATEMENT_SOURCES",
    "StatementLine",
    "CONTACT_KINDS",
    "Contact",
    "Counter",
    "LoginAttempt",
    "FirmSettings",
    "MATTER_STATUSES",
    "Matter",
    "EmailTemplate",
    "INVOICE_STATUSES",
    "Invoice",
    "InvoiceLine",
    "LINE_KINDS",
    "TrustApplication",
    "MAIL_KINDS",
    "OutboxMessage",
    "PAYMENT_STATUSES",
    "Dispute",
    "PayLink",
    "ProcessorEvent",
    "Refund",
    "Payment",
    "REQUEST_STATUSES",
    "TEMPLATE_KINDS",
    "TrustRequest",
    "ROLE_LABELS",
    "ROLES",
    "User",
    "UserSession",
]
