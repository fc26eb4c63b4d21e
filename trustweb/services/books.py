"""check-books: re-derive every balance from the journal lines and check invariants 2 to 5, and that no entry
mixes two currencies."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, select, text

from trustweb.extensions import db
from trustweb.ledger.money import format_cents
from trustweb.ledger.rules import HELD_KINDS, NORMAL_SIGN, TRUST_KINDS
from trustweb.models import BankAccount, DepositClearance, JournalEntry, JournalLine, LedgerAccount
from trustweb.models.append_only import APPEND_ONLY_TABLES
from trustweb.models.balances import TRIGGER_NAMES as BALANCE_TRIGGERS

_natural = case(*((LedgerAccount.kind == kind, sign) for kind, sign in NORMAL_SIGN.items()))


def _money(cents: int, ledger: LedgerAccount) -> str:
    """An amount in a problem's sentence, in the currency of the ledger's bank account."""
    return format_cents(cents, ledger.bank_account.currency)


def check_books() -> list[str]:
    """Everything wrong with the books, as sentences; an empty list when they are sound."""
    problems: list[str] = []
    problems += _unbalanced_entries()
    problems += _entries_crossing_trust_accounts()
    problems += [
        f"entry JE-{entry_id:06d} moves money in more than one currency" for entry_id in entries_mixing_currencies()
    ]
    ledgers = db.session.scalars(select(LedgerAccount).order_by(LedgerAccount.key)).all()
    derived = _derived_balances()
    uncleared = _derived_uncleared()
    last_after = _last_running_balances()
    for ledger in ledgers:
        balance = derived.get(ledger.id, 0)
        if balance != ledger.balance_cents:
            problems.append(
                f"{ledger.name}: stored balance {_money(ledger.balance_cents, ledger)} but its lines add up to "
                f"{_money(balance, ledger)}"
            )
        if ledger.id in last_after and last_after[ledger.id] != ledger.balance_cents:
            problems.append(f"{ledger.name}: the running balance on its last line differs from its balance")
        if ledger.kind in HELD_KINDS and min(balance, ledger.balance_cents) < 0:
            problems.append(f"{ledger.name} is overdrawn: {_money(min(balance, ledger.balance_cents), ledger)}")
        if ledger.kind in HELD_KINDS and uncleared.get(ledger.id, 0) != ledger.uncleared_cents:
            problems.append(
                f"{ledger.name}: {_money(ledger.uncleared_cents, ledger)} recorded as uncleared, but its uncleared "
                f"deposits add up to {_money(uncleared.get(ledger.id, 0), ledger)}"
            )
    problems += _trust_accounts_match_their_ledgers(ledgers, derived)
    problems += shortfalls(ledgers)
    problems += firm_money_in_trust()
    problems += _missing_triggers()
    return problems


def _unbalanced_entries() -> list[str]:
    rows = db.session.execute(
        select(JournalLine.entry_id, func.sum(JournalLine.amount_cents), func.count())
        .group_by(JournalLine.entry_id)
        .having((func.sum(JournalLine.amount_cents) != 0) | (func.count() < 2))
    ).all()
    orphans = db.session.scalars(
        select(JournalEntry.id).where(~select(JournalLine.id).where(JournalLine.entry_id == JournalEntry.id).exists())
    ).all()
    return [
        f"entry JE-{entry_id:06d} does not balance (off by {total} cents, {n} lines)" for entry_id, total, n in rows
    ] + [f"entry JE-{entry_id:06d} has no lines" for entry_id in orphans]


def entries_mixing_currencies() -> list[int]:
    """The ids of entries whose lines move ledgers of bank accounts in more than one currency (which
    rules.MixedCurrencies refuses)."""
    return list(
        db.session.scalars(
            select(JournalLine.entry_id)
            .join(LedgerAccount, LedgerAccount.id == JournalLine.ledger_account_id)
            .join(BankAccount, BankAccount.id == LedgerAccount.bank_account_id)
            .group_by(JournalLine.entry_id)
            .having(func.count(BankAccount.currency.distinct()) > 1)
        )
    )


def _entries_crossing_trust_accounts() -> list[str]:
    rows = db.session.execute(
        select(JournalLine.entry_id, LedgerAccount.bank_account_id)
        .join(LedgerAccount)
        .where(LedgerAccount.kind.in_(TRUST_KINDS))
        .group_by(JournalLine.entry_id, LedgerAccount.bank_account_id)
        .having(func.sum(JournalLine.amount_cents) != 0)
    ).all()
    return [
        f"entry JE-{entry_id:06d} moves money in or out of trust account {acct} without a balancing line"
        for entry_id, acct in rows
    ]


def _derived_balances() -> dict[int, int]:
    rows = db.session.execute(
        select(JournalLine.ledger_account_id, func.sum(JournalLine.amount_cents * _natural))
        .join(LedgerAccount)
        .group_by(JournalLine.ledger_account_id)
    ).all()
    return {ledger_id: int(total) for ledger_id, total in rows}


def _derived_uncleared() -> dict[int, int]:
    """Per held ledger: deposits into it with no clearance and no reversal."""
    reversed_ids = select(JournalEntry.reverses_id).where(JournalEntry.reverses_id.is_not(None))
    rows = db.session.execute(
        select(JournalLine.ledger_account_id, func.sum(-JournalLine.amount_cents))
        .join(JournalEntry)
        .join(LedgerAccount)
        .outerjoin(DepositClearance, DepositClearance.entry_id == JournalEntry.id)
        .where(
            JournalEntry.kind == "deposit",
            DepositClearance.id.is_(None),
            JournalEntry.id.not_in(reversed_ids),
            LedgerAccount.kind.in_(HELD_KINDS),
        )
        .group_by(JournalLine.ledger_account_id)
    ).all()
    return {ledger_id: int(total) for ledger_id, total in rows}


def _last_running_balances() -> dict[int, int]:
    last = select(func.max(JournalLine.id)).group_by(JournalLine.ledger_account_id)
    rows = (
        db.session.execute(
            select(JournalLine.ledger_account_id, JournalLine.balance_after_cents).where(JournalLine.id.in_(last))
        )
        .tuples()
        .all()
    )
    return dict(rows)


@dataclass
class _AccountTotals:
    ledger: LedgerAccount  # one of the account's ledgers, for its currency
    bank: int = 0
    held: int = 0
    name: str | None = None


def _trust_accounts_match_their_ledgers(ledgers: Sequence[LedgerAccount], derived: Mapping[int, int]) -> list[str]:
    problems = []
    accounts: dict[int, _AccountTotals] = {}
    for ledger in ledgers:
        if ledger.kind in TRUST_KINDS:
            totals = accounts.setdefault(ledger.bank_account_id, _AccountTotals(ledger))
            if ledger.kind == "bank":
                totals.bank += derived.get(ledger.id, 0)
                totals.name = ledger.name
            else:
                totals.held += derived.get(ledger.id, 0)
    for totals in accounts.values():
        if totals.bank != totals.held:
            problems.append(
                f"{totals.name or 'a trust account'}: the journal shows {_money(totals.bank, totals.ledger)} "
                f"in the bank but its client and firm ledgers add up to {_money(totals.held, totals.ledger)}"
            )
    return problems


def shortfalls(ledgers: Sequence[LedgerAccount] | None = None) -> list[str]:
    """Named items: what the firm must replace in a trust account (fees a processor kept, money pulled back)."""
    if ledgers is None:
        ledgers = db.session.scalars(select(LedgerAccount).where(LedgerAccount.kind == "shortfall")).all()
    return [
        f"{ledger.bank_account.name}: the firm must replace {_money(-ledger.balance_cents, ledger)} from operating "
        "(processor fees kept from payouts or money pulled back after it was spent)"
        for ledger in ledgers
        if ledger.kind == "shortfall" and ledger.balance_cents < 0
    ]


def firm_money_in_trust() -> list[str]:
    """Problems: money the firm replaced and then got back (a dispute won after it paid the shortfall) sits in trust."""
    ledgers = db.session.scalars(
        select(LedgerAccount).where(LedgerAccount.kind == "shortfall", LedgerAccount.balance_cents > 0)
    ).all()
    return [
        f"{ledger.bank_account.name}: {_money(ledger.balance_cents, ledger)} of the firm's own money is in trust "
        "(repaid twice); move it back to operating"
        for ledger in ledgers
    ]


def _missing_triggers() -> list[str]:
    dialect = db.session.get_bind().dialect.name
    if dialect == "sqlite":
        names = set(db.session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
        wanted = {f"{t}_no_{op}" for t in APPEND_ONLY_TABLES for op in ("update", "delete")}
    else:
        # Only this schema's tables: another schema in the same database has triggers of the same names.
        names = set(
            db.session.scalars(
                text(
                    "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE NOT t.tgisinternal AND t.tgenabled != 'D' AND n.nspname = current_schema()"
                )
            )
        )
        wanted = {f"{t}_{kind}" for t in APPEND_ONLY_TABLES for kind in ("append_only", "no_truncate")}
    balance_triggers = set(BALANCE_TRIGGERS[dialect])
    return [
        f"the database trigger {name} that keeps "
        f"{'ledger balances in step with the journal' if name in balance_triggers else 'the journal append-only'} "
        "is missing or disabled"
        for name in sorted((wanted | balance_triggers) - names)
    ]
