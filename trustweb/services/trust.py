"""Moving client money: deposits, disbursements, transfers, clearing and reversals.

Each function is one database transaction: it locks the ledgers it touches,
books the entry through journal.book_entry() (which asks the rules in
trustweb/ledger/rules.py, writes the entry, its lines, the new balances and an
audit event), and commits. On PostgreSQL the lock is SELECT ... FOR UPDATE on
the ledger rows; on SQLite the transaction already holds the database's write
lock (trustweb/database.py).
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from trustweb.extensions import db
from trustweb.ledger import rules
from trustweb.ledger.keys import bank_key, client_key, firm_key
from trustweb.ledger.rules import LedgerError
from trustweb.models import (
    BankAccount,
    Contact,
    DepositClearance,
    FirmSettings,
    JournalEntry,
    LedgerAccount,
    Matter,
    User,
)
from trustweb.models.base import utcnow
from trustweb.refusals import ServiceError
from trustweb.services import audit
from trustweb.services.journal import book_entry, lock_ledgers

EARLIEST_DATE = date(2000, 1, 1)
METHODS = {
    "cheque": "Cheque",
    "wire": "Wire",
    "ach": "Bank transfer (ACH)",
    "cash": "Cash",
    "card": "Card",
    "other": "Other",
}


@dataclass(frozen=True)
class Holder:
    """Whose money a trust ledger holds: a client (for a matter, or at client level) or the firm."""

    contact_id: int | None = None
    matter_id: int | None = None

    @property
    def is_firm(self) -> bool:
        return self.contact_id is None

    def key(self, account_id: int) -> str:
        if self.contact_id is None:  # the firm
            return firm_key(account_id)
        return client_key(account_id, self.contact_id, self.matter_id)


FIRM = Holder()


def holder_for(contact: Contact, matter: Matter | None = None) -> Holder:
    if matter is not None and matter.client_id != contact.id:
        raise ServiceError(f"Matter {matter.number} belongs to another client.")
    return Holder(contact.id, matter.id if matter is not None else None)


def firm_time(moment: datetime, settings: FirmSettings | None = None) -> datetime:
    """A moment (stored in UTC) on the firm's clock: every time or date a person reads is in the firm's zone."""
    return moment.astimezone(ZoneInfo((settings or FirmSettings.get()).timezone))


def firm_today() -> date:
    """The firm's today, the date of every business record (entries, issue dates): UTC's may already be tomorrow."""
    return firm_time(utcnow()).date()


def _check_trust_account(account: BankAccount | None) -> None:
    if account is None or account.kind != "trust":
        raise ServiceError("Choose a trust account.")
    if not account.active:
        raise ServiceError(f"{account.name} is closed.")


def check_entry_date(entry_date: date) -> None:
    """A date money moves on: not in the future, not before the books could begin."""
    if entry_date > firm_today():
        raise rules.BadDate("The date cannot be in the future.")
    if entry_date < EARLIEST_DATE:
        raise rules.BadDate("The date is too far in the past.")


def record_deposit(**details: Any) -> JournalEntry:
    """Money received into trust for a client (or the firm's own money to cover bank charges)."""
    entry = post_deposit(**details)
    db.session.commit()
    return entry


def post_deposit(
    *,
    account: BankAccount,
    holder: Holder,
    amount_cents: int,
    entry_date: date,
    method: str,
    payer: str,
    reference: str | None = None,
    cleared: bool = True,
    description: str | None = None,
    user: User | None = None,
) -> JournalEntry:
    """record_deposit without the commit, for an action that books more in the same transaction."""
    rules.check_amount(amount_cents)
    _check_trust_account(account)
    check_entry_date(entry_date)
    ledgers = lock_ledgers(account, [holder])
    held, bank = ledgers[holder.key(account.id)], ledgers[bank_key(account.id)]
    return book_entry(
        "trust.deposit",
        [(bank, amount_cents), (held, -amount_cents)],
        kind="deposit",
        account=account,
        entry_date=entry_date,
        user=user,
        uncleared=None if cleared else {held.key: amount_cents},
        cleared=cleared,
        cleared_by=user,
        description=description or f"Deposit from {payer}",
        method=method,
        counterparty=payer,
        reference=reference,
    )


def record_disbursement(
    *,
    account: BankAccount,
    holder: Holder,
    amount_cents: int,
    entry_date: date,
    payee: str,
    description: str,
    method: str = "cheque",
    cheque_number: str | None = None,
    reference: str | None = None,
    override_reason: str | None = None,
    user: User | None = None,
) -> JournalEntry:
    """Money paid out of trust for a client (or a bank charge from the firm's own funds)."""
    rules.check_amount(amount_cents)
    override_reason = (override_reason or "").strip() or None  # a blank reason is no reason: no override
    _check_trust_account(account)
    check_entry_date(entry_date)
    ledgers = lock_ledgers(account, [holder])
    # Looked up under the bank ledger's lock, which every payment from this account takes: a cheque
    # number typed twice at the same moment is refused here, not by the unique index at commit.
    if cheque_number and db.session.scalar(
        select(JournalEntry.id).where(
            JournalEntry.bank_account_id == account.id, JournalEntry.cheque_number == cheque_number
        )
    ):
        raise LedgerError(f"Cheque {cheque_number} is already recorded on {account.name}.")
    held, bank = ledgers[holder.key(account.id)], ledgers[bank_key(account.id)]
    entry = book_entry(
        "trust.disbursement",
        [(held, amount_cents), (bank, -amount_cents)],
        kind="disbursement",
        account=account,
        entry_date=entry_date,
        user=user,
        spend_uncleared=override_reason is not None,
        description=description,
        method=method,
        counterparty=payee,
        reference=reference,
        cheque_number=cheque_number or None,
        override_reason=override_reason,
    )
    db.session.commit()
    return entry


def transfer(
    *,
    account: BankAccount,
    source: Holder,
    destination: Holder,
    amount_cents: int,
    entry_date: date,
    reason: str | None = None,
    user: User | None = None,
) -> JournalEntry:
    """Move money between two client ledgers in one trust account."""
    rules.check_amount(amount_cents)
    _check_trust_account(account)
    check_entry_date(entry_date)
    if source == destination:
        raise LedgerError("Choose a different ledger to transfer to.")
    other_client = source.is_firm != destination.is_firm or source.contact_id != destination.contact_id
    if other_client and not (reason or "").strip():
        raise LedgerError("Moving money to another client's ledger needs a stated reason.")
    ledgers = lock_ledgers(account, [source, destination], with_bank=False)
    src, dst = ledgers[source.key(account.id)], ledgers[destination.key(account.id)]
    entry = book_entry(
        "trust.transfer",
        [(src, amount_cents), (dst, -amount_cents)],
        kind="transfer",
        account=account,
        entry_date=entry_date,
        user=user,
        description=reason or f"Transfer to {dst.name}",
    )
    db.session.commit()
    return entry


def _deposit_ledger(entry: JournalEntry) -> LedgerAccount:
    held = [line.ledger_account for line in entry.lines if line.ledger_account.kind in rules.HELD_KINDS]
    if not held:
        raise LedgerError(f"{entry.number} holds no client's money; there is nothing to clear.")
    return held[0]


def _owned_by(entry: JournalEntry) -> str | None:
    """The payment, refund, chargeback or invoice payment an entry was booked for, in words (None if none)."""
    from trustweb.models import Dispute, Payment, Refund, TrustApplication

    payment = db.session.scalar(select(Payment).where(Payment.journal_entry_id == entry.id))
    if payment is not None:
        return f"payment {payment.receipt_number}"
    for model, column, label in (
        (Refund, Refund.journal_entry_id, "a refund"),
        (Dispute, Dispute.journal_entry_id, "a chargeback"),
        (TrustApplication, TrustApplication.trust_entry_id, "an invoice paid from trust"),
    ):
        if db.session.scalar(select(model.id).where(column == entry.id)):
            return label
    return None


def mark_cleared(entry: JournalEntry, *, cleared_on: date, user: User | None = None) -> JournalEntry:
    """The bank has cleared a deposit: its money becomes available."""
    if entry.kind != "deposit":
        raise LedgerError("Only deposits are cleared.")
    check_entry_date(cleared_on)
    if cleared_on < entry.entry_date:
        raise rules.BadDate("A deposit cannot clear before it was made.")
    held = _deposit_ledger(entry)
    ledgers = lock_ledgers(entry.bank_account, [_holder_of(held)], with_bank=False)
    held = ledgers[held.key]
    _reload_under_lock(entry)
    if entry.clearance is not None:
        raise LedgerError(f"{entry.number} was already cleared on {entry.clearance.cleared_on.isoformat()}.")
    if entry.reversed_by is not None:
        raise LedgerError(f"{entry.number} was reversed; there is nothing to clear.")
    amount = -sum(line.amount_cents for line in entry.lines if line.ledger_account_id == held.id)
    if held.uncleared_cents < amount:
        raise LedgerError("More would be cleared than was deposited.")
    held.uncleared_cents -= amount
    db.session.add(
        DepositClearance(
            entry=entry, cleared_on=cleared_on, cleared_by_id=user.id if user else None, created_at=utcnow()
        )
    )
    db.session.flush()
    audit.record(
        "trust.deposit_cleared", entry, object_type="JournalEntry", after={"cleared_on": cleared_on}, user=user
    )
    db.session.commit()
    return entry


def _reload_under_lock(entry: JournalEntry) -> None:
    """Re-read whether the entry is cleared or reversed now that its ledgers are locked.

    Another clearing or reversal of it may have committed while this one waited for the
    locks; checked before them, both would go ahead (a unique-key error, or a deposit
    taken off the uncleared total twice).
    """
    db.session.refresh(entry, ["clearance", "reversed_by"])


def _holder_of(ledger: LedgerAccount) -> Holder:
    return FIRM if ledger.kind == "firm" else Holder(ledger.contact_id, ledger.matter_id)


def reverse(
    entry: JournalEntry, *, reason: str, entry_date: date | None = None, user: User | None = None
) -> JournalEntry:
    """Undo an entry with a new one that mirrors it and points back at it."""
    if not (reason or "").strip():
        raise LedgerError("Say why the entry is being reversed.")
    if entry.kind == "reversal":
        raise LedgerError("A reversal cannot itself be reversed; record the entry again instead.")
    if any(line.ledger_account.kind not in ("bank", "client", "firm") for line in entry.lines):
        raise LedgerError(
            f"{entry.number} is a processor's fee or a shortfall the firm owes; it is not reversed by hand."
        )
    owner = _owned_by(entry)
    if owner:
        raise LedgerError(f"{entry.number} belongs to {owner}; correct it there (a refund, not a reversal).")
    entry_date = entry_date or firm_today()
    check_entry_date(entry_date)
    holders = [_holder_of(line.ledger_account) for line in entry.lines if line.ledger_account.kind != "bank"]
    has_bank = any(line.ledger_account.kind == "bank" for line in entry.lines)
    ledgers = lock_ledgers(entry.bank_account, holders, with_bank=has_bank)
    _reload_under_lock(entry)
    if entry.reversed_by is not None:
        raise rules.AlreadyReversed(f"{entry.number} was already reversed by {entry.reversed_by.number}.")
    uncleared = None
    if entry.kind == "deposit" and entry.clearance is None:
        held = _deposit_ledger(entry)
        uncleared = {held.key: sum(line.amount_cents for line in entry.lines if line.ledger_account_id == held.id)}
    reversal = book_entry(
        "trust.reversal",
        [(ledgers[line.ledger_account.key], -line.amount_cents) for line in entry.lines],
        kind="reversal",
        account=entry.bank_account,
        entry_date=entry_date,
        user=user,
        uncleared=uncleared,
        description=f"Reversal of {entry.number}: {reason.strip()}",
        reverses_id=entry.id,
    )
    db.session.commit()
    return reversal
