"""The trust journal: ledgers, entries and their lines. See trustweb/ledger/rules.py for the rules.

Design (after django-hordak): every movement of money is a JournalEntry with two
or more JournalLines whose amounts (debits positive, credits negative) sum to
zero. Each line posts to one LedgerAccount. A trust bank account has one asset
ledger ("bank") and liability ledgers: one per client ledger (client, matter or
client level) and one for the firm's own money. Balances are kept on the
LedgerAccount in its natural sign (what the firm holds for the client is
positive) and each line records the balance after it, so reading a balance or a
page of a ledger costs the same at a thousand lines or a million.

Entries and lines are never changed or deleted: triggers in the database refuse
it. A mistake is put right by a reversing entry that points at the original.
A ledger's balance moves only with the lines booked to it: a trigger on each new
line moves it, and any other change is refused (models/balances.py).
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from trustweb.extensions import Model
from trustweb.ledger.rules import NORMAL_SIGN, LedgerKind  # one vocabulary and table of signs, kept with the rules
from trustweb.models.base import UTCDateTime, created_at_column, one_of


class EntryKind(StrEnum):
    DEPOSIT = "deposit"
    DISBURSEMENT = "disbursement"
    TRANSFER = "transfer"
    REVERSAL = "reversal"


LEDGER_KINDS = tuple(LedgerKind)
ENTRY_KINDS = tuple(EntryKind)


class LedgerAccount(Model):
    __tablename__ = "ledger_account"
    __table_args__ = (
        one_of("kind", LedgerKind),
        # Invariant 3, in the database: money held for a client (or for the firm) is never negative.
        CheckConstraint(
            f"kind NOT IN ('{LedgerKind.CLIENT}', '{LedgerKind.FIRM}') OR balance_cents >= 0", name="held_not_negative"
        ),
        CheckConstraint("uncleared_cents >= 0", name="uncleared_not_negative"),
        CheckConstraint(f"kind != '{LedgerKind.CLIENT}' OR contact_id IS NOT NULL", name="client_has_contact"),
        CheckConstraint(
            f"kind = '{LedgerKind.CLIENT}' OR (contact_id IS NULL AND matter_id IS NULL)",
            name="only_clients_have_contact",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # One ledger per key (spelled in trustweb/ledger/keys.py): "bank:3", "firm:3", "client:3:17:42", "client:3:17:-".
    key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("bank_account.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    matter_id: Mapped[int | None] = mapped_column(ForeignKey("matter.id"), index=True)
    balance_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # Part of the balance from deposits not yet cleared by the bank: not available to pay out.
    uncleared_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    last_entry_date: Mapped[date | None] = mapped_column(Date)
    # Not a column: how many ledgers a search found, read with its page (count(*) OVER (), trust/accounts.py).
    found: Mapped[int | None] = query_expression()

    bank_account = relationship("BankAccount")
    contact = relationship("Contact")
    matter = relationship("Matter")

    @property
    def available_cents(self):
        return self.balance_cents - self.uncleared_cents

    @property
    def name(self):
        if self.kind == LedgerKind.CLIENT:
            if self.matter is not None:
                return f"{self.contact.name} – {self.matter.number}"
            return f"{self.contact.name} – client funds"
        if self.kind == LedgerKind.FIRM:
            return f"Firm funds in {self.bank_account.name}"
        if self.kind == LedgerKind.SHORTFALL:
            return f"Owed by the firm to {self.bank_account.name}"
        return self.bank_account.name


class JournalEntry(Model):
    __tablename__ = "journal_entry"
    __table_args__ = (
        one_of("kind", EntryKind),
        CheckConstraint(f"(kind = '{EntryKind.REVERSAL}') = (reverses_id IS NOT NULL)", name="reversal_points_back"),
        # A cheque number is used once per bank account.
        # A trust account's journal in date order (reports, reconciliation, statements matched by date).
        Index("ix_journal_entry_account_date", "bank_account_id", "entry_date", "id"),
        Index(
            "uq_journal_entry_cheque",
            "bank_account_id",
            "cheque_number",
            unique=True,
            sqlite_where=text("cheque_number IS NOT NULL"),
            postgresql_where=text("cheque_number IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("bank_account.id"), index=True)
    entry_date: Mapped[date] = mapped_column(Date, index=True)
    description: Mapped[str] = mapped_column(String(300))
    method: Mapped[str | None] = mapped_column(String(20))
    counterparty: Mapped[str | None] = mapped_column(String(200))  # payer of a deposit, payee of a payment
    reference: Mapped[str | None] = mapped_column(String(100))
    cheque_number: Mapped[str | None] = mapped_column(String(20))
    # Paying out uncleared funds needs a lawyer's reason, kept with the entry.
    override_reason: Mapped[str | None] = mapped_column(Text)
    # Unique: an entry is reversed at most once.
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = created_at_column()

    lines = relationship("JournalLine", back_populates="entry", order_by="JournalLine.id")
    bank_account = relationship("BankAccount")
    created_by = relationship("User")
    reverses = relationship("JournalEntry", remote_side=[id], foreign_keys=[reverses_id], back_populates="reversed_by")
    reversed_by = relationship("JournalEntry", foreign_keys=[reverses_id], back_populates="reverses", uselist=False)
    clearance = relationship("DepositClearance", back_populates="entry", uselist=False)

    @property
    def is_cleared(self):
        return self.kind != EntryKind.DEPOSIT or self.clearance is not None

    @property
    def number(self):
        return f"JE-{self.id:06d}"

    @property
    def cheque_and_reference(self):
        """The cheque number and the reference in one ("Cheque 1042 · INV-7"), as the reports and their CSVs say it
        (ledger_reports.cheque_or_reference(), the same in SQL)."""
        reference = self.reference or ""
        if self.cheque_number is None:
            return reference
        return f"Cheque {self.cheque_number} · {reference}" if reference else f"Cheque {self.cheque_number}"


class JournalLine(Model):
    __tablename__ = "journal_line"
    __table_args__ = (
        CheckConstraint("amount_cents != 0", name="not_zero"),
        # A ledger's page, newest first, read through this index whatever the history's length.
        Index("ix_journal_line_ledger_id", "ledger_account_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entry.id"), index=True)
    ledger_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    # Debit positive, credit negative; an entry's lines sum to zero.
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    # The ledger's balance (natural sign) just after this line: the running balance.
    balance_after_cents: Mapped[int] = mapped_column(BigInteger)
    memo: Mapped[str | None] = mapped_column(String(300))

    entry = relationship("JournalEntry", back_populates="lines")
    ledger_account = relationship("LedgerAccount")

    @property
    def natural_cents(self):
        """The line's effect on its ledger's balance: positive in, negative out."""
        return NORMAL_SIGN[self.ledger_account.kind] * self.amount_cents


class DepositClearance(Model):
    """The bank has cleared a deposit: its money may now be paid out. Append-only like the journal."""

    __tablename__ = "deposit_clearance"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entry.id"), unique=True)
    cleared_on: Mapped[date] = mapped_column(Date)
    cleared_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    entry = relationship("JournalEntry", back_populates="clearance")
