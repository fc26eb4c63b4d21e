"""Payments: one receipt of money for a trust request, by card through a processor or recorded by hand."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustweb.extensions import Model
from trustweb.models.base import created_at_column, one_of


class PaymentStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"
    DISPUTED = "disputed"


class DisputeStatus(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


PAYMENT_STATUSES: dict[str, str] = {
    PaymentStatus.PENDING: "Pending",
    PaymentStatus.SUCCEEDED: "Succeeded",
    PaymentStatus.FAILED: "Failed",
    PaymentStatus.REFUNDED: "Refunded",
    PaymentStatus.DISPUTED: "Disputed",
}
# Money that came in (and may have gone back since).
RECEIVED = (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED, PaymentStatus.DISPUTED)


class Payment(Model):
    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("fee_cents >= 0 AND fee_cents <= amount_cents", name="fee_in_range"),
        one_of("status", PaymentStatus),
        CheckConstraint(
            f"status != '{PaymentStatus.SUCCEEDED}' OR journal_entry_id IS NOT NULL", name="succeeded_is_booked"
        ),
        CheckConstraint("refunded_cents >= 0 AND refunded_cents <= amount_cents", name="refunded_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Invariant 7: one checkout (or one manual entry form) posts once; the key is unique.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    receipt_number: Mapped[str | None] = mapped_column(String(20), unique=True)
    trust_request_id: Mapped[int | None] = mapped_column(ForeignKey("trust_request.id"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"), index=True)
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("bank_account.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    fee_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    method: Mapped[str] = mapped_column(String(12))
    processor: Mapped[str] = mapped_column(String(12))  # test, stripe, manual
    processor_reference: Mapped[str | None] = mapped_column(String(100), index=True)  # pi_... for Stripe
    # The processor's checkout (cs_... for Stripe) the payer was sent to.
    checkout_reference: Mapped[str | None] = mapped_column(String(100), unique=True)
    checkout_url: Mapped[str | None] = mapped_column(Text)
    refunded_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # The part that counted toward the request or invoice when booked; the rest was an excess (a checkout
    # finished after it was paid another way) and is what a refund or chargeback gives back first.
    applied_cents: Mapped[int | None] = mapped_column(BigInteger)
    # A bank payment's deposit is cleared automatically on this date (clear-payments command).
    clears_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))
    failure_message: Mapped[str | None] = mapped_column(Text)
    payer_name: Mapped[str | None] = mapped_column(String(200))
    payer_email: Mapped[str | None] = mapped_column(String(254))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    received_on: Mapped[date] = mapped_column(Date)
    journal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"), unique=True)
    fee_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = created_at_column()

    request = relationship("TrustRequest", back_populates="payments")
    invoice = relationship("Invoice", back_populates="payments")
    bank_account = relationship("BankAccount")
    journal_entry = relationship("JournalEntry", foreign_keys=[journal_entry_id])
    fee_entry = relationship("JournalEntry", foreign_keys=[fee_entry_id])
    created_by = relationship("User")

    @property
    def status_label(self):
        return PAYMENT_STATUSES[self.status]

    @property
    def currency(self) -> str:
        """What the payment was made in: its bank account's currency."""
        return self.bank_account.currency

    @property
    def payable(self):
        """What the payment paid: its trust request or its invoice."""
        return self.invoice if self.invoice_id is not None else self.request


class Refund(Model):
    """Money given back from a payment: only ever from the ledger of the client who paid (invariant 6)."""

    __tablename__ = "refund"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    # re_... from Stripe; unique, so a refund reported by a webhook is booked once.
    processor_reference: Mapped[str | None] = mapped_column(String(100), unique=True)
    online: Mapped[bool] = mapped_column(default=False)
    # The refund form's key: a double click refunds once, here and at Stripe (also its idempotency key there).
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    reason: Mapped[str | None] = mapped_column(Text)
    journal_entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entry.id"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = created_at_column()

    payment = relationship("Payment", backref="refunds")
    journal_entry = relationship("JournalEntry")
    created_by = relationship("User")


class Dispute(Model):
    """A chargeback: money the processor pulled back, and where it was taken from."""

    __tablename__ = "dispute"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint(
            "client_cents >= 0 AND firm_cents >= 0 AND client_cents + firm_cents = amount_cents", name="split"
        ),
        one_of("status", DisputeStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), index=True)
    processor_reference: Mapped[str] = mapped_column(String(100), unique=True)  # dp_...
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    fee_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # Taken from the paying client's ledger (up to its balance) and, for the rest, owed by the firm.
    client_cents: Mapped[int] = mapped_column(BigInteger)
    firm_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default=DisputeStatus.OPEN)
    journal_entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entry.id"), unique=True)
    closing_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"), unique=True)
    created_at: Mapped[datetime] = created_at_column()

    payment = relationship("Payment", backref="disputes")


class ProcessorEvent(Model):
    """A webhook event applied (or acknowledged and ignored): its id is unique, so it is applied once."""

    __tablename__ = "processor_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    processor: Mapped[str] = mapped_column(String(12))
    event_id: Mapped[str] = mapped_column(String(100), unique=True)
    event_type: Mapped[str] = mapped_column(String(60))
    outcome: Mapped[str] = mapped_column(String(300))
    received_at: Mapped[datetime] = created_at_column()
