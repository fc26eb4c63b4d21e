"""The firm's reports: what each one holds, computed from the books; the pages and CSV files only lay them out.

This module has the shapes every report shares (Column, Filters, Report) and the reports of trust requests
and payments; the ledger reports (client ledger, journal, balances) are in ledger_reports.py.

A Report has columns, rows (dicts keyed by column; a generator where the rows
may be many, so a CSV export streams in flat memory), totals and a summary.
Money is integer cents throughout. Balances "as of" a date are taken from the
ledger's current balance less what was dated after it, so the common case (a
recent date) reads few lines however long the history is.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from trustweb.database import per_transaction
from trustweb.extensions import db
from trustweb.models import (
    BankAccount,
    Contact,
    Matter,
    Payment,
    PaymentStatus,
    TrustRequest,
    User,
)
from trustweb.models.payments import RECEIVED
from trustweb.models.requests import OUTSTANDING, PAYABLE
from trustweb.services.trust import METHODS

AGEING = ("current", "1-30", "31-60", "61-90", "90+")
AGEING_LABELS = {
    "current": "Current",
    "1-30": "1–30 days",
    "31-60": "31–60 days",
    "61-90": "61–90 days",
    "90+": "Over 90",
}
REQUEST_STATUS_CHOICES = PAYABLE
HELD_KINDS = ("client", "firm", "shortfall")
ENTRY_KINDS = {
    "deposit": "Deposit",
    "disbursement": "Payment out",
    "transfer": "Transfer",
    "reversal": "Reversal",
}
# A spreadsheet runs a cell that begins with one of these as a formula (OWASP "CSV injection"); a payer's name is
# typed by the client on the pay page, so text cells that begin with one get a leading apostrophe, which Excel and
# LibreOffice show as text and do not display.
FORMULA_STARTS = "=+-@\t\r"

_Text = TypeVar("_Text", str, None)
# A report's row: its values by column key (and "_..." keys the pages link with).
ReportRow = dict[str, Any]


def spreadsheet_text(value: _Text) -> _Text:
    """Text for a CSV cell that a spreadsheet shows as text and never runs as a formula."""
    if value and value[0] in FORMULA_STARTS:
        return "'" + value
    return value


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text, money, date, number
    running: bool = False  # a running balance: each row carries the ones before, so rows are not added up

    @property
    def summed(self) -> bool:
        return self.kind == "money" and not self.running


@dataclass
class Filters:
    """What a report is narrowed to; None means everything."""

    date_from: date | None = None
    date_to: date | None = None
    as_of: date | None = None
    account: BankAccount | None = None
    lawyer: User | None = None
    matter: Matter | None = None
    contact: Contact | None = None  # with no matter: the client's funds held without a matter
    status: str | None = None


@dataclass
class Report:
    key: str
    title: str
    columns: list[Column]
    rows: Iterable[ReportRow]  # a list, or a generator for the long ones
    totals: dict[str, int] = field(default_factory=dict)
    # (label, value, kind) shown above the table and in the CSV
    summary: list[tuple[str, Any, str]] = field(default_factory=list)
    # (title, columns, rows) tables shown below the main one
    groups: list[tuple[str, list[Column], list[ReportRow]]] = field(default_factory=list)
    note: str | None = None
    # For an export too long to build a dict per row: batches of rows already as the CSV writes them (a generator).
    csv_batches: Iterable[Sequence[Sequence[Any]]] | None = None
    # The currency every amount is in (the account's, for a report of one account); None: the firm's. A report
    # whose rows span accounts of several currencies has none: each row names its own ("currency"), and its totals
    # are kept per currency instead of in `totals`, never added across two.
    currency: str | None = None
    totals_by_currency: dict[str, dict[str, int]] = field(default_factory=dict)


def firm_currencies() -> list[str]:
    """The currencies of the firm's bank accounts (asked once per transaction)."""
    return per_transaction(
        "firm currencies",
        lambda: list(db.session.scalars(select(BankAccount.currency).distinct().order_by(BankAccount.currency))),
    )


def currency_line(account: BankAccount) -> list[tuple[str, Any, str]]:
    """The summary line naming a one-account report's currency, in a firm that keeps more than one."""
    return [("Currency", account.currency, "text")] if len(firm_currencies()) > 1 else []


def money_item(label: str, by_currency: Mapping[str, int]) -> tuple[str, Any, str]:
    """A summary line of money kept per currency: the amount alone in a firm of one currency, else each
    currency's amount with its currency (written side by side, never added)."""
    if len(by_currency) == 1 and len(firm_currencies()) == 1:
        return (label, next(iter(by_currency.values())), "money")
    return (label, dict(sorted(by_currency.items())), "money")


def add(by_currency: dict[str, int], currency: str, cents: int) -> None:
    by_currency[currency] = by_currency.get(currency, 0) + cents


