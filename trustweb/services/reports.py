"""The firm's reports: what each one holds, computed from the books; the pages and CSV files only lay them out.

A Report has columns, rows (dicts keyed by column; a generator where the rows
may be many, so a CSV export streams in flat memory), totals and a summary.
Money is integer cents throughout. Balances "as of" a date are taken from the
ledger's current balance less what was dated after it, so the common case (a
recent date) reads few lines however long the history is.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import String, case, cast, func, select
from sqlalchemy.orm import selectinload

from trustweb.extensions import db
from trustweb.ledger.money import plain_cents
from trustweb.ledger.rules import NORMAL_SIGN
from trustweb.models import (
    BankAccount,
    Contact,
    JournalEntry,
    JournalLine,
    LedgerAccount,
    Matter,
    Payment,
    TrustRequest,
    User,
)
from trustweb.services.trust import METHODS

AGEING = ("current", "1-30", "31-60", "61-90", "90+")
AGEING_LABELS = {
    "current": "Current",
    "1-30": "1–30 days",
    "31-60": "31–60 days",
    "61-90": "61–90 days",
    "90+": "Over 90",
}
OPEN_STATUSES = ("sent", "viewed", "partially_paid")
REQUEST_STATUS_CHOICES = ("draft", "sent", "viewed", "partially_paid")
PAYMENT_STATUS_CHOICES = ("pending", "succeeded", "failed", "refunded", "disputed")
RECEIVED = ("succeeded", "refunded", "disputed")  # money that came in (and may have gone back since)
HELD_KINDS = ("client", "firm", "shortfall")
ENTRY_KINDS = {
    "deposit": "Deposit",
    "disbursement": "Payment out",
    "transfer": "Transfer",
    "reversal": "Reversal",
}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text, money, date, number


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
    columns: list
    rows: object  # a list, or a generator for the long ones
    totals: dict = field(default_factory=dict)
    summary: list = field(default_factory=list)  # (label, value, kind) shown above the table and in the CSV
    groups: list = field(default_factory=list)  # (title, columns, rows) tables shown below the main one
    note: str | None = None
    # For an export too long to build a dict per row: rows already as the CSV writes them (a generator).
    csv_rows: object = None


def ageing_bucket(days_overdue):
    if days_overdue <= 0:
        return "current"
    if days_overdue <= 30:
        return "1-30"
    if days_overdue <= 60:
        return "31-60"
    if days_overdue <= 90:
        return "61-90"
    return "90+"


def _lawyer_of_request(statement, lawyer):
    return statement.where(
        TrustRequest.matter_id.in_(select(Matter.id).where(Matter.lawyer_id == lawyer.id))
        | (TrustRequest.matter_id.is_(None) & (TrustRequest.created_by_id == lawyer.id))
    )


def _narrow_requests(statement, filters):
    if filters.account is not None:
        statement = statement.where(TrustRequest.bank_account_id == filters.account.id)
    if filters.lawyer is not None:
        statement = _lawyer_of_request(statement, filters.lawyer)
    if filters.matter is not None:
        statement = statement.where(TrustRequest.matter_id == filters.matter.id)
    elif filters.contact is not None:
        statement = statement.where(TrustRequest.contact_id == filters.contact.id)
    return statement


def open_requests(filters, today):
    """Trust requests still to be paid, with how long they are overdue (as of a date) and the ageing totals."""
    as_of = filters.as_of or today
    statuses = (filters.status,) if filters.status else OPEN_STATUSES
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
    rows, buckets = [], dict.fromkeys(AGEING, 0)
    totals = {"amount": 0, "paid": 0, "due": 0}
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
                "due": request.due_cents,
                "days_overdue": overdue,
                "ageing": AGEING_LABELS[bucket],
                "_id": request.id,
            }
        )
        buckets[bucket] += request.due_cents
        totals["amount"] += request.amount_cents
        totals["paid"] += request.paid_cents
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
        Column("due", "Due", "money"),
        Column("days_overdue", "Days overdue", "number"),
        Column("ageing", "Ageing"),
    ]
    summary = [("As of", as_of, "date"), ("Open requests", len(rows), "number")]
    summary += [(AGEING_LABELS[b], buckets[b], "money") for b in AGEING]
    return Report("open-requests", "Open trust requests", columns, rows, totals, summary)


def request_payments(filters, today):
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
        statement = statement.where(Payment.status.in_(RECEIVED + ("pending",)))
    if filters.date_from is not None:
        statement = statement.where(Payment.received_on >= filters.date_from)
    if filters.date_to is not None:
        statement = statement.where(Payment.received_on <= filters.date_to)
    statement = _narrow_requests(statement, filters)
    rows = []
    totals = {"gross": 0, "fee": 0, "refunded": 0, "net": 0}
    by_method = defaultdict(lambda: {"count": 0, "gross": 0, "fee": 0, "refunded": 0})
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


def _signed(ledger_kind):
    return NORMAL_SIGN[ledger_kind]


def client_ledger(filters, today):
    """One client ledger (a matter's, or the client's funds without a matter) over a date range, with the opening
    balance, each entry's running balance, and the closing balance."""
    ledger = _client_ledger_of(filters)
    columns = [
        Column("date", "Date", "date"),
        Column("entry", "Entry"),
        Column("description", "Description"),
        Column("counterparty", "Paid by / to"),
        Column("reference", "Reference"),
        Column("in", "In", "money"),
        Column("out", "Out", "money"),
        Column("balance", "Balance", "money"),
    ]
    if ledger is None:
        return Report("client-ledger", "Client ledger", columns, [], note="Nothing has been held for this client.")
    sign = _signed(ledger.kind)
    lines = (
        select(
            JournalEntry.id,
            JournalEntry.entry_date,
            JournalEntry.description,
            JournalEntry.counterparty,
            JournalEntry.reference,
            JournalLine.amount_cents,
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalLine.ledger_account_id == ledger.id)
    )
    opening = 0
    if filters.date_from is not None:
        opening = sign * _balance_before(ledger.id, filters.date_from)
        lines = lines.where(JournalEntry.entry_date >= filters.date_from)
    if filters.date_to is not None:
        lines = lines.where(JournalEntry.entry_date <= filters.date_to)
    rows, balance = [], opening
    totals = {"in": 0, "out": 0}
    for entry_id, entry_date, description, counterparty, reference, amount in db.session.execute(
        lines.order_by(JournalEntry.entry_date, JournalEntry.id)
    ):
        natural = sign * amount
        balance += natural
        rows.append(
            {
                "date": entry_date,
                "entry": f"J-{entry_id:06d}",
                "description": description,
                "counterparty": counterparty or "",
                "reference": reference or "",
                "in": natural if natural > 0 else None,
                "out": -natural if natural < 0 else None,
                "balance": balance,
                "_entry_id": entry_id,
            }
        )
        totals["in" if natural > 0 else "out"] += abs(natural)
    totals["balance"] = balance
    summary = [
        ("Ledger", ledger.name, "text"),
        ("Trust account", ledger.bank_account.name, "text"),
        ("Opening balance", opening, "money"),
        ("Money in", totals["in"], "money"),
        ("Money out", totals["out"], "money"),
        ("Closing balance", balance, "money"),
    ]
    return Report("client-ledger", f"Client ledger: {ledger.name}", columns, rows, totals, summary)


