"""Invoices for a matter, their line items, and the trust money applied to them (invariant 8)."""

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar, Literal

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustweb.extensions import Model
from trustweb.models.base import UTCDateTime, created_at_column, one_of, updated_at_column


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"


class LineKind(StrEnum):
    FEE = "fee"
    EXPENSE = "expense"


class ApplicationStatus(StrEnum):
    """Where trust money applied to an invoice stands: moved, waiting out its notice, or stopped."""

    APPLIED = "applied"
    SCHEDULED = "scheduled"
    DISPUTED = "disputed"
    CANCELLED = "cancelled"


INVOICE_STATUSES: dict[str, str] = {
    InvoiceStatus.DRAFT: "Draft",
    InvoiceStatus.SENT: "Sent",
    InvoiceStatus.PARTIALLY_PAID: "Partially paid",
    InvoiceStatus.PAID: "Paid",
    InvoiceStatus.VOID: "Void",
}
# Sent and not yet paid in full: what the client owes and trust money may be applied to.
OPEN_INVOICE = (InvoiceStatus.SENT, InvoiceStatus.PARTIALLY_PAID)
LINE_KINDS: dict[str, str] = {LineKind.FEE: "Fee", LineKind.EXPENSE: "Expense"}


class Invoice(Model):
    __tablename__ = "invoice"
    __table_args__ = (
        CheckConstraint("total_cents >= 0", name="total_not_negative"),
        # The database refuses an invoice paid beyond its total: trust can never go out for more (invariant 8).
        CheckConstraint("paid_cents >= 0 AND paid_cents <= total_cents", name="paid_within_total"),
        one_of("status", InvoiceStatus),
        CheckConstraint(f"status != '{InvoiceStatus.PAID}' OR paid_cents = total_cents", name="paid_means_paid"),
        CheckConstraint("due_on IS NULL OR due_on >= issued_on", name="due_after_issue"),
        Index("ix_invoice_status_due", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matter.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=InvoiceStatus.DRAFT)
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    total_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # Booked as owed to the firm (receivable) when sent: the entry in the operating account.
    receivable_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"), unique=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    void_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    matter = relationship("Matter")
    contact = relationship("Contact")
    created_by = relationship("User")
    lines = relationship(
        "InvoiceLine", back_populates="invoice", order_by="InvoiceLine.position", cascade="all, delete-orphan"
    )
    applications = relationship("TrustApplication", back_populates="invoice", order_by="TrustApplication.id")
    receivable_entry = relationship("JournalEntry")
    links = relationship("PayLink", back_populates="invoice", order_by="PayLink.id")
    payments = relationship("Payment", back_populates="invoice", order_by="Payment.id")

    # What the pay page and the payment services ask of anything a pay link pays (a TrustRequest too).
    is_invoice: ClassVar[Literal[True]] = True
    Status = InvoiceStatus  # what code that takes a request or an invoice compares the status with
    allow_partial = True  # a client may pay part of an invoice, any amount
    minimum_cents = None

    @property
    def amount_cents(self):
        return self.total_cents

    @property
    def message(self):
        return self.notes

    @property
    def bank_account(self):
        """The operating account the invoice is owed to (where its receivable was booked when sent)."""
        return self.receivable_entry.bank_account if self.receivable_entry is not None else None

    @property
    def currency(self) -> str | None:
        """What the invoice is owed in: its operating account's currency (None for a draft, owed to no account
        yet: then the firm's, which the money filter writes for None)."""
        account = self.bank_account
        return account.currency if account is not None else None

    @property
    def lawyer(self):
        return self.matter.lawyer or self.created_by

    @property
    def recipient_list(self):
        """Where the invoice and its receipts go: the client's first email address."""
        return self.contact.emails[:1]

    @property
    def due_cents(self):
        return self.total_cents - self.paid_cents

    @property
    def scheduled_cents(self):
        """Trust money already promised to the invoice by a notice, not yet moved."""
        return sum(a.amount_cents for a in self.applications if a.status == ApplicationStatus.SCHEDULED)

    @property
    def payable_cents(self):
        """What the client may still pay: the balance due less trust money promised to it."""
        return max(self.due_cents - self.scheduled_cents, 0)

    @property
    def status_label(self):
        return INVOICE_STATUSES[self.status]

    @property
    def is_open(self):
        return self.status in OPEN_INVOICE


class InvoiceLine(Model):
    __tablename__ = "invoice_line"
    __table_args__ = (
        one_of("kind", LineKind),
        CheckConstraint("quantity_hundredths > 0", name="quantity_positive"),
        CheckConstraint("rate_cents >= 0 AND amount_cents >= 0", name="money_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    line_date: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(8), default=LineKind.FEE)
    # Hours or units in hundredths (1.25 hours is 125): exact, like money.
    quantity_hundredths: Mapped[int] = mapped_column(Integer)
    rate_cents: Mapped[int] = mapped_column(BigInteger)
    amount_cents: Mapped[int] = mapped_column(BigInteger)

    invoice = relationship("Invoice", back_populates="lines")


class TrustApplication(Model):
    """Trust money applied to an invoice: out of the client's ledger, into the operating account."""

    __tablename__ = "trust_application"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        one_of("status", ApplicationStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    # One click, one application: the form's key is unique.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    # The client's ledger it comes from: the matter's, or the client's funds held without a matter.
    from_client_funds: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10))
    # With a notice period: the day the transfer runs (run-scheduled), unless the client disputes first.
    run_on: Mapped[date | None] = mapped_column(Date)
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("bank_account.id"))
    # The client's link to dispute the fee: only its hash is kept.
    notice_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    note: Mapped[str | None] = mapped_column(Text)
    trust_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"), unique=True)
    operating_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = created_at_column()

    invoice = relationship("Invoice", back_populates="applications")
    trust_entry = relationship("JournalEntry", foreign_keys=[trust_entry_id])
    bank_account = relationship("BankAccount")
    created_by = relationship("User")
