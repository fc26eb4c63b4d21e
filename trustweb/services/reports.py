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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import selectinload

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
        )
        .order_by(TrustRequest.due_on.is_(None), TrustRequest.due_on, TrustRequest.id)
    )
    if filters.date_from is not None:
        statement = statement.where(TrustRequest.issued_on >= filters.date_from)
    if filters.date_to is not None:
        statement = statement.where(TrustRequest.issued_on <= filters.date_to)
    statement = _narrow_requests(statement, filters)
    rows: list[ReportRow] = []
    buckets = dict.fromkeys(AGEING, 0)
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
                "days_overdue": overdue,
                "ageing": AGEING_LABELS[bucket],
                "_id": request.id,
            }
        )
        buckets[bucket] += request.due_cents
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
    summary += [(AGEING_LABELS[b], buckets[b], "money") for b in AGEING]
    note = None
    if as_of != today:
        note = (
            f"Days overdue are counted to {as_of.isoformat()}, for the requests issued by then; what was asked and "
            "paid is as it stands today."
        )
    return Report("open-requests", "Open trust requests", columns, rows, totals, summary, note=note)


def request_payments(filters: Filters, today: date) -> Report:
    """Payments received through trust requests, with the processor's fee; totals by method."""
    statement = (
        select(Payment, TrustRequest)
        .join(TrustRequest, TrustRequest.id == Payment.trust_request_id)
        .options(
            selectinload(TrustRequest.contact),
            selectinload(TrustRequest.matter),
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
    by_method: defaultdict[str, dict[str, int]] = defaultdict(lambda: {"count": 0, "gross": 0, "fee": 0, "refunded": 0})
    for payment, request in db.session.execute(statement):
        received = payment.status in RECEIVED
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
                "_request_id": request.id,
            }
        )
        if received:
            method = by_method[METHODS.get(payment.method, payment.method)]
            method["count"] += 1
            for key, cents in (("gross", payment.amount_cents), ("fee", payment.fee_cents)):
                method[key] += cents
                totals[key] += cents
            method["refunded"] += payment.refunded_cents
            totals["refunded"] += payment.refunded_cents
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
    method_rows = [{"method": name, **figures} for name, figures in sorted(by_method.items())]
    summary = [
        ("Payments received", sum(m["count"] for m in by_method.values()), "number"),
        ("Gross", totals["gross"], "money"),
        ("Fees (paid from operating)", totals["fee"], "money"),
        ("Refunded", totals["refunded"], "money"),
    ]
    report = Report("payments", "Payments through trust requests", columns, rows, totals, summary)
    report.groups = [("Totals by method", method_columns, method_rows)]
    report.note = "Gross and fee totals count money received (succeeded, later refunded or disputed), not pending."
    return report


def dashboard_figures(today: date) -> dict[str, Any]:
    """The Dashboard's money at a glance: open and overdue trust requests, and payments received this month; each
    sum per currency (the currency of the account the money is asked into or was paid into), never one across
    two."""
    due = TrustRequest.amount_cents - TrustRequest.paid_cents
    asked = db.session.execute(
        select(
            BankAccount.currency,
            func.count(),
            func.coalesce(func.sum(due), 0),
            func.coalesce(func.sum(case((TrustRequest.due_on < today, due), else_=0)), 0),
        )
        .join(BankAccount, BankAccount.id == TrustRequest.bank_account_id)
        .where(TrustRequest.status.in_(OUTSTANDING))
        .group_by(BankAccount.currency)
    ).all()
    received = db.session.execute(
        select(BankAccount.currency, func.count(), func.coalesce(func.sum(Payment.amount_cents), 0))
        .join(BankAccount, BankAccount.id == Payment.bank_account_id)
        .where(Payment.status.in_(RECEIVED), Payment.received_on >= today.replace(day=1), Payment.received_on <= today)
        .group_by(BankAccount.currency)
    ).all()
    return {
        "open_count": sum(count for _, count, _, _ in asked),
        "open": {currency: int(cents) for currency, _, cents, _ in asked},
        "overdue": {currency: int(cents) for currency, _, _, cents in asked if cents},
        "month_count": sum(count for _, count, _ in received),
        "month": {currency: int(cents) for currency, _, cents in received},
    }