def _client_ledger_of(filters):
    if filters.matter is None and filters.contact is None:
        return None
    contact_id = filters.matter.client_id if filters.matter is not None else filters.contact.id
    matter_part = filters.matter.id if filters.matter is not None else "-"
    statement = select(LedgerAccount).where(LedgerAccount.kind == "client", LedgerAccount.contact_id == contact_id)
    keys = [f"client:{filters.account.id}:{contact_id}:{matter_part}"] if filters.account is not None else None
    if keys is not None:
        statement = statement.where(LedgerAccount.key.in_(keys))
    elif filters.matter is not None:
        statement = statement.where(LedgerAccount.matter_id == filters.matter.id)
    else:
        statement = statement.where(LedgerAccount.matter_id.is_(None))
    return db.session.scalars(statement.order_by(LedgerAccount.id)).first()


def bank_ledger(account):
    return db.session.scalar(select(LedgerAccount).where(LedgerAccount.key == f"bank:{account.id}"))


def _balance_before(ledger_id, day):
    """A ledger's summed line amounts dated before the day (its raw sign)."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(JournalLine.amount_cents), 0))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .where(JournalLine.ledger_account_id == ledger_id, JournalEntry.entry_date < day)
        )
    )


JOURNAL_COLUMNS = [
    Column("date", "Date", "date"),
    Column("entry", "Entry"),
    Column("kind", "Kind"),
    Column("description", "Description"),
    Column("counterparty", "Paid by / to"),
    Column("reference", "Reference"),
    Column("in", "Deposits", "money"),
    Column("out", "Withdrawals", "money"),
    Column("balance", "Balance", "money"),
]


def journal_statement(account, filters):
    """The trust account's entries in date order, each with what it did to the bank balance (0 for a transfer
    between two ledgers); Core rows, so a long export reads them without building objects."""
    ledger = bank_ledger(account)
    bank_line = (
        select(JournalLine.entry_id, JournalLine.amount_cents)
        .where(JournalLine.ledger_account_id == (ledger.id if ledger is not None else -1))
        .subquery()
    )
    statement = (
        select(
            JournalEntry.id,
            JournalEntry.entry_date,
            JournalEntry.kind,
            JournalEntry.description,
            JournalEntry.counterparty,
            JournalEntry.reference,
            func.coalesce(bank_line.c.amount_cents, 0),
        )
        .outerjoin(bank_line, bank_line.c.entry_id == JournalEntry.id)
        .where(JournalEntry.bank_account_id == account.id)
    )
    if filters.date_from is not None:
        statement = statement.where(JournalEntry.entry_date >= filters.date_from)
    if filters.date_to is not None:
        statement = statement.where(JournalEntry.entry_date <= filters.date_to)
    return statement.order_by(JournalEntry.entry_date, JournalEntry.id), ledger


def journal_rows(rows, opening):
    """Rows of the journal with their running balance, one at a time."""
    balance = opening
    for entry_id, entry_date, kind, description, counterparty, reference, amount in rows:
        balance += amount
        yield {
            "date": entry_date,
            "entry": f"J-{entry_id:06d}",
            "kind": ENTRY_KINDS.get(kind, kind),
            "description": description,
            "counterparty": counterparty or "",
            "reference": reference or "",
            "in": amount if amount > 0 else None,
            "out": -amount if amount < 0 else None,
            "balance": balance,
            "_entry_id": entry_id,
        }


def _streamed_csv(statement, opening):
    """The journal as CSV rows, read in batches from a server-side cursor with Core (no objects). The query runs
    only once iterated, so a streamed response opens it after the request's own work (and its commits) are
    done. Dates come as the database's ISO text."""
    statement = statement.with_only_columns(
        statement.selected_columns[0],
        cast(JournalEntry.entry_date, String(10)),
        *statement.selected_columns[2:],
    )
    result = db.session.connection().execute(statement.execution_options(yield_per=5_000))
    balance = opening
    kinds = ENTRY_KINDS
    for entry_id, entry_date, kind, description, counterparty, reference, amount in result:
        balance += amount
        yield (
            entry_date,
            f"J-{entry_id:06d}",
            kinds.get(kind, kind),
            description,
            counterparty or "",
            reference or "",
            plain_cents(amount) if amount > 0 else "",
            plain_cents(-amount) if amount < 0 else "",
            plain_cents(balance),
        )


