"""Bank accounts: trust (IOLTA or other) and operating."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from trustweb.extensions import Model
from trustweb.models.base import created_at_column, one_of


class AccountKind(StrEnum):
    TRUST = "trust"
    OPERATING = "operating"


class Processor(StrEnum):
    """Who takes card and bank payments into an account."""

    TEST = "test"
    STRIPE = "stripe"


class FeeMode(StrEnum):
    DEDUCTED = "deducted"
    BILLED = "billed"


ACCOUNT_KINDS = tuple(AccountKind)


class BankAccount(Model):
    __tablename__ = "bank_account"
    __table_args__ = (
        one_of("kind", AccountKind),
        CheckConstraint(f"kind = '{AccountKind.TRUST}' OR NOT is_iolta", name="iolta_is_trust"),
        CheckConstraint("NOT is_default OR active", name="default_is_active"),
        one_of("processor", Processor),
        one_of("fee_mode", FeeMode),
        CheckConstraint("ach_hold_days BETWEEN 0 AND 30", name="ach_hold_days"),
        # At most one default account of each kind, enforced by the database.
        Index(
            "uq_bank_account_default_kind",
            "kind",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    is_iolta: Mapped[bool] = mapped_column(Boolean, default=False)
    bank_name: Mapped[str | None] = mapped_column(String(120))
    # Only the last four digits: the full number is not needed to keep the books.
    account_last4: Mapped[str | None] = mapped_column(String(4))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = created_at_column()
    # Who takes card and bank payments into this account: the test processor or Stripe.
    processor: Mapped[str] = mapped_column(String(10), default=Processor.TEST)
    # Stripe keys, encrypted with a key derived from the app's secret (trustweb/payments/keys.py);
    # TRUSTWEB_STRIPE_* in the environment take precedence. Never shown again once saved.
    stripe_secret_key_enc: Mapped[str | None] = mapped_column(Text)
    stripe_webhook_secret_enc: Mapped[str | None] = mapped_column(Text)
    # "deducted": the processor keeps its fee from the payout into this account (Stripe's default), so a
    # trust account is short by it until the firm replaces it; "billed": the fee is charged to operating.
    fee_mode: Mapped[str] = mapped_column(String(10), default=FeeMode.DEDUCTED)
    # A bank payment (ACH) stays uncleared this many days after the processor confirms it.
    ach_hold_days: Mapped[int] = mapped_column(Integer, default=5)
    # How this bank's CSV statements are read (JSON: which column is the date, the amount...), chosen on screen.
    csv_mapping: Mapped[str | None] = mapped_column(Text)

    @property
    def kind_label(self):
        if self.kind == AccountKind.TRUST:
            return "Trust (IOLTA)" if self.is_iolta else "Trust"
        return "Operating"

    def __repr__(self):
        return f"<BankAccount {self.name} {self.kind}>"
