"""Bank accounts: trust (IOLTA or other) and operating."""

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from trustweb.extensions import db
from trustweb.models.base import created_at_column

ACCOUNT_KINDS = ("trust", "operating")


class BankAccount(db.Model):
    __tablename__ = "bank_account"
    __table_args__ = (
        CheckConstraint("kind IN ('trust', 'operating')", name="kind"),
        CheckConstraint("kind = 'trust' OR NOT is_iolta", name="iolta_is_trust"),
        CheckConstraint("NOT is_default OR active", name="default_is_active"),
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

    @property
    def kind_label(self):
        if self.kind == "trust":
            return "Trust (IOLTA)" if self.is_iolta else "Trust"
        return "Operating"

    def __repr__(self):
        return f"<BankAccount {self.name} {self.kind}>"
