"""Bank statements and the three-way reconciliation: import or type a statement, match its lines (htmx, in
place), sign the reconciliation; the signed report, printable, exactly as it was signed."""

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from trustweb.auth.permissions import requires
from trustweb.bankfiles import StatementFileError
from trustweb.extensions import db
from trustweb.models import BankAccount, BankStatement, JournalEntry, Reconciliation, StatementLine
from trustweb.reconcile import bp, csv_steps
from trustweb.reconcile.forms import ColumnsForm, EntryForm, ImportForm, SignForm, TypedStatementForm
from trustweb.refusals import REFUSALS, ServiceError
from trustweb.services import reconciliation as recon
from trustweb.services import statements
from trustweb.services.journal import locked_through
from trustweb.services.trust import firm_today
from trustweb.views import MAX_PAGE, get_or_404, is_htmx

# A statement's lines a page at a time (a busy account's has tens of thousands), as the journal report shows entries;
# the lists of outstanding items under the figures stop at a screenful. The figures always count everything.
LINES_PAGE = 100
ITEMS_SHOWN = 100


def trust_accounts():
    return db.session.scalars(
        select(BankAccount).where(BankAccount.kind == "trust").order_by(BankAccount.is_default.desc(), BankAccount.name)
    ).all()


@bp.get("/")
@requires("view")
def index():
    """Each trust account: when it was last reconciled, whether this month's is due, its statements and history."""
    today = firm_today()
    rows = []
    for account in trust_accounts():
        last, due = recon.due_for(account, today)
        rows.append((account, last, due, recon.statements_of(account)[:12], recon.history(account)[:24]))
    return render_template("reconcile/index.html", rows=rows, today=today)


def import_page(account, status=200, error=None, step=None, mapping=None):
    """The import form (as sent, after a refusal) beside the form for a statement typed from paper; for htmx, only
    its step (the error, a CSV's columns and preview), so the chosen file stays in its field."""
    context = {
        "account": account,
        "error": error,
        "step": step,
        "mapping": mapping or statements.saved_mapping(account),
        "form": ImportForm(source="csv"),  # what was sent, if anything; a CSV unless another kind was chosen
    }
    template = "reconcile/_import_step.html" if is_htmx() else "reconcile/import.html"
    return render_template(template, **context), status


@bp.get("/accounts/<int:account_id>/import")
@requires("reconcile")
def import_form(account_id):
    return import_page(_trust_account(account_id))


def _trust_account(account_id):
    account = get_or_404(BankAccount, account_id)
    if account.kind != "trust":
        abort(404)
    return account


@bp.post("/accounts/<int:account_id>/columns")
@requires("reconcile")
def csv_columns(account_id):
    """htmx, as soon as a CSV is chosen: its columns, to say which holds the date, the amount..."""
    account = _trust_account(account_id)
    try:
        step = csv_steps.choices_step(ColumnsForm().contents(), statements.saved_mapping(account))
    except StatementFileError as error:
        return render_template(
            "reconcile/_import_step.html", error=str(error), step=None, mapping={}, account=account
        ), 422
    return render_template("reconcile/_import_step.html", step=step, error=None, mapping={}, account=account)


@bp.post("/accounts/<int:account_id>/import")
@requires("reconcile")
def import_statement(account_id):
    """Import the file: all of it or, with the reason, nothing. A CSV is first shown as it will be read (the
    preview), and imported when its Confirm comes back with the same file and choices."""
    account = _trust_account(account_id)
    form = ImportForm()
    data, source, mapping = form.contents(), form.source.data or "", form.mapping()
    step = None
    try:
        if source == "csv":
            if form.confirm.data and not data:
                raise ServiceError(
                    "Attach the file again to import it: a browser does not keep a chosen file from one page to the "
                    "next."
                )
            step = csv_steps.choices_step(data, statements.saved_mapping(account), mapping)
            if not mapping["date"]:
                raise ServiceError(
                    "Choose which column holds the date and the amount; the rows are then shown as read."
                )
        if not form.validate():
            raise ServiceError(form.refusal())
        if step is not None and not form.back.data:
            csv_steps.preview_step(data, step, mapping, account)
        if step is not None and (form.back.data or form.confirm.data != step["token"]):
            return import_page(account, step=step)  # nothing kept yet: the choices, or the rows as they will be read
        statement, matched = statements.import_statement(
            account,
            source=source,
            filename=form.file.data.filename if form.file.data else None,
            data=data,
            user=current_user,
            mapping=mapping if source == "csv" else None,
            period_start=form.period_start.data,
            period_end=form.period_end.data,
            ending_balance_cents=form.ending_balance.cents,
        )
    except REFUSALS as error:
        db.session.rollback()
        return import_page(account, 422, str(error), step=step, mapping=mapping if mapping["date"] else None)
    flash(f"{statement.line_count} lines imported; {matched} matched to the journal automatically.", "success")
    target = url_for("reconciliations.statement", statement_id=statement.id)
    if is_htmx():
        # Not a 303: the browser would follow it inside htmx's request and swap the whole page into the form.
        return "", 204, {"HX-Redirect": target}
    return redirect(target, 303)


