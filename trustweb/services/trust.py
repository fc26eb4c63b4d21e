"""Moving client money: deposits, disbursements, transfers, clearing and reversals.

Each function is one database transaction: it locks the ledgers it touches,
asks the rules in trustweb/ledger/rules.py whether the movement is allowed,
writes the entry, its lines, the new balances and an audit event, and commits.
On PostgreSQL the lock is SELECT ... FOR UPDATE on the ledger rows; on SQLite
the transaction already holds the database's write lock (trustweb/database.py).
"""

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from trustweb.extensions import db
from trustweb.ledger import rules
from trustweb.ledger.rules import LedgerError, LedgerState, Posting
from trustweb.models import DepositClearance, FirmSettings, JournalEntry, JournalLine, LedgerAccount
from trustweb.models.base import utcnow
from trustweb.models.firm import insert_ignore
from trustweb.services import ServiceError, audit

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
    def is_firm(self):
        return self.contact_id is None

    def key(self, account_id):
        if self.is_firm:
            return f"firm:{account_id}"
        return f"client:{account_id}:{self.contact_id}:{self.matter_id or '-'}"


FIRM = Holder()


def holder_for(contact, matter=None):
    if matter is not None and matter.client_id != contact.id:
        raise ServiceError(f"Matter {matter.number} belongs to another client.")
    return Holder(contact.id, matter.id if matter is not None else None)


def firm_today():
    return utcnow().astimezone(ZoneInfo(FirmSettings.get().timezone)).date()


def _check_trust_account(account):
    if account is None or account.kind != "trust":
        raise ServiceError("Choose a trust account.")
    if not account.active:
        raise ServiceError(f"{account.name} is closed.")


def _check_date(entry_date):
    if entry_date > firm_today():
        raise rules.BadDate("The date cannot be in the future.")
    if entry_date < EARLIEST_DATE:
        raise rules.BadDate("The date is too far in the past.")


def shortfall_key(account):
    return f"shortfall:{account.id}"


