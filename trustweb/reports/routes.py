"""Reports: each on screen (filters applied by htmx, a printable layout) and as CSV (?format=csv, streamed).

The figures come from services/reports.py; the filters are read from the query
string by reports/forms.py (a bad one is a 400 with the reason, never a guess),
and here the report is laid out as a page, the table alone for htmx, or a CSV
file for Excel.
"""

from flask import render_template, request
from sqlalchemy import select

from trustweb.auth.permissions import requires
from trustweb.extensions import db
from trustweb.models import PAYMENT_STATUSES, REQUEST_STATUSES, BankAccount, User
from trustweb.models.base import utcnow
from trustweb.reports import bp
from trustweb.reports.export import csv_response, described, download, table_csv
from trustweb.reports.forms import FilterForm
from trustweb.services import books_export, evergreen, ledger_reports, reports
from trustweb.services.trust import firm_today
from trustweb.views import is_htmx, search_text

JOURNAL_PAGE = 100
# Printed, the rows go in blocks, each starting a page and ending in its subtotal: a block fits a Letter or A4 page
# even when some descriptions take two lines; the first page also carries the report's header and summary.
PRINT_ROWS = 25
PRINT_ROWS_FIRST = 15
# A report longer than this is shown a page at a time (its totals still count every row; the CSV has them all).
ROWS_PER_PAGE = 500
NO_MATTER_FOR_CSV = "Choose a matter first: the client ledger's CSV is one matter's ledger."

# Each report: its title, what it is for, the filters it takes, and whether it needs a trust account.
REPORTS = {
    "open-requests": (
        "Open trust requests",
        "What clients still owe on trust requests, how overdue, with ageing totals.",
        ("as_of", "from", "to", "account", "lawyer", "matter", "status"),
    ),
    "payments": (
        "Payments through trust requests",
        "Every payment received on a trust request, with the processor's fee; totals by method.",
        ("from", "to", "account", "lawyer", "matter", "status"),
    ),
    "client-ledger": (
        "Client ledger",
        "One matter's trust ledger (or a client's funds without a matter): opening balance, every entry with its "
        "running balance, closing balance.",
        ("from", "to", "account", "matter"),
    ),
    "journal": (
        "Trust account journal",
        "Every entry of a trust account in date order, with the running bank balance.",
        ("from", "to", "account"),
    ),
    "below-minimum": (
        "Matters below their evergreen minimum",
        "Open matters whose trust balance is below the minimum agreed with the client, with the top-up that "
        "restores the target.",
        ("lawyer",),
    ),
    "balances": (
        "Client trust balances",
        "Every client's balance in a trust account at the end of a day, and the proof that they add up to the "
        "account's journal balance.",
        ("as_of", "account", "lawyer", "matter"),
    ),
}
BUILDERS = {
    "open-requests": reports.open_requests,
    "payments": reports.request_payments,
    "client-ledger": ledger_reports.client_ledger,
    "balances": ledger_reports.client_balances,
    "below-minimum": evergreen.report,
}
STATUS_CHOICES = {
    "open-requests": {key: REQUEST_STATUSES[key] for key in reports.REQUEST_STATUS_CHOICES},
    "payments": PAYMENT_STATUSES,
}


def default_account(filters):
    """Reports of one trust account use the firm's default trust account unless another is chosen."""
    if filters.account is None:
        filters.account = db.session.scalar(
            select(BankAccount)
            .where(BankAccount.kind == "trust", BankAccount.active)
            .order_by(BankAccount.is_default.desc(), BankAccount.id)
        )
    return filters.account


