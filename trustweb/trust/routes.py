from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from trustweb.auth.permissions import can, requires
from trustweb.forms import query_id
from trustweb.models import BankAccount, JournalEntry
from trustweb.reports.export import download, table_csv
from trustweb.services import fees
from trustweb.services import trust as trust_service
from trustweb.services.ledger_reports import bank_ledger, operating_ledger, register_batches
from trustweb.trust import bp
from trustweb.trust.accounts import HELD_FILTERS, held_filter, held_ledgers, held_page, held_totals, journal_page
from trustweb.trust.forms import (
    ClearForm,
    DepositForm,
    DisbursementForm,
    ReplaceShortfallForm,
    ReverseForm,
    TransferForm,
)
from trustweb.trust.ledgers import destination_holder, destinations, ledger_url, matter_suggestions, resolve
from trustweb.trust.panels import panel_context
from trustweb.views import (
    attempt,
    button_action,
    form_page,
    get_or_404,
    is_htmx,
    page_or_partial,
    search_text,
)

SCOPE_RULES = ("/matters/<int:ident>", "/clients/<int:ident>", "/accounts/<int:ident>/firm")


def scoped(path="", **options):
    """Register a view under the matter, client and firm forms of a ledger URL."""

    def decorate(view):
        for rule, scope in zip(SCOPE_RULES, ("matter", "client", "firm"), strict=True):
            bp.add_url_rule(rule + path, view_func=view, defaults={"scope": scope}, **options)
        return view

    return decorate


def show_panel(scope, status=200, message=None, **forms):
    """The trust panel for htmx, or the ledger page around it for a browser."""
    context = panel_context(scope, message, **forms)
    template = "trust/_panel.html" if is_htmx() else "trust/ledger.html"
    return render_template(template, **context), status


@scoped(methods=["GET"])
@requires("view")
def ledger(scope, ident):
    """A client's trust ledger for a matter or client funds, or the firm's own funds."""
    scope = resolve(scope, ident)
    if is_htmx() and request.headers.get("HX-Target") == "ledger-table":
        # The table's own refresh (a page, a date filter, or its poll): the balances come along out of band.
        return render_template("trust/_ledger_rows.html", live=True, **panel_context(scope))
    return show_panel(scope)


def run_action(scope, name, form, action):
    """Validate, call the service, and answer with the refreshed panel (htmx) or a redirect."""
    if form.validate_on_submit():
        done, entry = attempt(form, action)
        if done:
            message = f"{entry.number} recorded: {entry.description}."
            if is_htmx():
                return show_panel(scope, message=message)
            flash(message, "success")
            return redirect(scope.url(), 303)
    return show_panel(scope, 422, **{name: form, "open_form": name})


def acting_user():
    return current_user._get_current_object()


@scoped("/deposit", methods=["POST"])
@requires("record_deposit")
def deposit(scope, ident):
    """Record money received into trust."""
    scope = resolve(scope, ident)
    form = DepositForm()
    return run_action(
        scope,
        "deposit",
        form,
        lambda: trust_service.record_deposit(
            account=scope.account,
            holder=scope.holder,
            amount_cents=form.amount.cents,
            entry_date=form.entry_date.data,
            method=form.method.data,
            payer=form.payer.data,
            reference=form.text("reference"),
            description=form.text("description"),
            cleared=form.cleared.data,
            user=acting_user(),
        ),
    )


@scoped("/disburse", methods=["POST"])
@requires("disburse_trust")
def disburse(scope, ident):
    """Pay money out of trust."""
    scope = resolve(scope, ident)
    form = DisbursementForm()
    return run_action(
        scope,
        "disburse",
        form,
        lambda: trust_service.record_disbursement(
            account=scope.account,
            holder=scope.holder,
            amount_cents=form.amount.cents,
            entry_date=form.entry_date.data,
            payee=form.payee.data,
            description=form.description.data,
            method=form.method.data,
            cheque_number=form.text("cheque_number"),
            reference=form.text("reference"),
            override_reason=form.text("override_reason"),
            user=acting_user(),
        ),
    )


@scoped("/transfer", methods=["POST"])
@requires("disburse_trust")
def transfer(scope, ident):
    """Move money from this ledger to another in the same trust account."""
    scope = resolve(scope, ident)
    form = TransferForm()
    form.destination.choices = destinations(scope, form.destination.data)
    return run_action(
        scope,
        "transfer",
        form,
        lambda: trust_service.transfer(
            account=scope.account,
            source=scope.holder,
            destination=destination_holder(form.destination.data, form.other_matter.data),
            amount_cents=form.amount.cents,
            entry_date=form.entry_date.data,
            reason=form.text("reason"),
            user=acting_user(),
        ),
    )


@bp.get("/matter-numbers")
@requires("disburse_trust")
def matter_numbers():
    """The transfer form's matter picker: options for its datalist, the first open matters matching what is typed."""
    text = search_text(TransferForm.prefix_name + "-other_matter") or search_text()
    matters = matter_suggestions(text, query_id("except_client", "client"))
    return render_template("trust/_matter_options.html", matters=matters)


def entry_page(entry, reverse_form=None, clear_form=None, status=200):
    ledgers = {line.ledger_account for line in entry.lines}
    back = next((ledger for ledger in ledgers if ledger.kind != "bank"), None)
    return render_template(
        "trust/entry.html",
        entry=entry,
        back=back,
        reverse_form=reverse_form or ReverseForm(formdata=None),
        clear_form=clear_form or ClearForm(formdata=None),
    ), status


