"""Bank statements imported (CSV, OFX) or typed in, their lines, and the monthly three-way reconciliation."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustweb.extensions import Model
from trustweb.models.base import UTCDateTime, created_at_column, one_of


class StatementSource(StrEnum):
    CSV = "csv"
    OFX = "ofx"
    TYPED = "typed"


class ReconciliationStatus(StrEnum):
    SIGNED = "signed"


STATEMENT_SOURCES: dict[str, str] = {
    StatementSource.CSV: "CSV file",
    StatementSource.OFX: "OFX file",
    StatementSource.TYPED: "Typed in",
}


class BankStatement(Model):
    __tablename__ = "bank_statement"
    __table_args__ = (
        one_of("source", StatementSource),
        CheckConstraint("period_start <= period_end", name="period_in_order"),
        # The same file imported twice into one account is refused by the database too.
        UniqueConstraint("bank_account_id", "file_sha256", name="one_import_per_file"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("bank_account.id"), index=True)
    source: Mapped[str] = mapped_column(String(8))
    filename: Mapped[str | None] = mapped_column(String(200))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    ending_balance_cents: Mapped[int] = mapped_column(BigInteger)
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = created_at_column()

    bank_account = relationship("BankAccount")
    imported_by = relationship("User")
    lines = relationship("StatementLine", back_populates="statement", order_by="StatementLine.id")

    @property
    def source_label(self):
        return STATEMENT_SOURCES[self.source]


class StatementLine(Model):
    """One movement on the bank's statement: + money in, - money out; matched to at most one journal entry."""

    __tablename__ = "statement_line"
    __table_args__ = (
        CheckConstraint("amount_cents != 0", name="amount_not_zero"),
        Index("ix_statement_line_account_posted", "bank_account_id", "posted_on"),
        # A line the bank identifies (OFX FITID) is imported once per account, whatever file it came in.
        UniqueConstraint("bank_account_id", "bank_reference", name="one_line_per_bank_reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("bank_statement.id"), index=True)
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("bank_account.id"))
    posted_on: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(String(300), default="")
    cheque_number: Mapped[str | None] = mapped_column(String(20))
    bank_reference: Mapped[str | None] = mapped_column(String(100))
    # The journal entry this line is; an entry is matched to one line at most (unique).
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"), unique=True)
    matched_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    matched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    statement = relationship("BankStatement", back_populates="lines")
    entry = relationship("JournalEntry")


class Reconciliation(Model):
    """A trust account's three-way reconciliation at a statement's end date; signed, it is never changed and the
    period is locked (invariant 9)."""

    __tablename__ = "reconciliation"
    __table_args__ = (
        one_of("status", ReconciliationStatus),
        UniqueConstraint("bank_account_id", "period_end", name="one_per_period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("bank_account.id"), index=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("bank_statement.id"), unique=True)
    period_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8), default=ReconciliationStatus.SIGNED)
    statement_balance_cents: Mapped[int] = mapped_column(BigInteger)
    adjusted_bank_cents: Mapped[int] = mapped_column(BigInteger)
    journal_cents: Mapped[int] = mapped_column(BigInteger)
    clients_cents: Mapped[int] = mapped_column(BigInteger)
    explanation: Mapped[str | None] = mapped_column(Text)
    # The whole report as it was signed (JSON), and its SHA-256: what is printed later is this, not a re-run.
    report_json: Mapped[str] = mapped_column(Text)
    report_sha256: Mapped[str] = mapped_column(String(64))
    signed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    signed_at: Mapped[datetime] = created_at_column()

    bank_account = relationship("BankAccount")
    statement = relationship("BankStatement")
    signed_by = relationship("User")
