from flask import abort, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload, with_expression

from trustweb.auth.permissions import requires
from trustweb.bills.queries import requests_for
from trustweb.contacts import bp
from trustweb.contacts.forms import ContactForm
from trustweb.extensions import db
from trustweb.models import Contact, LedgerAccount, Matter, SavedMethod
from trustweb.services import method_setup, portal, saved_methods
from trustweb.services.clients import name_contains, save_contact
from trustweb.services.mail import when_it_goes
from trustweb.services.plans import plans_of
from trustweb.services.trust import firm_today
from trustweb.trust.ledgers import ledger_url
from trustweb.views import button_action, contains, form_page, get_or_404, page_or_partial, paginate, search_text


def search_contacts(query):
    """Contacts matching the query, each with its number of matters (one query, not one per row)."""
    matters = select(func.count(Matter.id)).where(Matter.client_id == Contact.id).scalar_subquery()
    statement = (
        select(Contact).options(with_expression(Contact.matter_count, matters)).order_by(Contact.name, Contact.id)
    )
    if query:
        # The name by its key (accents and all, whatever the case); email and phone as typed, ignoring case.
        columns = (Contact.email, Contact.other_email, Contact.phone)
        statement = statement.where(or_(name_contains(query), *(contains(column, query) for column in columns)))
    return statement


@bp.get("/")
@requires("view")
def index():
    """Contacts, searchable; htmx gets only the rows."""
    query = search_text()
    page = paginate(search_contacts(query))
    return page_or_partial("contacts/index.html", "contacts/_rows.html", page=page, q=query)


def contact_saved(message):
    return lambda contact: (message.format(contact=contact), url_for("contacts.show", contact_id=contact.id))


@bp.route("/new", methods=["GET", "POST"])
@requires("edit_clients")
def create():
    form = ContactForm()
    return form_page(
        form,
        "contacts/form.html",
        lambda: save_contact(None, form.values()),
        contact_saved("Contact {contact.name} added."),
        contact=None,
    )


@bp.get("/<int:contact_id>")
@requires("view")
def show(contact_id):
    # The contact's matters with their lawyers; its ledgers' matters are among them (no load per ledger).
    contact = get_or_404(Contact, contact_id, selectinload(Contact.matters).joinedload(Matter.lawyer))
    ledgers = db.session.scalars(
        select(LedgerAccount)
        .where(LedgerAccount.contact_id == contact.id)
        .options(joinedload(LedgerAccount.bank_account))  # each balance is written in its account's currency
        .order_by(LedgerAccount.bank_account_id, LedgerAccount.matter_id.is_not(None), LedgerAccount.matter_id)
    ).all()
    return render_template(
        "contacts/show.html",
        contact=contact,
        ledgers=ledgers,
        ledger_url=ledger_url,
        requests=requests_for(contact=contact),
        today=firm_today(),
        portal_access=portal.access_of(contact),
        methods=saved_methods_of(contact),
        can_save_methods=method_setup.saving_processor() is not None,
        plans=plans_of(contact),
    )


def saved_methods_of(contact):
    """The contact's methods still in use, newest first, with who saved them (no load per row)."""
    return db.session.scalars(
        select(SavedMethod)
        .where(SavedMethod.contact_id == contact.id, SavedMethod.removed_at.is_(None))
        .options(joinedload(SavedMethod.created_by))
        .order_by(SavedMethod.id.desc())
    ).all()


@bp.post("/<int:contact_id>/methods/request")
@requires("manage_requests")
def request_method(contact_id):
    """Email the client a one-time link to save a card or bank account for later."""
    contact = get_or_404(Contact, contact_id)
    return button_action(
        lambda: method_setup.request_method(contact, current_user._get_current_object()),
        lambda _: f"A link to save a payment method was queued for {contact.email}: {when_it_goes()}.",
        url_for("contacts.show", contact_id=contact.id),
    )


@bp.post("/<int:contact_id>/methods/<int:method_id>/remove")
@requires("edit_clients")
def remove_method(contact_id, method_id):
    """Forget one of the client's saved methods, here and at the processor; its plans pause."""
    method = db.session.scalar(
        select(SavedMethod).where(SavedMethod.id == method_id, SavedMethod.contact_id == contact_id)
    )
    if method is None:
        abort(404)
    return button_action(
        lambda: saved_methods.remove(method, user=current_user._get_current_object()),
        lambda removed: f"{removed.label} is removed.",
        url_for("contacts.show", contact_id=contact_id),
    )


@bp.post("/<int:contact_id>/portal/invite")
@requires("edit_clients")
def portal_invite(contact_id):
    """Give the client portal access and email them a link that signs them in (again, if they lost it)."""
    contact = get_or_404(Contact, contact_id)
    return button_action(
        lambda: portal.invite(contact, current_user._get_current_object()),
        lambda _: f"Portal invitation to {contact.email} queued: {when_it_goes()}.",
        url_for("contacts.show", contact_id=contact.id),
    )


@bp.post("/<int:contact_id>/portal/revoke")
@requires("edit_clients")
def portal_revoke(contact_id):
    """End the client's portal access: they are signed out everywhere and their links stop working."""
    contact = get_or_404(Contact, contact_id)
    return button_action(
        lambda: portal.revoke(contact, current_user._get_current_object()),
        lambda _: f"{contact.name} no longer has portal access.",
        url_for("contacts.show", contact_id=contact.id),
    )


@bp.route("/<int:contact_id>/edit", methods=["GET", "POST"])
@requires("edit_clients")
def update(contact_id):
    contact = get_or_404(Contact, contact_id)
    form = ContactForm(obj=contact)
    return form_page(
        form,
        "contacts/form.html",
        lambda: save_contact(contact, form.values()),
        contact_saved("Contact saved."),
        contact=contact,
    )