@bp.get("/entries/<int:entry_id>")
@requires("view")
def entry(entry_id):
    """One journal entry: its lines, whether it cleared, and whether it was reversed."""
    return entry_page(readable_entry(entry_id))


def readable_entry(entry_id):
    """The entry, or 404; or 403 when it is of the firm's own books only (no trust account in it) and the user may
    not read those (read_operating, as the operating register): its page is shown again by a refused POST too."""
    found = get_or_404(JournalEntry, entry_id)
    firms_own = all(line.ledger_account.bank_account.kind != "trust" for line in found.lines)
    if firms_own and not can(current_user, "read_operating"):
        abort(403)
    return found


@bp.post("/entries/<int:entry_id>/reverse")
@requires("disburse_trust")
def reverse(entry_id):
    """Reverse a mistaken entry with a mirror entry that points back at it."""
    original = readable_entry(entry_id)
    form = ReverseForm()
    return form_page(
        form,
        "trust/entry.html",
        lambda: trust_service.reverse(
            original, reason=form.reason.data, entry_date=form.entry_date.data, user=acting_user()
        ),
        lambda reversal: (
            f"{original.number} is reversed by {reversal.number}.",
            url_for("trust.entry", entry_id=reversal.id),
        ),
        entry=original,
        reverse_form=form,
        clear_form=ClearForm(formdata=None),
        back=None,
    )


@bp.post("/entries/<int:entry_id>/clear")
@requires("clear_deposits")
def clear(entry_id):
    """The bank has cleared a deposit."""
    deposit_entry = readable_entry(entry_id)
    form = ClearForm()
    if not form.validate_on_submit():
        return entry_page(deposit_entry, clear_form=form, status=422)
    return button_action(
        lambda: trust_service.mark_cleared(deposit_entry, cleared_on=form.cleared_on.data, user=acting_user()),
        lambda cleared: f"{cleared.number} is cleared: its funds are available.",
        url_for("trust.entry", entry_id=deposit_entry.id),
    )


def trust_account(account_id):
    """The trust account of the address; another kind of account is sent to the settings, where its page is."""
    account = get_or_404(BankAccount, account_id)
    if account.kind != "trust":
        abort(redirect(url_for("settings.accounts"), 303))
    return account


def held_context(account, query="", show="held"):
    """The first or asked-for page of who the money belongs to, with the account's totals."""
    totals = held_totals(account)
    return {
        "account": account,
        "held": held_page(held_ledgers(account, query, show), None if query else totals.counts[show]),
        "totals": totals,
        "q": query,
        "show": show,
        "filters": HELD_FILTERS,
        "ledger_url": ledger_url,
    }


@bp.get("/accounts/<int:account_id>")
@requires("view")
def account(account_id):
    """A trust account: its journal with the running bank balance, and what it holds for whom; an operating account:
    its register, which is the firm's own books (fees, processor fees, transfers): read_operating only."""
    bank_account = get_or_404(BankAccount, account_id)
    if bank_account.kind != "trust":
        if not can(current_user, "read_operating"):
            abort(403)
        return register(bank_account)
    bank = bank_ledger(bank_account)
    journal = journal_page(bank)
    if is_htmx():
        # The journal's pager: the held list has its own address (held, below).
        return render_template("trust/_journal_rows.html", account=bank_account, journal=journal)
    context = held_context(bank_account)
    return render_template("trust/account.html", bank=bank, journal=journal, **context)


def register(bank_account):
    """An operating account's register: its entries newest first with the running balance, a page at a time (by the
    same keyset links as a trust account's journal); htmx gets the page of rows alone."""
    ledger = operating_ledger(bank_account)
    journal = journal_page(ledger)
    if is_htmx():
        return render_template("trust/_register_rows.html", account=bank_account, journal=journal)
    return render_template("trust/register.html", account=bank_account, ledger=ledger, journal=journal)


@bp.get("/accounts/<int:account_id>/register.csv")
@requires("read_operating")
def register_csv(account_id):
    """An operating account's whole register as CSV, streamed."""
    bank_account = get_or_404(BankAccount, account_id)
    if bank_account.kind == "trust":
        abort(404)  # a trust account's journal is the Reports tab's, with its filters
    filename = f"register-{bank_account.id}-{trust_service.firm_today().isoformat()}.csv"
    batches = register_batches(operating_ledger(bank_account))
    return download(table_csv(batches), "text/csv; charset=utf-8", filename)


@bp.get("/accounts/<int:account_id>/ledgers")
@requires("view")
def held(account_id):
    """Who the money in a trust account belongs to, a page at a time, searchable; htmx gets only the rows."""
    context = held_context(trust_account(account_id), search_text(), held_filter())
    return page_or_partial("trust/held.html", "trust/_held_rows.html", **context)


@bp.post("/accounts/<int:account_id>/replace-shortfall")
@requires("clear_deposits")
def replace_shortfall(account_id):
    """The firm puts back from operating what a processor kept or took from this trust account."""
    account = get_or_404(BankAccount, account_id)
    form = ReplaceShortfallForm()
    if not form.validate_on_submit():
        flash("Enter the amount and the date of the transfer from operating.", "error")
        return redirect(url_for("main.dashboard"), 303)
    return button_action(
        lambda: fees.replace_shortfall(
            account, form.amount.cents, form.entry_date.data, form.text("reference"), acting_user()
        ),
        lambda entry: f"{entry.number}: the firm replaced the shortfall in {account.name} from operating.",
        url_for("main.dashboard"),
    )