@bp.post("/accounts/<int:account_id>/typed")
@requires("reconcile")
def type_statement(account_id):
    account = _trust_account(account_id)
    form = TypedStatementForm()
    try:
        if not form.validate():
            raise ServiceError(form.refusal())
        statement = statements.type_statement(
            account,
            period_start=form.period_start.data,
            period_end=form.period_end.data,
            ending_balance_cents=form.ending_balance.cents,
            user=current_user,
        )
    except REFUSALS as error:
        db.session.rollback()
        return import_page(account, 422, str(error))
    flash("Statement saved; tick off the entries the bank shows.", "success")
    return redirect(url_for("reconciliations.statement", statement_id=statement.id), 303)


def workspace(statement, status=200, error=None, message=None):
    """The reconciliation page, or (htmx) its working part: totals, lines, outstanding items."""
    report = recon.three_way(statement)
    signed = db.session.scalar(select(Reconciliation).where(Reconciliation.statement_id == statement.id))
    page = lines_page(statement)
    context = {
        "statement": statement,
        "report": report,
        "signed": signed,
        "page": page,
        "lines": page.items,
        "unmatched_count": _count_unmatched(statement) if page.pages > 1 else None,
        "items_shown": ITEMS_SHOWN,
        "candidates": recon.candidates(statement, [line for line in page.items if line.entry_id is None]),
        "locked": locked_through(statement.bank_account_id),
        "earlier_unmatched": recon.earlier_unmatched(statement),
        "error": error,
        "message": message,
        "tickable": _tickable(statement) if statement.source == "typed" and signed is None else [],
        "currency": statement.bank_account.currency,  # every amount on the page is in the account's
    }
    template = "reconcile/_workspace.html" if is_htmx() else "reconcile/statement.html"
    return render_template(template, **context), status


def asked_page():
    """The page of lines asked for (?page=N, kept by the forms on it); None for the first."""
    number = request.args.get("page", type=int)
    return number if number and 1 < number <= MAX_PAGE else None


def lines_page(statement):
    """A page of the statement's lines: those still to match first, then the matched ones, each in the bank's order.
    A page past the end (its last lines just matched away) is the last page."""
    lines = (
        select(StatementLine)
        .options(selectinload(StatementLine.entry))
        .where(StatementLine.statement_id == statement.id)
        .order_by(StatementLine.entry_id.is_not(None), StatementLine.posted_on, StatementLine.id)
    )
    page = db.paginate(lines, page=asked_page() or 1, per_page=LINES_PAGE, error_out=False)
    if page.page > page.pages > 0:
        page = db.paginate(lines, page=page.pages, per_page=LINES_PAGE, error_out=False)
    return page


def _count_unmatched(statement):
    return db.session.scalar(
        select(func.count()).where(StatementLine.statement_id == statement.id, StatementLine.entry_id.is_(None))
    )


def _tickable(statement):
    """Journal entries of the period a typed statement may show: moved money, not yet on a statement."""
    amounts = statements.bank_amounts(
        statement.bank_account, start=statement.period_start - timedelta(days=90), end=statement.period_end
    )
    taken = set(
        db.session.scalars(
            select(StatementLine.entry_id).where(
                StatementLine.bank_account_id == statement.bank_account_id, StatementLine.entry_id.is_not(None)
            )
        )
    )
    ids = [entry_id for entry_id, amount in amounts.items() if amount and entry_id not in taken]
    entries = db.session.scalars(
        select(JournalEntry).where(JournalEntry.id.in_(ids)).order_by(JournalEntry.entry_date, JournalEntry.id)
    ).all()
    return [(entry, amounts[entry.id]) for entry in entries][:200]