def journal(filters, today, *, offset=0, limit=None):
    """The trust account journal: every entry in order, with the running bank balance. With a limit, one page of
    it (the running balance still counts every entry before the page); without, a generator of all of it."""
    account = filters.account
    statement, ledger = journal_statement(account, filters)
    opening = _balance_before(ledger.id, filters.date_from) if ledger is not None and filters.date_from else 0
    if offset:
        before = statement.with_only_columns(statement.selected_columns[-1]).limit(offset).subquery()
        opening += int(db.session.scalar(select(func.coalesce(func.sum(before.c[0]), 0))))
    summary = [("Trust account", account.name, "text"), ("Opening balance", opening, "money")]
    report = Report("journal", f"Trust account journal: {account.name}", JOURNAL_COLUMNS, [], {}, summary)
    if limit is not None:
        report.rows = list(journal_rows(db.session.execute(statement.offset(offset).limit(limit)), opening))
    else:
        report.csv_rows = _streamed_csv(statement, opening)
    return report


def journal_totals(filters):
    """Opening balance, deposits, withdrawals, closing balance and the count of entries for the filtered range."""
    statement, ledger = journal_statement(filters.account, filters)
    inner = statement.order_by(None).subquery()
    amount = inner.c[6]
    count, deposits, withdrawals = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((amount > 0, amount), else_=0)), 0),
            func.coalesce(func.sum(case((amount < 0, -amount), else_=0)), 0),
        ).select_from(inner)
    ).one()
    deposits, withdrawals = int(deposits), int(withdrawals)
    opening = _balance_before(ledger.id, filters.date_from) if ledger is not None and filters.date_from else 0
    return {
        "count": count,
        "opening": opening,
        "in": deposits,
        "out": withdrawals,
        "closing": opening + deposits - withdrawals,
    }


