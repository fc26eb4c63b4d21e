"""The audit trail: the list with its filters (htmx swaps the rows), one event, Verify the chain, CSV export."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from trustweb.audit import bp
from trustweb.audit.forms import FilterForm
from trustweb.auth.permissions import can, requires
from trustweb.models import AuditEvent
from trustweb.reports.export import download, table_csv
from trustweb.services import audit, audit_trail
from trustweb.services.trust import firm_today
from trustweb.views import MAX_ID, get_or_404, is_htmx

# The page of each kind of object an event can be about, and the name its id takes in the address.
OBJECT_PAGES = {
    "Contact": ("contacts.show", "contact_id"),
    "Matter": ("matters.show", "matter_id"),
    "TrustRequest": ("bills.show_request", "request_id"),
    "Invoice": ("bills.show_invoice", "invoice_id"),
    "Payment": ("bills.show_payment", "payment_id"),
    "PaymentPlan": ("plans.show", "plan_id"),
    "JournalEntry": ("trust.entry", "entry_id"),
    "BankAccount": ("trust.account", "account_id"),
    "BankStatement": ("reconciliations.statement", "statement_id"),
    "Reconciliation": ("reconciliations.signed", "reconciliation_id"),
    "OutboxMessage": ("outbox.show", "message_id"),
    "User": ("settings.update_user", "user_id"),
    "EmailTemplate": ("settings.update_template", "template_id"),
    "AuditEvent": ("audit.show", "event_id"),
}


def object_url(event):
    """The address of the page of the event's object, when it has one that the reader may open."""
    endpoint, name = OBJECT_PAGES.get(event.object_type, (None, None))
    if endpoint is None or not (event.object_id or "").isdigit() or not 0 < int(event.object_id) <= MAX_ID:
        return None
    if not can(current_user, current_app.view_functions[endpoint].permission):
        return None
    return url_for(endpoint, **{name: int(event.object_id)})


@bp.context_processor
def helpers():
    return {
        "object_url": object_url,
        "changes": audit_trail.changes,
        "account_currencies": audit_trail.account_currencies,
        "kind_label": audit_trail.kind_label,
    }


def _keyset(name):
    """A pager's id from the query string; anything no event can have is the first page."""
    value = request.args.get(name, type=int)
    return value if value is not None and 0 < value <= MAX_ID + 1 else None


@bp.get("/")
@requires("read_audit")
def index():
    """Events newest first, filtered by user, action, object and the firm's dates."""
    form = FilterForm(request.args)
    if not form.validate():
        return _listing(form, None, 400)
    return _listing(form, audit_trail.page(form.filters, before=_keyset("before"), after=_keyset("after")))


def _listing(form, page, status=200):
    """The page (or, for htmx, its rows) with a page of events, or with the filter that was refused."""
    context = {"form": form, "args": form.args(), "page": page, "error": form.refusal()}
    if is_htmx():
        return render_template("audit/_rows.html", **context), status
    users, actions, kinds = audit_trail.choices()
    context.update(users=users, actions=actions, kinds=kinds, waiting=audit.waiting())
    return render_template("audit/index.html", **context), status


@bp.get("/<int:event_id>")
@requires("read_audit")
def show(event_id):
    """One event: who, when, from where, what, on which object, and every field before and after."""
    return render_template("audit/event.html", event=get_or_404(AuditEvent, event_id))


@bp.get("/events.csv")
@requires("read_audit")
def export():
    """The filtered events as CSV, streamed a batch at a time; before and after as JSON columns."""
    form = FilterForm(request.args)
    if not form.validate():
        return _listing(form, None, 400)
    filename = f"audit-trail-{firm_today().isoformat()}.csv"
    return download(table_csv(audit_trail.csv_batches(form.filters)), "text/csv; charset=utf-8", filename)


@bp.post("/verify")
@requires("read_audit")
def verify():
    """Seal what waits, verify the whole chain, say what was found (and record that it was checked)."""
    result = audit_trail.check(current_user)
    flash(str(result), "success" if result.intact else "error")
    if result.sealed:
        flash(
            f"{result.sealed} event{'s' if result.sealed != 1 else ''} waiting to be sealed were sealed first.", "info"
        )
    if result.waiting:  # written by others while the chain was read: the worker seals them in a moment
        flash(
            f"{result.waiting} event{'s' if result.waiting != 1 else ''} written meanwhile wait to be sealed.", "info"
        )
    return redirect(url_for("audit.index"), 303)