@bp.get("/statements/<int:statement_id>")
@requires("view")
def statement(statement_id):
    return workspace(get_or_404(BankStatement, statement_id))


def _act(statement, action, done):
    try:
        action()
    except REFUSALS as error:
        db.session.rollback()
        db.session.refresh(statement)
        return workspace(statement, 422, error=str(error))
    if not is_htmx():
        flash(done, "success")
        return redirect(url_for("reconciliations.statement", statement_id=statement.id, page=asked_page()), 303)
    return workspace(statement, message=done)


def _chosen_entry():
    """The journal entry the form names; None for anything else (the service then asks for one of the account's)."""
    form = EntryForm()
    return db.session.get(JournalEntry, form.entry_id.data) if form.entry_id.data else None


def _line_of(statement, line_id):
    line = get_or_404(StatementLine, line_id)
    if line.statement_id != statement.id:
        abort(404)
    return line


@bp.post("/statements/<int:statement_id>/lines/<int:line_id>/match")
@requires("reconcile")
def match(statement_id, line_id):
    statement = get_or_404(BankStatement, statement_id)
    line = _line_of(statement, line_id)
    return _act(statement, lambda: statements.match(line, _chosen_entry(), current_user), "Line matched.")


@bp.post("/statements/<int:statement_id>/lines/<int:line_id>/unmatch")
@requires("reconcile")
def unmatch(statement_id, line_id):
    statement = get_or_404(BankStatement, statement_id)
    line = _line_of(statement, line_id)
    return _act(statement, lambda: statements.unmatch(line, current_user), "Line unmatched.")


@bp.post("/statements/<int:statement_id>/tick")
@requires("reconcile")
def tick(statement_id):
    statement = get_or_404(BankStatement, statement_id)
    return _act(statement, lambda: statements.tick(statement, _chosen_entry(), current_user), "Entry ticked.")


@bp.post("/statements/<int:statement_id>/auto-match")
@requires("reconcile")
def auto_match(statement_id):
    statement = get_or_404(BankStatement, statement_id)

    def run():
        count = statements.auto_match(statement.bank_account, current_user)
        db.session.commit()
        return count

    return _act(statement, run, "Matched what could be matched automatically.")


@bp.post("/statements/<int:statement_id>/delete")
@requires("reconcile")
def delete(statement_id):
    statement = get_or_404(BankStatement, statement_id)
    described = f"{statement.bank_account.name}: statement to {statement.period_end.isoformat()}"
    try:
        statements.delete_statement(statement, current_user)
    except REFUSALS as error:
        db.session.rollback()
        db.session.refresh(statement)
        return workspace(statement, 422, error=str(error))
    flash(f"{described} deleted; import or type it again.", "success")
    return redirect(url_for("reconciliations.index"), 303)


@bp.post("/statements/<int:statement_id>/sign")
@requires("reconcile")
def sign(statement_id):
    statement = get_or_404(BankStatement, statement_id)
    try:
        signed = recon.sign(statement, SignForm().explanation.data, current_user)
    except REFUSALS as error:
        db.session.rollback()
        db.session.refresh(statement)
        return workspace(statement, 422, error=str(error))
    flash(f"Reconciliation to {signed.period_end.isoformat()} signed; the period is locked.", "success")
    return redirect(url_for("reconciliations.signed", reconciliation_id=signed.id), 303)


@bp.get("/<int:reconciliation_id>")
@requires("view")
def signed(reconciliation_id):
    """The signed report, printable, from what was stored when it was signed."""
    reconciliation = get_or_404(Reconciliation, reconciliation_id)
    try:
        report = recon.stored_report(reconciliation)
    except ServiceError as error:
        return render_template("errors/error.html", title="Report tampered with", message=str(error), status=409), 409
    return render_template(
        "reconcile/signed.html",
        reconciliation=reconciliation,
        report=report,
        currency=reconciliation.bank_account.currency,
    )
