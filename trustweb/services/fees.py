"""What processors keep: fees as operating expenses, never trust money (invariant 6), and the shortfall.

A processor that bills its fees to the firm (the test processor, or Stripe in
"billed" mode) costs the operating account: expense up, operating bank down.
Stripe by default keeps its fee out of the payout into the account the money
was paid to; when that is a trust account, the trust bank receives less than
the client was credited. That gap is booked in the trust account against its
shortfall ledger ("owed by the firm"), shown on the dashboard and by
check-books, until the firm replaces it from operating (replace_shortfall).
"""

from datetime import date

from sqlalchemy import select

from trustweb.extensions import db
from trustweb.ledger import rules
from trustweb.ledger.keys import bank_key, expense_key, operating_key, receivable_key, shortfall_key
from trustweb.ledger.money import format_cents
from trustweb.models import BankAccount, JournalEntry, LedgerAccount, Payable, Payment, User
from trustweb.refusals import ServiceError
from trustweb.services.firm import operating_for
from trustweb.services.journal import book_entry, lock_ledgers, lock_operating
from trustweb.services.trust import check_entry_date, firm_today


def _operating_ledgers(account: BankAccount) -> dict[str, LedgerAccount]:
    """The operating bank ledger and the processing-fees expense ledger of the operating account, created if new,
    locked."""
    return lock_operating(account, {operating_key(account.id): "operating", expense_key(account.id): "expense"})


def operating_keys(account: BankAccount) -> dict[str, str]:
    """The operating ledgers an invoice payment (or its refund, chargeback and fees) moves: key -> kind.
    Locked together, in one sorted go, so no two such transactions wait on each other in opposite order."""
    return {
        operating_key(account.id): "operating",
        receivable_key(account.id): "receivable",
        expense_key(account.id): "expense",
    }


def operating_expense(
    operating: BankAccount,
    amount_cents: int,
    entry_date: date,
    description: str,
    *,
    reference: str | None = None,
    payee: str | None = None,
    user: User | None = None,
) -> JournalEntry:
    """An expense paid from the operating account (no commit)."""
    rules.check_amount(amount_cents)
    ledgers = _operating_ledgers(operating)
    return book_entry(
        "operating.expense",
        [(ledgers["expense"], amount_cents), (ledgers["operating"], -amount_cents)],
        kind="disbursement",
        account=operating,
        entry_date=entry_date,
        user=user,
        description=description,
        method="other",
        counterparty=payee,
        reference=reference,
    )


def book_shortfall(
    account: BankAccount,
    amount_cents: int,
    entry_date: date,
    description: str,
    *,
    reference: str | None = None,
    user: User | None = None,
) -> JournalEntry:
    """Money that left a trust account for the firm's account (a fee kept, a chargeback already spent): owed by it."""
    rules.check_amount(amount_cents)
    ledgers = lock_ledgers(account, [], with_shortfall=True)
    return book_entry(
        "trust.shortfall",
        [(ledgers[shortfall_key(account.id)], amount_cents), (ledgers[bank_key(account.id)], -amount_cents)],
        kind="disbursement",
        account=account,
        entry_date=entry_date,
        user=user,
        description=description,
        method="other",
        counterparty="Stripe",
        reference=reference,
    )


def _kept_from_trust(payment: Payment, account: BankAccount) -> bool:
    """Whether the processor took the fee out of a trust account's payout (then the firm owes it to trust)."""
    if account.kind != "trust":
        return False  # paid into operating: the fee is the firm's expense whichever way Stripe charges it
    return payment.processor == "stripe" and account.fee_mode == "deducted"


def _fee_account(payment: Payment) -> tuple[BankAccount, bool]:
    """Where a payment's fee is booked: (the account, whether it is owed to trust as a shortfall)."""
    account = payment.bank_account
    # The fee is in the payment's currency: booked to an operating account in that currency, never another's.
    operating = operating_for(account.currency) if account.kind == "trust" else account
    # With no operating account to charge (payments by card are refused then), the fee can only be owed to trust.
    if operating is None or _kept_from_trust(payment, account):
        return account, True
    return operating, False


def hold_fee_ledgers(payment: Payment) -> None:
    """Lock now the ledgers the payment's fee will move (no commit): a receipt's number, taken between, stays the
    last lock of the transaction (services/journal.py)."""
    account, owed_to_trust = _fee_account(payment)
    if owed_to_trust:
        lock_ledgers(account, [], with_shortfall=True)
    else:
        _operating_ledgers(account)


def book_fee(payable: Payable, payment: Payment, fee_cents: int, description: str | None = None) -> JournalEntry:
    """A processor's fee on a payment: from operating, or owed to trust when the processor kept it from trust."""
    account, owed_to_trust = _fee_account(payment)
    description = description or f"{payment.processor.title()} fee on {payment.receipt_number} ({payable.number})"
    if owed_to_trust:
        return book_shortfall(
            account, fee_cents, payment.received_on, description, reference=payment.processor_reference
        )
    return operating_expense(
        account,
        fee_cents,
        payment.received_on,
        description,
        reference=payment.processor_reference,
        payee=f"{payment.processor} processor",
    )


def book_fee_returned(payment: Payment, amount_cents: int, reference: str | None) -> JournalEntry:
    """A fee the processor gave back (a dispute won): back to where the fee was booked from."""
    account, owed_to_trust = _fee_account(payment)
    description = f"{payment.processor.title()} returned its dispute fee on {payment.receipt_number}"
    if owed_to_trust:
        ledgers = lock_ledgers(account, [], with_shortfall=True)
        lines = [(ledgers[bank_key(account.id)], amount_cents), (ledgers[shortfall_key(account.id)], -amount_cents)]
        into, cleared = account, True
    else:
        ledgers = _operating_ledgers(account)
        lines = [(ledgers["operating"], amount_cents), (ledgers["expense"], -amount_cents)]
        into, cleared = account, False
    return book_entry(
        "fee.returned",
        lines,
        kind="deposit",
        account=into,
        entry_date=firm_today(),
        cleared=cleared,
        description=description,
        method="other",
        counterparty="Stripe",
        reference=reference,
    )


def shortfall_of(account: BankAccount) -> int:
    """What the firm owes this trust account, in cents (0 when nothing)."""
    balance = db.session.scalar(
        select(LedgerAccount.balance_cents).where(LedgerAccount.key == shortfall_key(account.id))
    )
    return max(-(balance or 0), 0)


def replace_shortfall(
    account: BankAccount, amount_cents: int, entry_date: date, reference: str | None = None, user: User | None = None
) -> JournalEntry:
    """The firm pays what it owes the trust account from operating: one transaction, two accounts."""
    rules.check_amount(amount_cents)
    check_entry_date(entry_date)
    operating = operating_for(account.currency)
    if operating is None:
        raise ServiceError(
            f"Add an operating account in {account.currency} first: the money comes from there, in the trust "
            "account's currency."
        )
    ledgers = lock_ledgers(account, [], with_shortfall=True)
    owed = max(-ledgers[shortfall_key(account.id)].balance_cents, 0)
    if amount_cents > owed:
        raise ServiceError(
            f"The firm owes {account.name} {format_cents(owed, account.currency)}; replace at most that."
        )
    deposit = book_entry(
        "trust.shortfall_replaced",
        [(ledgers[bank_key(account.id)], amount_cents), (ledgers[shortfall_key(account.id)], -amount_cents)],
        kind="deposit",
        account=account,
        entry_date=entry_date,
        user=user,
        cleared=True,
        description=f"Replaced by the firm from {operating.name}",
        method="other",
        counterparty=operating.name,
        reference=reference,
    )
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
