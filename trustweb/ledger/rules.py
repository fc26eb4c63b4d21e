"""The trust-accounting rules as pure functions over plain data, and the errors they raise.

A proposed entry is a list of Posting(ledger, amount) where amount is signed
(debit positive, credit negative) and ledger is a LedgerState: what the rules
need to know about a ledger (its kind, trust account, balances). Services load
the states under a lock, ask these functions, and only then write.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from trustweb.ledger.money import format_cents


class LedgerKind(StrEnum):
    """What a ledger records; its order is the order of the ledger_account table's CHECK."""

    BANK = "bank"
    CLIENT = "client"
    FIRM = "firm"
    # What the firm owes its trust account (a processor kept a fee or pulled back money already spent):
    # a negative balance is money the firm must replace from operating.
    SHORTFALL = "shortfall"
    OPERATING = "operating"
    INCOME = "income"
    EXPENSE = "expense"
    RECEIVABLE = "receivable"


# Natural sign of a ledger's balance: +1 where a debit increases it (assets, expenses).
NORMAL_SIGN: dict[str, int] = {
    LedgerKind.BANK: 1,
    LedgerKind.OPERATING: 1,
    LedgerKind.EXPENSE: 1,
    LedgerKind.RECEIVABLE: 1,
    LedgerKind.CLIENT: -1,
    LedgerKind.FIRM: -1,
    LedgerKind.INCOME: -1,
    LedgerKind.SHORTFALL: -1,
}
TRUST_KINDS = frozenset({LedgerKind.BANK, LedgerKind.CLIENT, LedgerKind.FIRM, LedgerKind.SHORTFALL})
HELD_KINDS = frozenset({LedgerKind.CLIENT, LedgerKind.FIRM})  # money held for someone: never below zero


class LedgerError(ValueError):
    """A movement of money the rules refuse; the message is written for the person who asked."""


class ZeroAmount(LedgerError):
    pass


class UnbalancedEntry(LedgerError):
    pass


class CrossesTrustAccounts(LedgerError):
    pass


class MixedCurrencies(LedgerError):
    pass


class InsufficientFunds(LedgerError):
    pass


class UnclearedFunds(LedgerError):
    pass


class AlreadyReversed(LedgerError):
    pass


class BadDate(LedgerError):
    pass


@dataclass(frozen=True)
class LedgerState:
    key: str
    kind: str
    trust_account: int | None  # the bank account a trust ledger belongs to
    name: str
    currency: str  # the bank account's: how amounts in its messages are written
    balance: int = 0  # natural sign: what is held for the client, or what the bank holds
    uncleared: int = 0

    @property
    def available(self) -> int:
        return self.balance - self.uncleared


@dataclass(frozen=True)
class Posting:
    ledger: LedgerState
    amount: int  # debit positive, credit negative

    @property
    def natural(self) -> int:
        """The posting's effect on the ledger's balance as the firm reads it."""
        return NORMAL_SIGN[self.ledger.kind] * self.amount


def check_amount(cents: int) -> None:
    if not isinstance(cents, int) or isinstance(cents, bool):
        raise TypeError("money is an integer number of cents")
    if cents <= 0:
        raise ZeroAmount("The amount must be more than zero.")


def residual(postings: Sequence[Posting]) -> int:
    """What an entry is out of balance by (beancount's compute_residual); zero when it balances."""
    return sum(p.amount for p in postings)


def check_balanced(postings: Sequence[Posting]) -> None:
    if len(postings) < 2:
        raise UnbalancedEntry("An entry needs at least two lines.")
    if any(p.amount == 0 for p in postings):
        raise ZeroAmount("A line cannot be for zero.")
    if residual(postings) != 0:
        raise UnbalancedEntry(f"The entry is out of balance by {residual(postings)} cents.")
    # Cents of two currencies are not the same money: an entry balances in one currency or not at all.
    currencies = {p.ledger.currency for p in postings}
    if len(currencies) > 1:
        raise MixedCurrencies(
            f"One entry cannot move money in {' and '.join(sorted(currencies))}: each currency keeps its own books."
        )
    # Invariant 4: within each trust account the lines net to zero, so the bank's balance
    # always equals what is held for clients and the firm.
    per_account: dict[int | None, int] = {}
    for p in postings:
        if p.ledger.kind in TRUST_KINDS:
            per_account[p.ledger.trust_account] = per_account.get(p.ledger.trust_account, 0) + p.amount
    if any(total != 0 for total in per_account.values()):
        raise CrossesTrustAccounts("Money cannot appear in or vanish from a trust account within one entry.")


def apply(
    postings: Sequence[Posting], *, uncleared: Mapping[str, int] | None = None, spend_uncleared: bool = False
) -> dict[str, LedgerState]:
    """The ledgers' new states after the entry, or a LedgerError saying why it is refused.

    uncleared maps ledger key -> change in its uncleared amount (a deposit not yet
    cleared adds to it; clearing or reversing one takes from it). Money leaving a
    held ledger must come from cleared funds unless spend_uncleared (a lawyer's
    logged override); it may never take the balance below zero.
    """
    check_balanced(postings)
    uncleared = uncleared or {}
    states: dict[str, LedgerState] = {}
    for p in postings:
        state = states.get(p.ledger.key, p.ledger)
        states[p.ledger.key] = replace(state, balance=state.balance + p.natural)
    for key, change in uncleared.items():
        states[key] = replace(states[key], uncleared=states[key].uncleared + change)
    for p in postings:
        before, after = p.ledger, states[p.ledger.key]
        if before.kind not in HELD_KINDS or after.balance >= before.balance:
            continue
        taken, currency = before.balance - after.balance, before.currency
        if after.balance < 0:
            raise InsufficientFunds(
                f"{before.name} holds {format_cents(before.balance, currency)}; "
                f"{format_cents(taken, currency)} cannot be taken from it."
            )
        if after.available < 0 and not spend_uncleared:
            raise UnclearedFunds(
                f"{before.name} has {format_cents(max(before.available, 0), currency)} available: "
                f"{format_cents(before.uncleared, currency)} is from deposits the bank has not cleared yet."
            )
    if any(state.uncleared < 0 for state in states.values()):
        raise LedgerError("More was cleared than was deposited.")
    return states


def reversal_of(postings: Sequence[Posting]) -> list[Posting]:
    """The postings that undo an entry: every line with its sign turned."""
    return [Posting(p.ledger, -p.amount) for p in postings]
