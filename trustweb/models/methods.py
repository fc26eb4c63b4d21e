"""Saved payment methods and payment plans: money taken later from a card or bank account the client saved.

TrustWeb never keeps a card or account number: a saved method is the processor's reference to it (Stripe's
PaymentMethod and Customer, or the test processor's stand-in) with what a person needs to recognise it (brand,
last four digits, expiry) and the consent the client gave, word for word, with its moment.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustweb.extensions import Model
from trustweb.models.base import UTCDateTime, created_at_column, one_of, updated_at_column


class MethodKind(StrEnum):
    CARD = "card"
    BANK = "us_bank_account"


class SavedMethod(Model):
    """A card or bank account a client saved with a processor, for plans, top-ups and payments staff take later."""

    __tablename__ = "saved_method"
    __table_args__ = (
        one_of("kind", MethodKind),
        CheckConstraint("exp_month IS NULL OR exp_month BETWEEN 1 AND 12", name="exp_month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    # The account it was saved through: its processor (and, for Stripe, its keys) keeps the method, so it
    # charges payments into accounts taken by the same processor with the same keys.
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("bank_account.id"))
    processor: Mapped[str] = mapped_column(String(12))  # test or stripe
    kind: Mapped[str] = mapped_column(String(20), default=MethodKind.CARD)
    customer_reference: Mapped[str | None] = mapped_column(String(100))  # cus_... for Stripe
    method_reference: Mapped[str] = mapped_column(String(100), unique=True)  # pm_... for Stripe
    brand: Mapped[str | None] = mapped_column(String(30))  # visa, mastercard... or the bank's name
    last4: Mapped[str | None] = mapped_column(String(4))
    exp_month: Mapped[int | None] = mapped_column(Integer)
    exp_year: Mapped[int | None] = mapped_column(Integer)
    holder_name: Mapped[str | None] = mapped_column(String(200))
    # What the client agreed to, as shown to them, and when and from where.
    consent_text: Mapped[str] = mapped_column(Text)
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consent_ip: Mapped[str | None] = mapped_column(String(45))
    # The staff member who saved it with the client (at the desk or on the phone); None when the client did.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = created_at_column()
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    contact = relationship("Contact")
    bank_account = relationship("BankAccount")
    created_by = relationship("User", foreign_keys=[created_by_id])
    removed_by = relationship("User", foreign_keys=[removed_by_id])

    @property
    def active(self) -> bool:
        return self.removed_at is None

    @property
    def label(self) -> str:
        """How a person recognises it: "Visa ending 4242, expires 12/2030"."""
        name = (self.brand or ("Card" if self.kind == MethodKind.CARD else "Bank account")).replace("_", " ")
        text = f"{name.title() if name.islower() else name} ending {self.last4 or '????'}"
        if self.exp_month and self.exp_year:
            text += f", expires {self.exp_month:02d}/{self.exp_year}"
        return text

    def expired_on(self, today: date) -> bool:
        """A card past the end of its expiry month."""
        if not (self.exp_month and self.exp_year):
            return False
        return (today.year, today.month) > (self.exp_year, self.exp_month)


class PlanFrequency(StrEnum):
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"


PLAN_FREQUENCIES: dict[str, str] = {
    PlanFrequency.WEEKLY: "Every week",
    PlanFrequency.BIWEEKLY: "Every two weeks",
    PlanFrequency.MONTHLY: "Every month",
}


class PlanEnd(StrEnum):
    PAID = "paid"  # until its request or invoice is paid
    COUNT = "count"  # for a number of payments
    ONGOING = "ongoing"  # into the client's funds on a matter until stopped


class PlanStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"
    COMPLETED = "completed"


PLAN_STATUSES: dict[str, str] = {
    PlanStatus.ACTIVE: "Active",
    PlanStatus.PAUSED: "Paused",
    PlanStatus.STOPPED: "Stopped",
    PlanStatus.COMPLETED: "Completed",
}


class PaymentPlan(Model):
    """A saved method charged an amount on a schedule, run by the worker."""

    __tablename__ = "payment_plan"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        one_of("frequency", PlanFrequency),
        one_of("ends", PlanEnd),
        one_of("status", PlanStatus),
        CheckConstraint("trust_request_id IS NULL OR invoice_id IS NULL", name="one_payable"),
        CheckConstraint(
            f"ends != '{PlanEnd.PAID}' OR trust_request_id IS NOT NULL OR invoice_id IS NOT NULL",
            name="paid_has_payable",
        ),
        CheckConstraint(f"ends != '{PlanEnd.COUNT}' OR payments_total > 0", name="count_has_total"),
        CheckConstraint(
            f"ends != '{PlanEnd.ONGOING}'"
            " OR (matter_id IS NOT NULL AND trust_request_id IS NULL AND invoice_id IS NULL)",
            name="ongoing_has_matter",
        ),
        CheckConstraint("failed_attempts >= 0", name="failed_attempts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    matter_id: Mapped[int | None] = mapped_column(ForeignKey("matter.id"), index=True)
    trust_request_id: Mapped[int | None] = mapped_column(ForeignKey("trust_request.id"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"), index=True)
    # Where the money goes: the request's trust account, the invoice's operating account, or (ongoing) a trust
    # account for the matter.
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("bank_account.id"))
    method_id: Mapped[int] = mapped_column(ForeignKey("saved_method.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    frequency: Mapped[str] = mapped_column(String(10))
    start_on: Mapped[date] = mapped_column(Date)
    ends: Mapped[str] = mapped_column(String(10))
    payments_total: Mapped[int | None] = mapped_column(Integer)  # for ends == count
    # The next instalment's date; None once the plan is over.
    next_due_on: Mapped[date | None] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(10), default=PlanStatus.ACTIVE)
    # Declines in a row of the current instalment (the retry rule counts them).
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    contact = relationship("Contact")
    matter = relationship("Matter")
    request = relationship("TrustRequest")
    invoice = relationship("Invoice")
    bank_account = relationship("BankAccount")
    method = relationship("SavedMethod")
    created_by = relationship("User")
    instalments = relationship("PlanInstalment", back_populates="plan", order_by="PlanInstalment.due_on")

    @property
    def status_label(self) -> str:
        return PLAN_STATUSES[self.status]

    @property
    def frequency_label(self) -> str:
        return PLAN_FREQUENCIES[self.frequency]


class InstalmentStatus(StrEnum):
    PENDING = "pending"  # due, or waiting for its retry
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # declined after every retry
    ACTION_REQUIRED = "action_required"  # the bank wants the client to confirm: they were sent a link
    CANCELLED = "cancelled"  # the plan was stopped, or its payable paid another way


class PlanInstalment(Model):
    """One due date of a plan: charged at most once, whatever the worker's crashes and retries (one row per plan
    and date, and each attempt's payment has its own idempotency key)."""

    __tablename__ = "plan_instalment"
    __table_args__ = (
        UniqueConstraint("plan_id", "due_on", name="uq_plan_instalment_due"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        one_of("status", InstalmentStatus),
        CheckConstraint("attempts >= 0", name="attempts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("payment_plan.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=InstalmentStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_on: Mapped[date | None] = mapped_column(Date)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"), unique=True)
    # For an ongoing plan: the trust request made for this instalment (the payment's payable).
    trust_request_id: Mapped[int | None] = mapped_column(ForeignKey("trust_request.id"))
    failure_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    plan = relationship("PaymentPlan", back_populates="instalments")
    payment = relationship("Payment")