def settle_currencies(report: Report, rows: Sequence[ReportRow]) -> Report:
    """Rows that each carry their "currency": a report in one currency is in it; in several, a Currency column
    (also when the firm keeps accounts in several, so that its CSV has the same columns whatever the rows) and
    totals per currency."""
    currencies = sorted({row["currency"] for row in rows})
    if len(firm_currencies()) > 1 or len(currencies) > 1:
        at = next((i for i, c in enumerate(report.columns) if c.kind == "money"), len(report.columns))
        report.columns.insert(at, Column("currency", "Currency"))
    if len(currencies) <= 1:
        report.currency = currencies[0] if currencies else None
        return report
    summed = [column.key for column in report.columns if column.summed]
    report.totals_by_currency = {
        currency: {key: sum(row[key] or 0 for row in rows if row["currency"] == currency) for key in summed}
        for currency in currencies
    }
    report.totals = {}
    return report


def account_of(filters: Filters) -> BankAccount:
    """The trust account a ledger report is of: the view has chosen it (or the default) before building one."""
    if filters.account is None:
        raise ValueError("a ledger report is of one trust account; choose it before building the report")
    return filters.account


def ageing_bucket(days_overdue: int) -> str:
    if days_overdue <= 0:
        return "current"
    if days_overdue <= 30:
        return "1-30"
    if days_overdue <= 60:
        return "31-60"
    if days_overdue <= 90:
        return "61-90"
    return "90+"


def _lawyer_of_request(statement: Select[Any], lawyer: User) -> Select[Any]:
    return statement.where(
        TrustRequest.matter_id.in_(select(Matter.id).where(Matter.lawyer_id == lawyer.id))
        | (TrustRequest.matter_id.is_(None) & (TrustRequest.created_by_id == lawyer.id))
    )


def _narrow_requests(statement: Select[Any], filters: Filters) -> Select[Any]:
    if filters.account is not None:
        statement = statement.where(TrustRequest.bank_account_id == filters.account.id)
    if filters.lawyer is not None:
        statement = _lawyer_of_request(statement, filters.lawyer)
    if filters.matter is not None:
        statement = statement.where(TrustRequest.matter_id == filters.matter.id)
    elif filters.contact is not None:
        statement = statement.where(TrustRequest.contact_id == filters.contact.id)
    return statement


def open_requests(filters: Filters, today: date) -> Report:
    """Trust requests still to be paid, with how long they are overdue (as of a date) and the ageing totals."""
    as_of = filters.as_of or today
    statuses = (filters.status,) if filters.status else OUTSTANDING
    statement = (
        select(TrustRequest)
        .where(TrustRequest.status.in_(statuses), TrustRequest.issued_on <= as_of)
        .options(
            selectinload(TrustRequest.contact),
            selectinload(TrustRequest.matter).selectinload(Matter.lawyer),
            selectinload(TrustRequest.created_by),
            selectinload(TrustRequest.bank_account),
        )
        .order_by(TrustRequest.due_on.is_(None), TrustRequest.due_on, TrustRequest.id)
    )
    if filters.date_from is not None:
        statement = statement.where(TrustRequest.issued_on >= filters.date_from)
    if filters.date_to is not None:
        statement = statement.where(TrustRequest.issued_on <= filters.date_to)
    statement = _narrow_requests(statement, filters)
    rows: list[ReportRow] = []
    buckets: dict[str, dict[str, int]] = {bucket: {} for bucket in AGEING}
    totals = {"amount": 0, "paid": 0, "refunded": 0, "due": 0}
    for request in db.session.scalars(statement):
        overdue = (as_of - request.due_on).days if request.due_on is not None and request.due_on < as_of else 0
        bucket = ageing_bucket(overdue)
        rows.append(
            {
                "number": request.number,
                "client": request.contact.name,
                "matter": request.matter.number if request.matter else "Client funds",
                "lawyer": request.lawyer.name,
                "status": request.status_label,
                "issued": request.issued_on,
                "due_on": request.due_on,
                "amount": request.amount_cents,
                "paid": request.paid_cents,
                "refunded": request.refunded_cents,
                "due": request.due_cents,
                "currency": request.currency,
                "days_overdue": overdue,
                "ageing": AGEING_LABELS[bucket],
                "_id": request.id,
            }
        )
        add(buckets[bucket], request.currency, request.due_cents)
        totals["amount"] += request.amount_cents
        totals["paid"] += request.paid_cents
        totals["refunded"] += request.refunded_cents
        totals["due"] += request.due_cents
    columns = [
        Column("number", "Request"),
        Column("client", "Client"),
        Column("matter", "Matter"),
        Column("lawyer", "Lawyer"),
        Column("status", "Status"),
        Column("issued", "Issued", "date"),
        Column("due_on", "Due date", "date"),
        Column("amount", "Requested", "money"),
        Column("paid", "Paid", "money"),
        Column("refunded", "Refunded", "money"),
        Column("due", "Due", "money"),
        Column("days_overdue", "Days overdue", "number"),
        Column("ageing", "Ageing"),
    ]
    summary = [("As of", as_of, "date"), ("Open requests", len(rows), "number")]
    every = {row["currency"]: 0 for row in rows}  # each bucket names every currency, at zero where it has none
    summary += [money_item(AGEING_LABELS[b], {**every, **buckets[b]} if every else {}) for b in AGEING]
    note = None
    if as_of != today:
        note = (
            f"Days overdue are counted to {as_of.isoformat()}, for the requests issued by then; what was asked and "
            "paid is as it stands today."
        )
    report = Report("open-requests", "Open trust requests", columns, rows, totals, summary, note=note)
    return settle_currencies(report, rows)


