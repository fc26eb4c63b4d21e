"""Trust requests: asking a client for money into trust, and the pay links sent to them."""

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar, Literal

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, ForeignKey, Index, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustweb.extensions import Model
from trustweb.models.base import UTCDateTime, created_at_column, one_of, updated_at_column


class RequestStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    VIEWED = "viewed"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"


class TemplateKind(StrEnum):
    REQUEST = "request"
    REMINDER = "reminder"
    INVOICE = "invoice"
    APPLIED = "applied"
    SCHEDULED = "scheduled"


REQUEST_STATUSES: dict[str, str] = {
    RequestStatus.DRAFT: "Draft",
    RequestStatus.SENT: "Sent",
    RequestStatus.VIEWED: "Viewed",
    RequestStatus.PARTIALLY_PAID: "Partially paid",
    RequestStatus.PAID: "Paid",
    RequestStatus.VOID: "Void",
}
# Statuses in which the client may still pay.
PAYABLE = (RequestStatus.DRAFT, RequestStatus.SENT, RequestStatus.VIEWED, RequestStatus.PARTIALLY_PAID)
# Gone out to the client and not yet paid in full.
OUTSTANDING = (RequestStatus.SENT, RequestStatus.VIEWED, RequestStatus.PARTIALLY_PAID)
OPEN_REPLENISHMENT = "replenishes AND status IN ('draft', 'sent', 'viewed', 'partially_paid')"
TEMPLATE_KINDS: dict[str, str] = {
    TemplateKind.REQUEST: "Trust request",
    TemplateKind.REMINDER: "Reminder",
    TemplateKind.INVOICE: "Invoice",
    TemplateKind.APPLIED: "Trust funds applied to an invoice",
    TemplateKind.SCHEDULED: "Notice of trust funds to be applied",
}


class TrustRequest(Model):
    __tablename__ = "trust_request"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        # The database itself refuses a request paid beyond what was asked.
        CheckConstraint("paid_cents >= 0 AND paid_cents <= amount_cents", name="paid_within_amount"),
        CheckConstraint("refunded_cents >= 0 AND refunded_cents <= paid_cents", name="refunds_within_paid"),
        CheckConstraint(
            "minimum_cents IS NULL OR (minimum_cents > 0 AND minimum_cents <= amount_cents)", name="minimum_in_range"
        ),
        one_of("status", RequestStatus),
        CheckConstraint(f"status != '{RequestStatus.PAID}' OR paid_cents = amount_cents", name="paid_means_paid"),
        CheckConstraint("due_on IS NULL OR due_on >= issued_on", name="due_after_issue"),
        # Covers the Bills tab's totals (outstanding, overdue) without reading the rows.
        Index("ix_trust_request_status_due", "status", "due_on", "amount_cents", "paid_cents"),
        # One replenishment request open per evergreen matter, enforced by the database (two workers cannot
        # both ask).
        Index(
            "uq_trust_request_open_replenishment",
            "matter_id",
            unique=True,
            sqlite_where=text(OPEN_REPLENISHMENT),
            postgresql_where=text(OPEN_REPLENISHMENT),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    matter_id: Mapped[int | None] = mapped_column(ForeignKey("matter.id"), index=True)
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("bank_account.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    # What was paid toward it (less chargebacks: owed again); a refund leaves it, and what was asked, as they
    # were and is counted here instead: given back, no longer asked for.
    paid_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    message: Mapped[str | None] = mapped_column(Text)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("email_template.id"))
    allow_partial: Mapped[bool] = mapped_column(Boolean, default=False)
    minimum_cents: Mapped[int | None] = mapped_column(BigInteger)
    # Comma-separated addresses.
    recipients: Mapped[str] = mapped_column(String(1000))
    cc: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.DRAFT)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    viewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    void_reason: Mapped[str | None] = mapped_column(Text)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_reminder_on: Mapped[date | None] = mapped_column(Date)
    # Asked for by TrustWeb itself to bring an evergreen matter back to its target (services/evergreen.py).
    replenishes: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    contact = relationship("Contact")
    matter = relationship("Matter")
    bank_account = relationship("BankAccount")
    template = relationship("EmailTemplate")
    created_by = relationship("User", foreign_keys=[created_by_id])
    approved_by = relationship("User", foreign_keys=[approved_by_id])
    links = relationship("PayLink", back_populates="request", order_by="PayLink.id")
    payments = relationship("Payment", back_populates="request", order_by="Payment.id")

    is_invoice: ClassVar[Literal[False]] = False
    Status = RequestStatus  # what code that takes a request or an invoice compares the status with

    @property
    def currency(self) -> str:
        """What the request asks for money in: its trust account's currency."""
        return self.bank_account.currency

    @property
    def due_cents(self):
        return self.amount_cents - self.paid_cents

    @property
    def received_cents(self):
        """What its payments brought in, less what was refunded."""
        return self.paid_cents - self.refunded_cents

    @property
    def payable_cents(self):
        """What the client may still pay (an invoice also deducts trust money promised to it)."""
        return self.due_cents

    @property
    def status_label(self):
        return REQUEST_STATUSES[self.status]

    @property
    def is_open(self):
        return self.status in PAYABLE

    @property
    def is_editable(self):
        return self.status == RequestStatus.DRAFT

    def is_overdue(self, today):
        return self.is_open and self.status != RequestStatus.DRAFT and self.due_on is not None and self.due_on < today

    @property
    def lawyer(self):
        return self.matter.lawyer if self.matter is not None else self.created_by

    @property
    def recipient_list(self):
        return [a for a in (self.recipients or "").split(",") if a]

    @property
    def cc_list(self):
        return [a for a in (self.cc or "").split(",") if a]


class LinkState(StrEnum):
    """Whether a pay link can take a payment now, or why not (derived, never stored)."""

    OPEN = "open"
    UNKNOWN = "unknown"
    REVOKED = "revoked"
    EXPIRED = "expired"
    VOID = "void"
    PAID = "paid"


class PayLink(Model):
    """One pay link handed to a client, for a trust request or an invoice: only the SHA-256 of its token is kept."""

    __tablename__ = "pay_link"
    __table_args__ = (CheckConstraint("(trust_request_id IS NULL) != (invoice_id IS NULL)", name="pays_one_thing"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trust_request_id: Mapped[int | None] = mapped_column(ForeignKey("trust_request.id"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = created_at_column()

    request = relationship("TrustRequest", back_populates="links")
    invoice = relationship("Invoice", back_populates="links")

    @property
    def payable(self):
        """What the link pays: its trust request or its invoice."""
        return self.invoice if self.invoice_id is not None else self.request


class EmailTemplate(Model):
    """Subject and body of a client email, with merge fields, rendered in a sandbox."""

    __tablename__ = "email_template"
    __table_args__ = (
        one_of("kind", TemplateKind),
        # One default template of each kind, enforced by the database.
        Index(
            "uq_email_template_default_kind",
            "kind",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(10), default=TemplateKind.REQUEST)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    @property
    def kind_label(self):
        return TEMPLATE_KINDS[self.kind]
