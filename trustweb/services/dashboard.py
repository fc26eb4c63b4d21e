"""The Dashboard's figures: the firm at a glance and the signed-in lawyer's own open matters, read only.

A fixed number of SELECTs whatever the firm's size: what the page shows of each matter is loaded with it, and
each trust account comes with its balance and its last signed reconciliation. The three charts read one grouped
SELECT each, whatever the number of months, accounts, entries or requests:

- what each trust account held at each of the last 12 month ends: its bank ledger's balance now, less what was
  dated after each month end (only the window's lines are read, however long the history);
- the payments received in each of those months, per currency;
- the open requests by how long they are past due, per currency.

Months are bucketed by ranges of dates computed here (CASE ... WHEN date >= first day), the same SQL on SQLite and
PostgreSQL, which truncate dates differently. Money is never added across two currencies: a chart is of one.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, case, func, select
from sqlalchemy.orm import joinedload

from trustweb import charts
from trustweb.extensions import Model, db
from trustweb.ledger.rules import NORMAL_SIGN, LedgerKind
from trustweb.models import (
    BankAccount,
    Contact,
    FirmSettings,
    JournalEntry,
    JournalLine,
    LedgerAccount,
    Matter,
    MatterStatus,
    Payment,
    Reconciliation,
    TrustRequest,
)
from trustweb.models.payments import RECEIVED
from trustweb.models.requests import OUTSTANDING
from trustweb.services import evergreen, reconciliation

MONTHS = 12
AGEING = ("Current", "1–30 days", "31–60 days", "61–90 days", "Over 90 days")
AGEING_SHORT = ("Current", "1–30", "31–60", "61–90", "90+")


def _count(model: type[Model], *where: ColumnElement[bool]) -> ScalarSelect[int]:
    return select(func.count()).select_from(model).where(*where).scalar_subquery()


def at_a_glance(lawyer_id: int, today: date) -> dict[str, Any]:
    """What the Dashboard shows a lawyer on a day, by name: counts, what each trust account holds, matters,
    shortfalls the firm must replace, matters below their evergreen minimum, money asked for and received, and
    reconciliations due."""
    my_matters = db.session.scalars(
        select(Matter)
        .where(Matter.lawyer_id == lawyer_id, Matter.status == MatterStatus.OPEN)
        .options(joinedload(Matter.client, innerjoin=True))
        .order_by(Matter.opened_on.desc())
        .limit(10)
    ).all()
    recent_matters = db.session.scalars(
        select(Matter)
        .options(joinedload(Matter.lawyer, innerjoin=True))
        .order_by(Matter.created_at.desc(), Matter.id.desc())
        .limit(5)
    ).all()
    reconciled_through = (
        select(func.max(Reconciliation.period_end))
        .where(Reconciliation.bank_account_id == BankAccount.id)
        .scalar_subquery()
    )
    trust_accounts = db.session.execute(
        select(BankAccount, LedgerAccount.balance_cents, reconciled_through)
        .outerjoin(LedgerAccount, (LedgerAccount.bank_account_id == BankAccount.id) & (LedgerAccount.kind == "bank"))
        .where(BankAccount.kind == "trust", BankAccount.active)
        .order_by(BankAccount.name)
    ).all()
    months = last_months(today)
    held = held_charts(months, [(account, balance or 0) for account, balance, _ in trust_accounts])
    received = received_charts(months)
    ageing = ageing_charts(today)
    money = {  # the tiles: the charts' figures, not read again
        "open_count": sum(sum(chart.counts) for chart in ageing),
        "open": {chart.currency: sum(chart.cents) for chart in ageing},
        "overdue": {chart.currency: sum(chart.cents[1:]) for chart in ageing if any(chart.cents[1:])},
        "month_count": sum(chart.counts[-1] for chart in received),
        "month": {chart.currency: chart.cents[-1] for chart in received if chart.counts[-1]},
    }
    open_matters, contacts = db.session.execute(
        select(_count(Matter, Matter.status == MatterStatus.OPEN), _count(Contact))
    ).one()
    return {
        "open_matters": open_matters,
        "contacts": contacts,
        "trust_accounts": [(account, balance) for account, balance, _ in trust_accounts],
        "my_matters": my_matters,
        "recent_matters": recent_matters,
        "shortfalls": db.session.execute(
            select(BankAccount, LedgerAccount.balance_cents)
            .join(LedgerAccount, LedgerAccount.bank_account_id == BankAccount.id)
            .where(LedgerAccount.kind == "shortfall", LedgerAccount.balance_cents < 0)
            .order_by(BankAccount.name)
        ).all(),
        "money": money,
        "months": months,
        "held_charts": held,
        "received": received,
        "ageing": ageing,
        "ageing_names": AGEING,
        # The ten furthest below their evergreen minimum; an eleventh says the report has more.
        "below_minimum": evergreen.positions(evergreen.below_minimum().limit(11)),
        "reconciliations": [(account, last, reconciliation.is_due(last, today)) for account, _, last in trust_accounts],
    }


@dataclass(frozen=True)
class Month:
    """A month of the charts: from its first day to its last, or to today for this month."""

    start: date
    end: date

    @property
    def short(self) -> str:
        return self.start.strftime("%b")

    @property
    def year(self) -> str:
        return str(self.start.year)

    @property
    def name(self) -> str:
        return self.start.strftime("%B %Y")


@dataclass(frozen=True)
class HeldChart:
    """What the trust accounts of one currency held at each month end, one line per account."""

    currency: str
    accounts: list[tuple[BankAccount, list[int]]]
    chart: charts.Chart

    @property
    def empty(self) -> bool:
        return not any(any(ends) for _, ends in self.accounts)


@dataclass(frozen=True)
class CountedChart:
    """How many and how much in one currency, per month (payments received) or per age (open requests)."""

    currency: str
    counts: list[int]
    cents: list[int]
    chart: charts.Chart


def last_months(today: date, count: int = MONTHS) -> list[Month]:
    """The `count` months up to and including today's, oldest first; this month ends today."""
    index = today.year * 12 + today.month - 1
    starts = [date(i // 12, i % 12 + 1, 1) for i in range(index - count + 1, index + 2)]
    return [
        Month(start, min(following - timedelta(days=1), today))
        for start, following in zip(starts, starts[1:], strict=False)
    ]


def _month_of(column: Any, months: Sequence[Month], after: int) -> Any:
    """The index of the month a date falls in (`after` for a date after the last month's end), as SQL."""
    whens = [(column > months[-1].end, after)]
    whens += [(column >= month.start, i) for i, month in reversed(list(enumerate(months)))]
    return case(*whens, else_=-1)


def _currencies(present: Sequence[str]) -> list[str]:
    first = FirmSettings.get().currency
    return sorted(set(present), key=lambda currency: (currency != first, currency))


def _x_labels(months: Sequence[Month]) -> tuple[list[str], list[str]]:
    """Each month's short name; its year under each January, and under the first month unless January is next
    (the two years would run into each other)."""
    years = [m.year if m.start.month == 1 else "" for m in months]
    if months[0].start.month != 12:
        years[0] = months[0].year
    return [m.short for m in months], years


def held_moves(months: Sequence[Month]) -> Any:
    """What moved on each active trust account's bank ledger in each month of the window (and after it), as SQL."""
    # The window's entries first, by account and date (ix_journal_entry_account_date), then their lines by entry
    # (ix_journal_line_entry_id): a year's work whatever the history's length. Joined plainly, SQLite's planner read
    # the bank ledger's lines by ix_journal_line_ledger_id, its whole history, and filtered by date after; "+ 0"
    # keeps that index out of reach.
    trust = select(BankAccount.id).where(BankAccount.kind == "trust", BankAccount.active)
    window = select(JournalEntry.id).where(
        JournalEntry.bank_account_id.in_(trust),
        JournalEntry.entry_date >= months[1].start,  # what moved in the first month is before each of its ends
    )
    dated = (
        select(
            JournalEntry.bank_account_id.label("account"),
            _month_of(JournalEntry.entry_date, months, len(months)).label("month"),
            JournalLine.amount_cents.label("cents"),
        )
        .select_from(JournalLine)
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .join(LedgerAccount, LedgerAccount.id == JournalLine.ledger_account_id + 0)
        .where(JournalLine.entry_id.in_(window), LedgerAccount.kind == LedgerKind.BANK)
        .subquery()
    )
    return select(dated.c.account, dated.c.month, func.sum(dated.c.cents)).group_by(dated.c.account, dated.c.month)


def held_charts(months: Sequence[Month], accounts: Sequence[tuple[BankAccount, int]]) -> list[HeldChart]:
    """Per currency, what each trust account held at each month's end: its balance now less what was dated after."""
    moved: dict[int, list[int]] = {account.id: [0] * (len(months) + 1) for account, _ in accounts}
    for account_id, month, cents in db.session.execute(held_moves(months)):
        if account_id in moved and month >= 0:
            moved[account_id][month] += NORMAL_SIGN[LedgerKind.BANK] * int(cents)
    series: dict[str, list[tuple[BankAccount, list[int]]]] = {}
    for account, balance in accounts:
        after = moved[account.id]
        # Held at the end of month i: the balance now, less what moved in the months after it (and after today).
        ends = [balance - sum(after[i + 1 :]) for i in range(len(months))]
        series.setdefault(account.currency, []).append((account, ends))
    labels, years = _x_labels(months)
    return [
        HeldChart(
            currency,
            series[currency],
            charts.line_chart(labels, [(account.name, ends) for account, ends in series[currency]], years),
        )
        for currency in _currencies(list(series))
    ]


def _counted(rows: Any, size: int, labels: Sequence[str], sublabels: Sequence[str] | None) -> list[CountedChart]:
    counts: dict[str, list[int]] = {}
    cents: dict[str, list[int]] = {}
    for currency, bucket, count, total in rows:
        if bucket < 0:
            continue
        counts.setdefault(currency, [0] * size)[bucket] += count
        cents.setdefault(currency, [0] * size)[bucket] += int(total)
    return [
        CountedChart(
            currency,
            counts[currency],
            cents[currency],
            charts.bar_chart(list(zip(labels, cents[currency], strict=True)), sublabels),
        )
        for currency in _currencies(list(counts))
    ]


def received_charts(months: Sequence[Month]) -> list[CountedChart]:
    """Per currency (of the account paid into), the payments received in each month: how many and how much."""
    received = (
        select(
            BankAccount.currency.label("currency"),
            _month_of(Payment.received_on, months, -1).label("month"),
            Payment.amount_cents.label("cents"),
        )
        .join(BankAccount, BankAccount.id == Payment.bank_account_id)
        .where(Payment.status.in_(RECEIVED), Payment.received_on.between(months[0].start, months[-1].end))
        .subquery()
    )
    rows = db.session.execute(
        select(received.c.currency, received.c.month, func.count(), func.sum(received.c.cents)).group_by(
            received.c.currency, received.c.month
        )
    )
    labels, years = _x_labels(months)
    return _counted(rows, len(months), labels, years)


def ageing_charts(today: date) -> list[CountedChart]:
    """Per currency, the open trust requests by how long they are past due: how many and how much is still due."""
    due_on = TrustRequest.due_on
    age = case(
        (due_on.is_(None) | (due_on >= today), 0),
        (due_on >= today - timedelta(days=30), 1),
        (due_on >= today - timedelta(days=60), 2),
        (due_on >= today - timedelta(days=90), 3),
        else_=4,
    )
    open_requests = (
        select(
            BankAccount.currency.label("currency"),
            age.label("age"),
            (TrustRequest.amount_cents - TrustRequest.paid_cents).label("cents"),
        )
        .join(BankAccount, BankAccount.id == TrustRequest.bank_account_id)
        .where(TrustRequest.status.in_(OUTSTANDING))
        .subquery()
    )
    rows = db.session.execute(
        select(open_requests.c.currency, open_requests.c.age, func.count(), func.sum(open_requests.c.cents)).group_by(
            open_requests.c.currency, open_requests.c.age
        )
    )
    return _counted(rows, len(AGEING), AGEING_SHORT, None)