def request_payments(filters: Filters, today: date) -> Report:
    """Payments received through trust requests, with the processor's fee; totals by method."""
    statement = (
        select(Payment, TrustRequest)
        .join(TrustRequest, TrustRequest.id == Payment.trust_request_id)
        .options(
            selectinload(TrustRequest.contact),
            selectinload(TrustRequest.matter),
            selectinload(Payment.bank_account),
        )
        .order_by(Payment.received_on, Payment.id)
    )
    if filters.status:
        statement = statement.where(Payment.status == filters.status)
    else:
        statement = statement.where(Payment.status.in_((*RECEIVED, PaymentStatus.PENDING)))
    if filters.date_from is not None:
        statement = statement.where(Payment.received_on >= filters.date_from)
    if filters.date_to is not None:
        statement = statement.where(Payment.received_on <= filters.date_to)
    statement = _narrow_requests(statement, filters)
    rows: list[ReportRow] = []
    totals = {"gross": 0, "fee": 0, "refunded": 0, "net": 0}
    received_totals: dict[str, dict[str, int]] = {}  # per currency: what the summary says was received
    # Per method and currency: a method's totals are never added across two currencies.
    by_method: defaultdict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: {"count": 0, "gross": 0, "fee": 0, "refunded": 0}
    )
    for payment, request in db.session.execute(statement):
        received = payment.status in RECEIVED
        currency = payment.currency
        rows.append(
            {
                "date": payment.received_on,
                "receipt": payment.receipt_number or "",
                "client": request.contact.name,
                "matter": request.matter.number if request.matter else "Client funds",
                "request": request.number,
                "method": METHODS.get(payment.method, payment.method),
                "processor": payment.processor,
                "reference": payment.processor_reference or "",
                "gross": payment.amount_cents,
                "fee": payment.fee_cents,
                "refunded": payment.refunded_cents,
                "status": payment.status_label,
                "currency": currency,
                "_request_id": request.id,
            }
        )
        if received:
            method = by_method[(METHODS.get(payment.method, payment.method), currency)]
            method["count"] += 1
            mine = received_totals.setdefault(currency, {"gross": 0, "fee": 0, "refunded": 0})
            for key, cents in (
                ("gross", payment.amount_cents),
                ("fee", payment.fee_cents),
                ("refunded", payment.refunded_cents),
            ):
                method[key] += cents
                totals[key] += cents
                mine[key] += cents
    totals["net"] = totals["gross"] - totals["fee"] - totals["refunded"]
    columns = [
        Column("date", "Date", "date"),
        Column("receipt", "Receipt"),
        Column("client", "Client"),
        Column("matter", "Matter"),
        Column("request", "Request"),
        Column("method", "Method"),
        Column("processor", "Processor"),
        Column("reference", "Reference"),
        Column("gross", "Gross", "money"),
        Column("fee", "Fee", "money"),
        Column("refunded", "Refunded", "money"),
        Column("status", "Status"),
    ]
    method_columns = [
        Column("method", "Method"),
        Column("count", "Payments", "number"),
        Column("gross", "Gross", "money"),
        Column("fee", "Fees", "money"),
        Column("refunded", "Refunded", "money"),
    ]
    method_rows = [
        {"method": name, "currency": currency, **figures} for (name, currency), figures in sorted(by_method.items())
    ]
    summary: list[tuple[str, Any, str]] = [("Payments received", sum(m["count"] for m in by_method.values()), "number")]
    for label, key in (("Gross", "gross"), ("Fees (paid from operating)", "fee"), ("Refunded", "refunded")):
        by_currency = {currency: mine[key] for currency, mine in received_totals.items()}
        summary.append(money_item(label, by_currency) if by_currency else (label, 0, "money"))
    report = Report("payments", "Payments through trust requests", columns, rows, totals, summary)
    settle_currencies(report, rows)
    if any(column.key == "currency" for column in report.columns):
        method_columns.insert(1, Column("currency", "Currency"))
    report.groups = [("Totals by method", method_columns, method_rows)]
    report.note = "Gross and fee totals count money received (succeeded, later refunded or disputed), not pending."
    return report
