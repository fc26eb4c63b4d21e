"""Writing the journal: the ledgers an entry moves are locked here, and every entry is booked by book_entry().

Lock order, the same in every transaction, so no two ever wait on each other
crosswise (PostgreSQL would abort one; SQLite already holds its one write lock):
1. the trust request or invoice being paid or changed, when there is one;
2. the ledgers of one bank account, all in one sorted go (by key), then that
   account's row shared (hold_account), as each entry is booked;
3. when the action also moves money in the operating account (a processor's
   fee, an invoice paid from trust, a shortfall replaced), the operating
   ledgers after the trust ones, again in one sorted go;
4. a counter (a receipt's number), last.
The audit trail takes no lock a writer waits on (services/audit.py).
book_entry() then asks the rules in trustweb/ledger/rules.py, writes the entry
and its lines (each with its ledger's running balance; a database trigger moves
the ledger's stored balance with every line, and refuses any other change to it:
models/balances.py), and records the audit event. The caller commits.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm.attributes import set_committed_value

from trustweb.database import per_transaction
from trustweb.extensions import db
from trustweb.ledger import rules
from trustweb.ledger.keys import bank_key, shortfall_key
from trustweb.ledger.rules import LedgerState, Posting
from trustweb.models import (
    BankAccount,
    DepositClearance,
    JournalEntry,
    JournalLine,
    LedgerAccount,
    Reconciliation,
    User,
)
from trustweb.models.base import utcnow
from trustweb.models.firm import insert_ignore
from trustweb.services import audit

if TYPE_CHECKING:
    from trustweb.services.trust import Holder

# An entry's lines as the services give them: (locked ledger, cents), debit positive.
Lines = Sequence[tuple[LedgerAccount, int]]


def _select_locked(keys: Iterable[str]) -> dict[str, LedgerAccount]:
    rows = db.session.scalars(
        select(LedgerAccount)
        .where(LedgerAccount.key.in_(sorted(keys)))
        .order_by(LedgerAccount.key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {row.key: row for row in rows}


def _lock(account: BankAccount, wanted: Mapping[str, Mapping[str, Any]]) -> dict[str, LedgerAccount]:
    """The ledger rows with these keys (key -> the columns a new one is made with), made if new, locked in key order
    and re-read; by key. Rows this transaction already holds are not asked for again."""
    # The ledgers this transaction has locked, by key: locked once, they stay locked and fresh until it ends.
    held: dict[str, LedgerAccount] = per_transaction("held ledgers", dict)
    todo = [key for key in wanted if key not in held]
    if todo:
        found = _select_locked(todo)
        missing = [key for key in todo if key not in found]
        if missing:  # a ledger's first entry
            for key in sorted(missing):
                db.session.execute(
                    insert_ignore(LedgerAccount).values(
                        key=key, bank_account_id=account.id, balance_cents=0, uncleared_cents=0, **wanted[key]
                    )
                )
            found |= _select_locked(missing)
        held.update(found)
    return {key: held[key] for key in wanted}


def lock_ledgers(
    account: BankAccount, holders: Iterable["Holder"], with_bank: bool = True, with_shortfall: bool = False
) -> dict[str, LedgerAccount]:
    """The ledger rows for these holders in this trust account, created if new, locked, fresh; by key."""
    # Each wanted ledger's key -> the columns it is created with.
    wanted: dict[str, dict[str, Any]] = {
        h.key(account.id): (
            {"kind": "firm"} if h.is_firm else {"kind": "client", "contact_id": h.contact_id, "matter_id": h.matter_id}
        )
        for h in holders
    }
    if with_bank:
        wanted[bank_key(account.id)] = {"kind": "bank"}
    if with_shortfall:
        wanted[shortfall_key(account.id)] = {"kind": "shortfall"}
    # Locked in key order, so two transactions never wait on each other crosswise.
    return _lock(account, wanted)


def lock_operating(account: BankAccount, keys: Mapping[str, str]) -> dict[str, LedgerAccount]:
    """Ledgers of the operating account by key (key -> kind), created if new, locked in key order; by kind."""
    return {row.kind: row for row in _lock(account, {key: {"kind": kind} for key, kind in keys.items()}).values()}


def state(ledger: LedgerAccount) -> LedgerState:
    """What the rules need to know about a ledger row."""
    return LedgerState(
        key=ledger.key,
        kind=ledger.kind,
        trust_account=ledger.bank_account_id,
        name=ledger.name,
        currency=ledger.bank_account.currency,
        balance=ledger.balance_cents,
        uncleared=ledger.uncleared_cents,
    )


def locked_through(bank_account_id: int) -> date | None:
    """The end of the account's last reconciled and signed period (nothing may be dated on or before it)."""
    return db.session.scalar(
        select(func.max(Reconciliation.period_end)).where(Reconciliation.bank_account_id == bank_account_id)
    )


# How a transaction holds a bank account's row on PostgreSQL (SQLite's one write lock already does all three).
# Every entry booked shares it (postings never wait on each other); statement work takes it one at a time per
# account without holding postings up; signing a reconciliation takes it whole: it waits for the entries being
# booked and holds new ones until it commits, so no entry slips into the period it signs.
POSTING, STATEMENTS, SIGNING = "posting", "statements", "signing"
_ACCOUNT_LOCKS = {  # (read, key_share) for with_for_update()
    POSTING: (True, True),  # FOR KEY SHARE
    STATEMENTS: (False, True),  # FOR NO KEY UPDATE
    SIGNING: (False, False),  # FOR UPDATE
}