def held_balances(account, as_of):
    """Every ledger of the trust account as of the end of a day: {ledger id: natural balance}, and the bank's."""
    after = dict(
        db.session.execute(
            select(JournalLine.ledger_account_id, func.sum(JournalLine.amount_cents))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .where(JournalEntry.bank_account_id == account.id, JournalEntry.entry_date > as_of)
            .group_by(JournalLine.ledger_account_id)
        ).all()
    )
    ledgers = db.session.execute(
        select(LedgerAccount.id, LedgerAccount.kind, LedgerAccount.balance_cents).where(
            LedgerAccount.bank_account_id == account.id
        )
    ).all()
    balances = {}
    for ledger_id, kind, balance in ledgers:
        sign = NORMAL_SIGN[kind]
        balances[ledger_id] = balance - sign * int(after.get(ledger_id, 0))
    return balances


def client_balances(filters, today):
    """Every client ledger of the trust account with its balance at the end of a day, and the proof: their total
    (with the firm's own money and what the firm owes) equals the account's journal balance."""
    account = filters.account
    as_of = filters.as_of or today
    balances = held_balances(account, as_of)
    statement = (
        select(
            LedgerAccount.id,
            LedgerAccount.kind,
            Contact.name,
            Matter.number,
            Matter.description,
            User.name,
            Matter.lawyer_id,
            LedgerAccount.matter_id,
            LedgerAccount.contact_id,
        )
        .outerjoin(Contact, Contact.id == LedgerAccount.contact_id)
        .outerjoin(Matter, Matter.id == LedgerAccount.matter_id)
        .outerjoin(User, User.id == Matter.lawyer_id)
        .where(LedgerAccount.bank_account_id == account.id, LedgerAccount.kind.in_(HELD_KINDS))
        .order_by(LedgerAccount.kind, Contact.name, Matter.number, LedgerAccount.id)
    )
    rows, total_held = [], 0
    narrowed = filters.lawyer is not None or filters.matter is not None or filters.contact is not None
    bank = bank_ledger(account)
    for ledger_id, kind, client, number, description, lawyer, lawyer_id, matter_id, contact_id in db.session.execute(
        statement
    ):
        balance = balances.get(ledger_id, 0)
        total_held += balance
        if balance == 0:
            continue
        if filters.lawyer is not None and lawyer_id != filters.lawyer.id:
            continue
        if filters.matter is not None and matter_id != filters.matter.id:
            continue
        if filters.contact is not None and filters.matter is None and contact_id != filters.contact.id:
            continue
        if kind == "client":
            name, matter = client, f"{number} · {description}" if number else "Client funds (no matter)"
        elif kind == "firm":
            name, matter = "Firm's own funds", ""
        else:
            name, matter = "Owed by the firm (fees and chargebacks to replace)", ""
        rows.append({"client": name, "matter": matter, "lawyer": lawyer or "", "balance": balance})
    journal_balance = balances.get(bank.id, 0) if bank is not None else 0
    listed = sum(row["balance"] for row in rows)
    columns = [
        Column("client", "Client"),
        Column("matter", "Matter"),
        Column("lawyer", "Lawyer"),
        Column("balance", "Balance", "money"),
    ]
    summary = [
        ("Trust account", account.name, "text"),
        ("As of the end of", as_of, "date"),
        ("Client ledgers listed", len(rows), "number"),
        ("Total of all client ledgers", total_held, "money"),
        ("Trust account journal balance", journal_balance, "money"),
        ("Difference", journal_balance - total_held, "money"),
    ]
    report = Report("balances", f"Client trust balances: {account.name}", columns, rows, {"balance": listed}, summary)
    if narrowed:
        report.note = (
            "Narrowed by lawyer, client or matter: the table lists part of the ledgers; "
            "the totals above are the whole account's."
        )
    return report


def dashboard_figures(today):
    """The Dashboard's money at a glance: open and overdue trust requests, and payments received this month."""
    due = TrustRequest.amount_cents - TrustRequest.paid_cents
    count, open_cents, overdue_cents = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(due), 0),
            func.coalesce(func.sum(case((TrustRequest.due_on < today, due), else_=0)), 0),
        ).where(TrustRequest.status.in_(OPEN_STATUSES))
    ).one()
    month_count, month_cents = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Payment.amount_cents), 0)).where(
            Payment.status.in_(RECEIVED), Payment.received_on >= today.replace(day=1), Payment.received_on <= today
        )
    ).one()
    return {
        "open_count": count,
        "open_cents": int(open_cents),
        "overdue_cents": int(overdue_cents),
        "month_count": month_count,
        "month_cents": int(month_cents),
    }
