"""What processors keep: fees as operating expenses, never trust money (invariant 6), and the shortfall.

A processor that bills its fees to the firm (the test processor, or Stripe in
"billed" mode) costs the operating account: expense up, operating bank down.
Stripe by default keeps its fee out of the payout into the account the money
was paid to; when that is a trust account, the trust bank receives less than
the client was credited. That gap is booked in the trust account against its
shortfall ledger ("owed by the firm"), shown on the dashboard and by
check-books, until the firm replaces it from operating (replace_shortfall).
"""

from sqlalchemy import select

from trustweb.extensions import db
from trustweb.ledger import rules
from trustweb.ledger.money import format_cents
from trustweb.models import DepositClearance, JournalEntry, LedgerAccount
from trustweb.models.base import utcnow
from trustweb.models.firm import insert_ignore
from trustweb.services import ServiceError, audit
from trustweb.services.firm import default_account
from trustweb.services.trust import _check_date, _post, audit_entry, firm_today, lock_ledgers, shortfall_key


def _operating_ledgers(account, expense):
    """The operating bank ledger and an expense ledger of the operating account, created if new, locked."""
    return lock_operating(
        account, {f"operating:{account.id}": "operating", f"expense:{account.id}:{expense}": "expense"}
    )


def operating_keys(account):
    """The operating ledgers an invoice payment (or its refund, chargeback and fees) moves: key -> kind.
    Locked together, in one sorted go, so no two such transactions wait on each other in opposite order."""
    return {
        f"operating:{account.id}": "operating",
        f"receivable:{account.id}": "receivable",
        f"expense:{account.id}:processing-fees": "expense",
    }


