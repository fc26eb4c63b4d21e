"""Database models, one module per area of the firm's work."""

from trustweb.models import append_only, balances
from trustweb.models.accounts import ACCOUNT_KINDS, AccountKind, BankAccount, FeeMode, Processor
from trustweb.models.audit import AuditChainHead, AuditEvent
from trustweb.models.contacts import CONTACT_KINDS, Contact, ContactKind
from trustweb.models.firm import Counter, FirmSettings
from trustweb.models.invoices import (
    INVOICE_STATUSES,
    LINE_KINDS,
    ApplicationStatus,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    TrustApplication,
)
from trustweb.models.ledger import (
    ENTRY_KINDS,
    NORMAL_SIGN,
    DepositClearance,
    EntryKind,
    JournalEntry,
    JournalLine,
    LedgerAccount,
    LedgerKind,
)
from trustweb.models.mail import MAIL_KINDS, WAITING, MailStatus, OutboxMessage, ScheduledJob
from trustweb.models.matters import MATTER_STATUSES, Matter, MatterStatus
from trustweb.models.method_links import MethodLink
from trustweb.models.methods import (
    PLAN_FREQUENCIES,
    PLAN_STATUSES,
    InstalmentStatus,
    MethodKind,
    PaymentPlan,
    PlanEnd,
    PlanFrequency,
    PlanInstalment,
    PlanStatus,
    SavedMethod,
)
from trustweb.models.payments import (
    PAYMENT_STATUSES,
    Dispute,
    DisputeStatus,
    Payment,
    PaymentStatus,
    ProcessorEvent,
    Refund,
)
from trustweb.models.portal import LOGO_TYPES, FirmLogo, PortalAccess, PortalLink, PortalLinkPurpose, PortalSession
from trustweb.models.requests import (
    REQUEST_STATUSES,
    TEMPLATE_KINDS,
    EmailTemplate,
    PayLink,
    RequestStatus,
    TemplateKind,
    TrustRequest,
)
from trustweb.models.statements import (
    STATEMENT_SOURCES,
    BankStatement,
    Reconciliation,
    ReconciliationStatus,
    StatementLine,
    StatementSource,
)
from trustweb.models.users import ROLE_LABELS, ROLES, LoginAttempt, Role, User, UserSession

# What a client pays through a link: a request for money into trust, or a bill.
Payable = TrustRequest | Invoice

append_only.register()
append_only.register_locks()
balances.register()

__all__ = [
    "AccountKind",
    "FeeMode",
    "Processor",
    "ContactKind",
    "ApplicationStatus",
    "InvoiceStatus",
    "LineKind",
    "EntryKind",
    "LedgerKind",
    "MailStatus",
    "MatterStatus",
    "DisputeStatus",
    "PaymentStatus",
    "RequestStatus",
    "TemplateKind",
    "ReconciliationStatus",
    "StatementSource",
    "Role",
    "AuditChainHead",
    "AuditEvent",
    "DepositClearance",
    "ENTRY_KINDS",
    "JournalEntry",
    "JournalLine",
    "LedgerAccount",
    "NORMAL_SIGN",
    "Payable",
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
    "ScheduledJob",
    "WAITING",
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
    "LOGO_TYPES",
    "FirmLogo",
    "PortalAccess",
    "PortalLink",
    "PortalLinkPurpose",
    "PortalSession",
    "PLAN_FREQUENCIES",
    "PLAN_STATUSES",
    "InstalmentStatus",
    "MethodKind",
    "MethodLink",
    "PaymentPlan",
    "PlanEnd",
    "PlanFrequency",
    "PlanInstalment",
    "PlanStatus",
    "SavedMethod",
]