def paged(report, context):
    """One page of a long report's rows, for the screen."""
    if report is None or not isinstance(report.rows, list) or len(report.rows) <= ROWS_PER_PAGE:
        return
    pages = -(-len(report.rows) // ROWS_PER_PAGE)
    page = request.args.get("page", 1, type=int)
    page = page if 1 <= page <= pages else 1
    first = (page - 1) * ROWS_PER_PAGE
    context.update(page=page, pages=pages, row_count=len(report.rows), first_row=first + 1)
    report.rows = report.rows[first : first + ROWS_PER_PAGE]
    context["last_row"] = first + len(report.rows)


def print_blocks(report, first_row):
    """The rows in printed pages' blocks, each with the numbers of its first and last row (counted through the
    whole report) and the subtotals of its money columns (not of a running balance)."""
    if report is None or not report.rows:
        return []
    # Rows of several currencies are never added: their printed pages carry no subtotals.
    summed = [column.key for column in report.columns if column.summed] if not report.totals_by_currency else []
    blocks = []
    starts = [0, *range(PRINT_ROWS_FIRST, len(report.rows), PRINT_ROWS)]
    for start, end in zip(starts, [*starts[1:], len(report.rows)], strict=True):
        rows = report.rows[start:end]
        totals = {key: sum(row.get(key) or 0 for row in rows) for key in summed}
        first = first_row + start
        blocks.append({"first": first, "last": first + len(rows) - 1, "rows": rows, "totals": totals})
    return blocks


def show(key, report, filters, status=200, error=None, **context):
    title, purpose, allowed = REPORTS[key]
    if "matter" in allowed:
        # The matter picker: the first matches of what was typed, each a link to the report of that matter.
        find = search_text("find")
        context.update(find=find, found=ledger_reports.matters_found(find), found_limit=ledger_reports.MATTERS_FOUND)
    paged(report, context)
    context["blocks"] = print_blocks(report, context.get("first_row", 1))
    context = {
        "key": key,
        "title": title,
        "purpose": purpose,
        "allowed": allowed,
        "report": report,
        "filters": filters,
        "described": described(filters),
        "generated_at": utcnow(),
        "error": error,
        "args": {k: v for k, v in request.args.items() if k in allowed or k == "client"},
        "accounts": db.session.scalars(
            select(BankAccount).where(BankAccount.kind == "trust").order_by(BankAccount.name)
        ).all(),
        "lawyers": db.session.scalars(select(User).where(User.role.in_(("admin", "lawyer"))).order_by(User.name)).all(),
        "statuses": STATUS_CHOICES.get(key, {}),
        **context,
    }
    template = "reports/_results.html" if is_htmx() else "reports/report.html"
    return render_template(template, **context), status


@bp.get("/")
@requires("view")
def index():
    """The list of reports the firm can run."""
    return render_template("reports/index.html", reports=REPORTS)


def run(key):
    form = FilterForm(request.args, REPORTS[key][2], STATUS_CHOICES.get(key, {}))
    if not form.validate():
        return show(key, None, reports.Filters(), 400, error=form.refusal())
    filters = form.filters
    if key in ("client-ledger", "balances", "journal") and default_account(filters) is None:
        return show(key, None, filters, 404, error="Add a trust account first: this report is of one.")
    if key == "client-ledger" and filters.matter is None and filters.contact is None:
        if request.args.get("format") == "csv":
            # Not the page in place of a file: the CSV is one ledger's, and none is chosen yet.
            return show(key, None, filters, 400, error=NO_MATTER_FOR_CSV, needs_matter=True)
        return show(key, None, filters, needs_matter=True)
    if key == "journal":
        return run_journal(filters)
    report = BUILDERS[key](filters, firm_today())
    if request.args.get("format") == "csv":
        return csv_response(report, filters, f"{key}-{firm_today().isoformat()}.csv")
    return show(key, report, filters)


def run_journal(filters):
    """The journal: a page at a time on screen (the running balance carried from the entries before the page),
    all of it streamed as CSV."""
    totals = ledger_reports.journal_totals(filters)
    if request.args.get("format") == "csv":
        report = ledger_reports.journal(filters, firm_today())
        report.summary = journal_summary(filters, totals)
        return csv_response(report, filters, f"journal-{filters.account.id}-{firm_today().isoformat()}.csv")
    pages = max(1, -(-totals["count"] // JOURNAL_PAGE))
    page = request.args.get("page", 1, type=int)
    page = page if 1 <= page <= pages else 1
    offset = (page - 1) * JOURNAL_PAGE
    report = ledger_reports.journal(filters, firm_today(), offset=offset, limit=JOURNAL_PAGE)
    report.summary = journal_summary(filters, totals)
    return show("journal", report, filters, page=page, pages=pages, first_row=offset + 1)


def journal_summary(filters, totals):
    return [
        ("Trust account", filters.account.name, "text"),
        *reports.currency_line(filters.account),
        ("Entries", totals["count"], "number"),
        ("Opening balance", totals["opening"], "money"),
        ("Deposits", totals["in"], "money"),
        ("Withdrawals", totals["out"], "money"),
        ("Closing balance", totals["closing"], "money"),
    ]


@bp.get("/open-requests")
@requires("view")
def open_requests():
    return run("open-requests")


@bp.get("/payments")
@requires("view")
def payments():
    return run("payments")


@bp.get("/client-ledger")
@requires("view")
def client_ledger():
    return run("client-ledger")


@bp.get("/journal")
@requires("view")
def journal():
    return run("journal")


@bp.get("/balances")
@requires("view")
def balances():
    return run("balances")


@bp.get("/below-minimum")
@requires("view")
def below_minimum():
    return run("below-minimum")


@bp.get("/books")
@requires("export_books")
def books():
    """The whole books out of TrustWeb: what the two files hold, and their downloads."""
    return render_template("reports/books.html", header=books_export.CSV_HEADER)


@bp.get("/books.csv")
@requires("export_books")
def books_csv():
    """Every journal line with its ledger, streamed as CSV."""
    filename = f"books-{firm_today().isoformat()}.csv"
    return download(table_csv(books_export.csv_batches()), "text/csv; charset=utf-8", filename)


@bp.get("/books.beancount")
@requires("export_books")
def books_beancount():
    """The whole books as a beancount file that bean-check accepts, streamed."""
    today = firm_today()
    chunks = books_export.beancount_text(today)
    return download(chunks, "text/plain; charset=utf-8", f"books-{today.isoformat()}.beancount")
