from flask import render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import contains_eager, joinedload

from trustweb.auth.permissions import requires
from trustweb.bills.queries import requests_for
from trustweb.extensions import db
from trustweb.forms import choices, query_id
from trustweb.ledger.money import plain_cents
from trustweb.matters import bp
from trustweb.matters.forms import MatterForm, MatterStatusForm
from trustweb.models import MATTER_STATUSES, Contact, Invoice, JournalEntry, Matter, User
from trustweb.services import evergreen, top_ups
from trustweb.services.clients import name_contains, responsible_lawyers, save_matter, set_matter_status
from trustweb.services.replenishment import open_replenishment
from trustweb.services.trust import firm_today
from trustweb.trust.ledgers import Scope, chosen_account
from trustweb.trust.panels import panel_context
from trustweb.views import (
    button_action,
    contains,
    form_page,
    get_or_404,
    invalid,
    page_or_partial,
    paginate,
    search_text,
)

STATUS_FILTERS = {"open": "Open", "closed": "Closed", "all": "All"}


def search_matters(query, status):
    statement = (
        select(Matter)
        .join(Matter.client)
        .join(Matter.lawyer)
        .options(contains_eager(Matter.client), contains_eager(Matter.lawyer))
        .order_by(Matter.number.desc())
    )
    if status in MATTER_STATUSES:
        statement = statement.where(Matter.status == status)
    if query:
        # The client's name by its key (accents and all, whatever the case), as the contacts list finds it.
        columns = (Matter.number, Matter.description, User.name)
        statement = statement.where(or_(name_contains(query), *(contains(column, query) for column in columns)))
    return statement


def matter_form(matter=None):
    """The matter form with its client and lawyer choices filled in."""
    form = MatterForm(obj=matter)
    contacts = db.session.execute(select(Contact.id, Contact.name).order_by(Contact.name)).all()
    form.client_id.choices = choices([(0, "Choose a client…")] + [(c.id, c.name) for c in contacts])
    lawyers = responsible_lawyers()
    if matter is not None and matter.lawyer not in lawyers:
        lawyers.append(matter.lawyer)  # a departed lawyer stays visible on old matters
    form.lawyer_id.choices = choices([(0, "Choose a lawyer…")] + [(u.id, u.name) for u in lawyers])
    if request.method == "GET":
        if matter is None:
            form.client_id.data = query_id("client_id", "client") or 0
            form.opened_on.data = firm_today()
        else:
            for name in ("evergreen_minimum", "evergreen_target"):
                cents = getattr(matter, f"{name}_cents")
                form[name].data = plain_cents(cents) if cents is not None else ""
    return form


def invoices_for(matter):
    """The matter's invoices, each with its operating account (its currency) joined in."""
    return db.session.scalars(
        select(Invoice)
        .where(Invoice.matter_id == matter.id)
        .options(joinedload(Invoice.receivable_entry).joinedload(JournalEntry.bank_account))
        .order_by(Invoice.id.desc())
    ).all()


def matter_saved(message):
    return lambda matter: (message.format(matter=matter), url_for("matters.show", matter_id=matter.id))


@bp.get("/")
@requires("view")
def index():
    """Matters, searchable and filtered by status; htmx gets only the rows."""
    query = search_text()
    status = request.args.get("status", "open")
    if status not in STATUS_FILTERS:
        status = "open"
    page = paginate(search_matters(query, status))
    return page_or_partial(
        "matters/index.html", "matters/_rows.html", page=page, q=query, status=status, statuses=STATUS_FILTERS
    )


@bp.route("/new", methods=["GET", "POST"])
@requires("edit_clients")
def create():
    form = matter_form()
    return form_page(
        form,
        "matters/form.html",
        lambda: save_matter(None, form.values()),
        matter_saved("Matter {matter.number} opened."),
        matter=None,
    )


@bp.get("/<int:matter_id>")
@requires("view")
def show(matter_id):
    matter = get_or_404(Matter, matter_id, joinedload(Matter.client), joinedload(Matter.lawyer))
    trust = panel_context(Scope("matter", chosen_account(), matter.client, matter))
    return render_template(
        "matters/show.html",
        matter=matter,
        status_form=MatterStatusForm(status=matter.status),
        requests=requests_for(matter=matter),
        invoices=invoices_for(matter),
        today=firm_today(),
        evergreen=evergreen.of(matter),
        replenishment=open_replenishment(matter)
        if matter.evergreen_auto_request or matter.evergreen_method_id
        else None,
        **trust,
    )


@bp.route("/<int:matter_id>/edit", methods=["GET", "POST"])
@requires("edit_clients")
def update(matter_id):
    matter = get_or_404(Matter, matter_id)
    form = matter_form(matter)
    return form_page(
        form,
        "matters/form.html",
        lambda: save_matter(matter, form.values()),
        matter_saved("Matter saved."),
        matter=matter,
    )


@bp.post("/<int:matter_id>/top-ups/stop")
@requires("record_deposit")
def stop_top_ups(matter_id):
    """Staff turn off the automatic top-up the client authorised."""
    matter = get_or_404(Matter, matter_id)
    return button_action(
        lambda: top_ups.turn_off(matter, user=current_user),
        lambda _: f"{matter.number} no longer tops up automatically; below its minimum the client is asked instead.",
        url_for("matters.show", matter_id=matter_id),
    )


@bp.post("/<int:matter_id>/status")
@requires("edit_clients")
def change_status(matter_id):
    """Close or reopen a matter."""
    matter = get_or_404(Matter, matter_id)
    form = MatterStatusForm()
    if not form.validate_on_submit():
        trust = panel_context(Scope("matter", chosen_account(), matter.client, matter))
        return invalid(
            "matters/show.html",
            matter=matter,
            status_form=form,
            requests=requests_for(matter=matter),
            invoices=invoices_for(matter),
            today=firm_today(),
            **trust,
        )
    return button_action(
        lambda: set_matter_status(matter, form.status.data, firm_today()),
        lambda saved: f"Matter {saved.number} is now {saved.status}.",
        url_for("matters.show", matter_id=matter.id),
    )