def lock_operating(account, keys):
    """Ledgers of the operating account by key (key -> kind), created if new, locked in key order; by kind."""
    audit.lock_chain()  # the head before any row: one lock order for every transaction
    for key, kind in keys.items():
        db.session.execute(
            insert_ignore(LedgerAccount).values(
                key=key, kind=kind, bank_account_id=account.id, balance_cents=0, uncleared_cents=0
            )
        )
    rows = db.session.scalars(
        select(LedgerAccount)
        .where(LedgerAccount.key.in_(sorted(keys)))
        .order_by(LedgerAccount.key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {row.kind: row for row in rows}


def operating_expense(operating, amount_cents, entry_date, description, *, reference=None, payee=None, user=None):
    """An expense paid from the operating account (no commit)."""
    rules.check_amount(amount_cents)
    ledgers = _operating_ledgers(operating, "processing-fees")
    entry = JournalEntry(
        kind="disbursement",
        bank_account_id=operating.id,
        entry_date=entry_date,
        description=description,
        method="other",
        counterparty=payee,
        reference=reference,
        created_by_id=user.id if user else None,
    )
    _post(entry, [(ledgers["expense"], amount_cents), (ledgers["operating"], -amount_cents)])
    audit_entry(entry, "operating.expense", user)
    return entry


def book_shortfall(account, amount_cents, entry_date, description, *, reference=None, user=None):
    """Money that left a trust account for the firm's account (a fee kept, a chargeback already spent): owed by it."""
    rules.check_amount(amount_cents)
    ledgers = lock_ledgers(account, [], with_shortfall=True)
    entry = JournalEntry(
        kind="disbursement",
        bank_account_id=account.id,
        entry_date=entry_date,
        description=description,
        method="other",
        counterparty="Stripe",
        reference=reference,
        created_by_id=user.id if user else None,
    )
    _post(entry, [(ledgers[shortfall_key(account)], amount_cents), (ledgers[f"bank:{account.id}"], -amount_cents)])
    audit_entry(entry, "trust.shortfall", user)
    return entry


def _kept_from_trust(payment, account, operating):
    """Whether the processor took the fee out of a trust account's payout (then the firm owes it to trust)."""
    if account.kind != "trust":
        return False  # paid into operating: the fee is the firm's expense whichever way Stripe charges it
    return (payment.processor == "stripe" and account.fee_mode == "deducted") or operating is None


def book_fee(payable, payment, fee_cents, description=None):
    """A processor's fee on a payment: from operating, or owed to trust when the processor kept it from trust."""
    account = payment.bank_account
    operating = default_account("operating") if account.kind == "trust" else account
    description = description or f"{payment.processor.title()} fee on {payment.receipt_number} ({payable.number})"
    if _kept_from_trust(payment, account, operating):
        return book_shortfall(
            account, fee_cents, payment.received_on, description, reference=payment.processor_reference
        )
    return operating_expense(
        operating,
        fee_cents,
        payment.received_on,
        description,
        reference=payment.processor_reference,
        payee=f"{payment.processor} processor",
    )


def book_fee_returned(payment, amount_cents, reference):
    """A fee the processor gave back (a dispute won): back to where the fee was booked from."""
    account = payment.bank_account
    operating = default_account("operating") if account.kind == "trust" else account
    description = f"{payment.processor.title()} returned its dispute fee on {payment.receipt_number}"
    if _kept_from_trust(payment, account, operating):
        ledgers = lock_ledgers(account, [], with_shortfall=True)
        lines = [(ledgers[f"bank:{account.id}"], amount_cents), (ledgers[shortfall_key(account)], -amount_cents)]
        entry = JournalEntry(
            kind="deposit",
            bank_account_id=account.id,
            entry_date=firm_today(),
            description=description,
            method="other",
            counterparty="Stripe",
            reference=reference,
        )
        _post(entry, lines)
        db.session.add(DepositClearance(entry=entry, cleared_on=entry.entry_date, created_at=utcnow()))
    else:
        ledgers = _operating_ledgers(operating, "processing-fees")
        entry = JournalEntry(
            kind="deposit",
            bank_account_id=operating.id,
            entry_date=firm_today(),
            description=description,
            method="other",
            counterparty="Stripe",
            reference=reference,
        )
        _post(entry, [(ledgers["operating"], amount_cents), (ledgers["expense"], -amount_cents)])
    audit_entry(entry, "fee.returned", None)
    return entry


def shortfall_of(account):
    """What the firm owes this trust account, in cents (0 when nothing)."""
    balance = db.session.scalar(select(LedgerAccount.balance_cents).where(LedgerAccount.key == shortfall_key(account)))
    return max(-(balance or 0), 0)


def replace_shortfall(account, amount_cents, entry_date, reference=None, user=None):
    """The firm pays what it owes the trust account from operating: one transaction, two accounts."""
    rules.check_amount(amount_cents)
    _check_date(entry_date)
    operating = default_account("operating")
    if operating is None:
        raise ServiceError("Add an operating account first: the money comes from there.")
    ledgers = lock_ledgers(account, [], with_shortfall=True)
    owed = max(-ledgers[shortfall_key(account)].balance_cents, 0)
    if amount_cents > owed:
        raise ServiceError(f"The firm owes {account.name} {format_cents(owed)}; replace at most that.")
    deposit = JournalEntry(
        kind="deposit",
        bank_account_id=account.id,
        entry_date=entry_date,
        description=f"Replaced by the firm from {operating.name}",
        method="other",
        counterparty=operating.name,
        reference=reference,
        created_by_id=user.id if user else None,
    )
    _post(deposit, [(ledgers[f"bank:{account.id}"], amount_cents), (ledgers[shortfall_key(account)], -amount_cents)])
    db.session.add(DepositClearance(entry=deposit, cleared_on=entry_date, created_at=utcnow()))
    audit_entry(deposit, "trust.shortfall_replaced", user)
    operating_expense(
        operating,
        amount_cents,
        entry_date,
        f"Processor fees and chargebacks replaced in {account.name}",
        reference=reference,
        payee=account.name,
        user=user,
    )
    db.session.commit()
    return deposit