def hold_account(bank_account_id: int, purpose: str) -> None:
    """Lock the bank account's row for this purpose until commit (see _ACCOUNT_LOCKS)."""
    read, key_share = _ACCOUNT_LOCKS[purpose]
    db.session.execute(
        select(BankAccount.id).where(BankAccount.id == bank_account_id).with_for_update(read=read, key_share=key_share)
    ).scalar_one()


def _hold_for_posting(bank_account_id: int) -> date | None:
    hold_account(bank_account_id, POSTING)
    return locked_through(bank_account_id)  # read under the lock: no sign-off can commit until this transaction ends


def check_period_open(bank_account_id: int, entry_date: date) -> None:
    """Invariant 9: refuse a date in a reconciled and signed-off period (the database refuses it too). Holds the
    account's row shared first, so a sign-off in progress finishes (or waits) before the check reads."""
    locked = per_transaction(("period", bank_account_id), lambda: _hold_for_posting(bank_account_id))
    if locked is not None and entry_date <= locked:
        raise rules.BadDate(
            f"The books are reconciled and signed off through {locked.isoformat()}; nothing can be dated on or "
            "before that day. Date it later (a correction of an older entry is dated today)."
        )


def _post(
    entry: JournalEntry, lines: Lines, *, uncleared: Mapping[str, int] | None = None, spend_uncleared: bool = False
) -> JournalEntry:
    """Check the lines with the rules and write entry, lines and balances (no commit)."""
    check_period_open(entry.bank_account_id, entry.entry_date)
    postings = [Posting(state(ledger), amount) for ledger, amount in lines]
    new_states = rules.apply(postings, uncleared=uncleared, spend_uncleared=spend_uncleared)
    for ledger, amount in lines:
        money_out = ledger.kind in rules.HELD_KINDS and rules.NORMAL_SIGN[ledger.kind] * amount < 0
        # Money may come in on an earlier date, but not leave on one: no past balance turns negative.
        if money_out and ledger.last_entry_date and entry.entry_date < ledger.last_entry_date:
            raise rules.BadDate(
                f"{ledger.name} has entries up to {ledger.last_entry_date.isoformat()}; "
                "money cannot leave it on an earlier date."
            )
    db.session.add(entry)
    # Each line carries its ledger's running balance; the database checks it and moves balance_cents to it
    # (models/balances.py), so the new balance is only recorded here as what the row now holds.
    running = {ledger.key: ledger.balance_cents for ledger, _ in lines}
    for posting, (ledger, amount) in zip(postings, lines, strict=True):
        running[ledger.key] += posting.natural
        entry.lines.append(
            JournalLine(ledger_account=ledger, amount_cents=amount, balance_after_cents=running[ledger.key])
        )
    by_key = {ledger.key: ledger for ledger, _ in lines}
    for key, new in new_states.items():
        ledger = by_key[key]
        set_committed_value(ledger, "balance_cents", new.balance)
        ledger.uncleared_cents = new.uncleared
        if ledger.last_entry_date is None or entry.entry_date > ledger.last_entry_date:
            ledger.last_entry_date = entry.entry_date
    db.session.flush()
    return entry


def entry_summary(entry: JournalEntry) -> dict[str, Any]:
    """An entry as the audit trail records it."""
    return {
        "number": entry.number,
        "kind": entry.kind,
        "date": entry.entry_date,
        "account": entry.bank_account_id,
        "description": entry.description,
        "counterparty": entry.counterparty,
        "reference": entry.reference,
        "cheque_number": entry.cheque_number,
        "override_reason": entry.override_reason,
        "reverses": entry.reverses_id,
        "lines": [[line.ledger_account.key, line.amount_cents] for line in entry.lines],
    }


def book_entry(
    action: str,
    lines: Lines,
    *,
    kind: str,
    account: BankAccount,
    entry_date: date,
    user: User | None = None,
    uncleared: Mapping[str, int] | None = None,
    spend_uncleared: bool = False,
    cleared: bool = False,
    cleared_by: User | None = None,
    **details: str | int | None,
) -> JournalEntry:
    """Build a journal entry, check it with the rules, write it with its lines and the ledgers' new balances, and
    record its audit event under action (no commit).

    lines: [(locked LedgerAccount, cents)], debit positive. uncleared and spend_uncleared are as for rules.apply;
    cleared: money already in the bank, the deposit cleared the day it is booked (by cleared_by). details are
    the entry's other columns (description, method, counterparty, reference, ...).
    """
    entry = JournalEntry(
        kind=kind,
        bank_account_id=account.id,
        entry_date=entry_date,
        created_by_id=user.id if user else None,
        **details,
    )
    _post(entry, lines, uncleared=uncleared, spend_uncleared=spend_uncleared)
    if cleared:
        db.session.add(
            DepositClearance(
                entry=entry,
                cleared_on=entry_date,
                cleared_by_id=cleared_by.id if cleared_by else None,
                created_at=utcnow(),
            )
        )
    audit.record(action, entry, object_type="JournalEntry", after=entry_summary(entry), user=user)
    return entry