def lock_ledgers(account, holders, with_bank=True, with_shortfall=False):
    """The ledger rows for these holders in this trust account, created if new, locked, fresh."""
    audit.lock_chain()  # the head before any row: one lock order for every transaction
    wanted = {h.key(account.id): h for h in holders}
    if with_bank:
        wanted[f"bank:{account.id}"] = None
    if with_shortfall:
        wanted[shortfall_key(account)] = "shortfall"
    for key, holder in wanted.items():
        if holder == "shortfall":
            kind = "shortfall"
        else:
            kind = "bank" if holder is None else ("firm" if holder.is_firm else "client")
        values = {"key": key, "kind": kind, "bank_account_id": account.id, "balance_cents": 0, "uncleared_cents": 0}
        if kind == "client":
            values.update(contact_id=holder.contact_id, matter_id=holder.matter_id)
        db.session.execute(insert_ignore(LedgerAccount).values(**values))
    # Locked in key order, so two transactions never wait on each other crosswise.
    rows = db.session.scalars(
        select(LedgerAccount)
        .where(LedgerAccount.key.in_(sorted(wanted)))
        .order_by(LedgerAccount.key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {row.key: row for row in rows}


def state(ledger):
    return LedgerState(
        key=ledger.key,
        kind=ledger.kind,
        trust_account=ledger.bank_account_id,
        name=ledger.name,
        balance=ledger.balance_cents,
        uncleared=ledger.uncleared_cents,
    )


def locked_through(bank_account_id):
    """The end of the account's last reconciled and signed period (nothing may be dated on or before it)."""
    from trustweb.models import Reconciliation

    return db.session.scalar(
        select(func.max(Reconciliation.period_end)).where(Reconciliation.bank_account_id == bank_account_id)
    )


def check_period_open(bank_account_id, entry_date):
    """Invariant 9: refuse a date in a reconciled and signed-off period (the database refuses it too)."""
    locked = locked_through(bank_account_id)
    if locked is not None and entry_date <= locked:
        raise rules.BadDate(
            f"The books are reconciled and signed off through {locked.isoformat()}; nothing can be dated on or "
            "before that day. Date it later (a correction of an older entry is dated today)."
        )


def _post(entry, lines, *, uncleared=None, spend_uncleared=False):
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
    by_key = {ledger.key: ledger for ledger, _ in lines}
    for key, new in new_states.items():
        ledger = by_key[key]
        ledger.balance_cents, ledger.uncleared_cents = new.balance, new.uncleared
        if ledger.last_entry_date is None or entry.entry_date > ledger.last_entry_date:
            ledger.last_entry_date = entry.entry_date
    for ledger, amount in lines:
        entry.lines.append(
            JournalLine(ledger_account=ledger, amount_cents=amount, balance_after_cents=new_states[ledger.key].balance)
        )
    db.session.flush()
    return entry


def entry_summary(entry):
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


def audit_entry(entry, action, user):
    audit.record(action, entry, object_type="JournalEntry", after=entry_summary(entry), user=user)


def _finish(entry, action, user):
    audit_entry(entry, action, user)
    db.session.commit()
    return entry


def record_deposit(**details):
    """Money received into trust for a client (or the firm's own money to cover bank charges)."""
    entry = post_deposit(**details)
    db.session.commit()
    return entry


def post_deposit(
    *,
    account,
    holder,
    amount_cents,
    entry_date,
    method,
    payer,
    reference=None,
    cleared=True,
    description=None,
    user=None,
):
    """record_deposit without the commit, for an action that books more in the same transaction."""
    rules.check_amount(amount_cents)
    _check_trust_account(account)
    _check_date(entry_date)
    ledgers = lock_ledgers(account, [holder])
    held, bank = ledgers[holder.key(account.id)], ledgers[f"bank:{account.id}"]
    entry = JournalEntry(
        kind="deposit",
        bank_account_id=account.id,
        entry_date=entry_date,
        description=description or f"Deposit from {payer}",
        method=method,
        counterparty=payer,
        reference=reference,
        created_by_id=user.id if user else None,
    )
    _post(entry, [(bank, amount_cents), (held, -amount_cents)], uncleared=None if cleared else {held.key: amount_cents})
    if cleared:
        db.session.add(
            DepositClearance(entry=entry, cleared_on=entry_date, cleared_by_id=entry.created_by_id, created_at=utcnow())
        )
    audit_entry(entry, "trust.deposit", user)
    return entry


def record_disbursement(
    *,
    account,
    holder,
    amount_cents,
    entry_date,
    payee,
    description,
    method="cheque",
    cheque_number=None,
    reference=None,
    override_reason=None,
    user=None,
):
    """Money paid out of trust for a client (or a bank charge from the firm's own funds)."""
    rules.check_amount(amount_cents)
    override_reason = (override_reason or "").strip() or None  # a blank reason is no reason: no override
    _check_trust_account(account)
    _check_date(entry_date)
    ledgers = lock_ledgers(account, [holder])
    # Looked up under the bank ledger's lock, which every payment from this account takes: a cheque
    # number typed twice at the same moment is refused here, not by the unique index at commit.
    if cheque_number and db.session.scalar(
        select(JournalEntry.id).where(
            JournalEntry.bank_account_id == account.id, JournalEntry.cheque_number == cheque_number
        )
    ):
        raise LedgerError(f"Cheque {cheque_number} is already recorded on {account.name}.")
    held, bank = ledgers[holder.key(account.id)], ledgers[f"bank:{account.id}"]
    entry = JournalEntry(
        kind="disbursement",
        bank_account_id=account.id,
        entry_date=entry_date,
        description=description,
        method=method,
        counterparty=payee,
        reference=reference,
        cheque_number=cheque_number or None,
        override_reason=override_reason,
        created_by_id=user.id if user else None,
    )
    _post(entry, [(held, amount_cents), (bank, -amount_cents)], spend_uncleared=override_reason is not None)
    return _finish(entry, "trust.disbursement", user)


def transfer(*, account, source, destination, amount_cents, entry_date, reason=None, user=None):
    """Move money between two client ledgers in one trust account."""
    rules.check_amount(amount_cents)
    _check_trust_account(account)
    _check_date(entry_date)
    if source == destination:
        raise LedgerError("Choose a different ledger to transfer to.")
    other_client = source.is_firm != destination.is_firm or source.contact_id != destination.contact_id
    if other_client and not (reason or "").strip():
        raise LedgerError("Moving money to another client's ledger needs a stated reason.")
    ledgers = lock_ledgers(account, [source, destination], with_bank=False)
    src, dst = ledgers[source.key(account.id)], ledgers[destination.key(account.id)]
    entry = JournalEntry(
        kind="transfer",
        bank_account_id=account.id,
        entry_date=entry_date,
        description=reason or f"Transfer to {dst.name}",
        created_by_id=user.id if user else None,
    )
    _post(entry, [(src, amount_cents), (dst, -amount_cents)])
    return _finish(entry, "trust.transfer", user)


def _deposit_ledger(entry):
    held = [line.ledger_account for line in entry.lines if line.ledger_account.kind in rules.HELD_KINDS]
    if not held:
        raise LedgerError(f"{entry.number} holds no client's money; there is nothing to clear.")
    return held[0]


def _owned_by(entry):
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


def mark_cleared(entry, *, cleared_on, user=None):
    """The bank has cleared a deposit: its money becomes available."""
    if entry.kind != "deposit":
        raise LedgerError("Only deposits are cleared.")
    _check_date(cleared_on)
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


def _reload_under_lock(entry):
    """Re-read whether the entry is cleared or reversed now that its ledgers are locked.

    Another clearing or reversal of it may have committed while this one waited for the
    locks; checked before them, both would go ahead (a unique-key error, or a deposit
    taken off the uncleared total twice).
    """
    db.session.refresh(entry, ["clearance", "reversed_by"])


def _holder_of(ledger):
    return FIRM if ledger.kind == "firm" else Holder(ledger.contact_id, ledger.matter_id)


def reverse(entry, *, reason, entry_date=None, user=None):
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
    _check_date(entry_date)
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
    reversal = JournalEntry(
        kind="reversal",
        bank_account_id=entry.bank_account_id,
        entry_date=entry_date,
        description=f"Reversal of {entry.number}: {reason.strip()}",
        reverses_id=entry.id,
        created_by_id=user.id if user else None,
    )
    lines = [(ledgers[line.ledger_account.key], -line.amount_cents) for line in entry.lines]
    _post(reversal, lines, uncleared=uncleared)
    return _finish(reversal, "trust.reversal", user)
