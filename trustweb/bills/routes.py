"""The Bills tab: trust requests (list, create, edit, show, print)."""

import re
import secrets
from datetime import timedelta

from flask import render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from trustweb.auth.permissions import requires
from trustweb.bills import bp
from trustweb.bills.forms import TrustRequestForm, email_list
from trustweb.bills.pages import SHOWN_WITH_REQUEST, printed_pay_link, request_page
from trustweb.bills.queries import STATUS_FILTERS, RequestFilters, filtered, lawyers, totals
from trustweb.extensions import db
from trustweb.forms import choices, parse_id, query_date, query_id
from trustweb.ledger.money import plain_cents
from trustweb.models import BankAccount, Contact, EmailTemplate, FirmSettings, Matter, TrustRequest
from trustweb.pdf import pdf_response, render_pdf
from trustweb.refusals import ServiceError
from trustweb.services import clients
from trustweb.services import requests as request_service
from trustweb.services.firm import default_account
from trustweb.services.trust import firm_today
from trustweb.text import printable
from trustweb.views import form_page, get_or_404, is_htmx, page_or_partial, paginate, search_text

# What the printed letter shows of a request, loaded with it.
PRINTED_WITH_REQUEST = (joinedload(TrustRequest.contact), joinedload(TrustRequest.matter))
KEY = re.compile(r"[A-Za-z0-9_-]{20,64}")
PREFILL = ("contact_id", "matter_id", "account_id", "amount", "due_on", "message", "recipients", "cc")


@bp.get("/")
@requires("view")
def index():
    """Trust requests, filtered by htmx; the totals follow the filters."""
    filters = RequestFilters.from_args()
    summed = totals(filters)
    return page_or_partial(
        "bills/index.html",
        "bills/_requests.html",
        page=paginate(filtered(filters), total=summed["count"]),
        filters=filters,
        totals=summed,
        statuses=STATUS_FILTERS,
        lawyers=lawyers(),
        today=firm_today(),
    )


def request_form(trust_request=None):
    """The request form with its choices; a new one is filled in from the page it was opened from.

    The client is never a list of every contact: the one chosen, or those matching what was typed."""
    form = TrustRequestForm() if request.method == "POST" else TrustRequestForm(formdata=None)
    if request.method == "GET":
        if trust_request is None:
            prefill_new(form)
        else:
            prefill_existing(form, trust_request)
    form.matches = []
    if trust_request is None:
        choose_client(form)
        form.waits_for_approval = request_service.waits_for_approval(current_user)
    else:  # an edited draft is approved again: one its maker may not send waits for a lawyer once more
        form.waits_for_approval = request_service.waits_for_approval(trust_request.created_by)
    matters = clients.open_matters_of(form.contact_id.data)
    form.matter_id.choices = choices(
        [(0, "Client funds (no matter)")] + [(m.id, f"{m.number} · {m.description}") for m in matters]
    )
    accounts = db.session.scalars(
        select(BankAccount).where(BankAccount.kind == "trust", BankAccount.active).order_by(BankAccount.name)
    ).all()
    form.account_id.choices = choices([(a.id, a.name) for a in accounts])
    templates = db.session.scalars(
        select(EmailTemplate).where(EmailTemplate.kind == "request").order_by(EmailTemplate.name)
    ).all()
    form.template_id.choices = choices([(0, "The default template")] + [(t.id, t.name) for t in templates])
    return form


def choose_client(form):
    """The client from what was typed, picked or chosen (clients.resolve_client). A client found from a name typed
    without script is not saved at once: the form comes back with that client's matters and email to check."""
    source = request.form if request.method == "POST" else request.args
    posted, typed = form.contact_id.data, printable(source.get("client", ""), 200)
    contact, form.matches = clients.resolve_client(posted, typed, parse_id(source.get("pick_id", "")))
    form.contact_id.data = contact.id if contact else None
    form.client.data = contact.name if contact else typed
    problem = None
    if contact is None:
        form.matter_id.data = 0
        if form.matches:
            problem = f"{len(form.matches)} clients match “{typed}”: choose one."
        elif typed:
            problem = f"No client's name starts with “{typed}”. Check the spelling, or add the contact first."
    elif contact.id != posted:
        if not form.recipients.data or request.method == "GET":
            form.recipients.data = ", ".join(contact.emails[:1])
        if request.method == "POST":
            problem = f"{contact.name} is chosen: check the matter and the email, then save."
    form.client_problem = problem
    form.client.errors = [problem] if problem else []


def prefill_new(form):
    """From ?contact_id=&matter_id= (matter and contact pages) or the form itself reloaded for a new client."""
    args = request.args
    matter_id = query_id("matter_id", "matter")
    matter = db.session.get(Matter, matter_id) if matter_id else None
    contact_id = query_id("contact_id", "client") or (matter.client_id if matter else None)
    contact = db.session.get(Contact, contact_id) if contact_id else None
    form.contact_id.data = contact.id if contact else 0
    form.matter_id.data = matter.id if matter and contact and matter.client_id == contact.id else 0
    account = default_account("trust")
    form.account_id.data = query_id("account_id", "trust account") or (account.id if account else 0)
    today = firm_today()
    form.issued_on.data = query_date("issued_on") or today
    form.due_on.data = query_date("due_on") or today + timedelta(days=FirmSettings.get().request_due_days)
    key = args.get("key", "")
    form.key.data = key if KEY.fullmatch(key) else secrets.token_urlsafe(24)
    form.amount.data = args.get("amount", "")[:20]
    form.message.data = args.get("message", "")[:2000]
    form.allow_partial.data = args.get("allow_partial") == "y"
    recipients = args.get("recipients")
    changed_client = args.get("reloaded_for") != str(form.contact_id.data)
    if contact and (recipients is None or changed_client):
        recipients = ", ".join(contact.emails[:1])
    form.recipients.data = (recipients or "")[:1000]
    form.cc.data = args.get("cc", "")[:1000]


def prefill_existing(form, trust_request):
    form.process(obj=trust_request)
    form.account_id.data = trust_request.bank_account_id
    form.matter_id.data = trust_request.matter_id or 0
    form.template_id.data = trust_request.template_id or 0
    form.amount.data = plain_cents(trust_request.amount_cents)
    form.minimum.data = plain_cents(trust_request.minimum_cents) if trust_request.minimum_cents else ""
    form.recipients.data = ", ".join(trust_request.recipient_list)
    form.cc.data = ", ".join(trust_request.cc_list)


def form_values(form):
    contact = db.session.get(Contact, form.contact_id.data) if form.contact_id.data else None
    return {
        "contact": contact,
        "matter": db.session.get(Matter, form.matter_id.data) if form.matter_id.data else None,
        "account": db.session.get(BankAccount, form.account_id.data) if form.account_id.data else None,
        "template": request_template(form.template_id.data),
        "amount_cents": form.amount.cents,
        "issued_on": form.issued_on.data,
        "due_on": form.due_on.data,
        "message": form.text("message"),
        "allow_partial": form.allow_partial.data,
        "minimum_cents": form.minimum.cents if form.allow_partial.data else None,
        "recipients": email_list(form.recipients.data),
        "cc": email_list(form.cc.data),
    }


def request_template(template_id):
    """The chosen email template, when it is one for trust requests (an invoice's has other merge fields)."""
    template = db.session.get(EmailTemplate, template_id) if template_id else None
    return template if template is not None and template.kind == "request" else None


def saved(message):
    return lambda saved_request: (
        message.format(request=saved_request),
        url_for("bills.show_request", request_id=saved_request.id),
    )


@bp.route("/requests/new", methods=["GET", "POST"])
@requires("manage_requests")
def create_request():
    """A new trust request, from the Bills tab, a matter page or a contact page: saved as a draft, or saved and sent."""
    form = request_form()
    if request.headers.get("HX-Trigger-Name") == "contact_id":
        return render_template("bills/_request_form.html", form=form, trust_request=None)
    send = request.form.get("then") == "send"
    return form_page(
        form,
        "bills/request_form.html",
        lambda: request_service.make_request(form_values(form), current_user, key=form.key.data or None, send=send),
        made,
        trust_request=None,
    )


def made(outcome):
    """What the Bills tab says after the request form's Save draft or Save and send, and where it goes."""
    number = outcome.request.number
    if outcome.earlier:
        message = f"Trust request {number} was already saved from this form; nothing more was made or sent."
    elif outcome.waits:
        message = f"Trust request {number} saved. It waits for a lawyer's approval: it is sent once approved."
    elif outcome.not_sent:
        message = f"Trust request {number} saved as a draft but not sent: {outcome.not_sent}"
    elif outcome.sent:
        message = f"Trust request {number} saved and sent: its email is on its way to {outcome.request.recipients}."
    else:
        message = f"Trust request {number} saved as a draft."
    return message, url_for("bills.show_request", request_id=outcome.request.id)


@bp.get("/requests/clients")
@requires("manage_requests")
def search_clients():
    """The request form's client combobox: at most CLIENT_CHOICES clients whose name starts with what was typed."""
    text = search_text("client", 200)
    return render_template("bills/_client_options.html", matches=clients.find_clients(text), typed=text)


@bp.post("/requests/preview")
@requires("manage_requests")
def preview_request_email():
    """The email a request made from the form would send, as the client would see it; nothing is saved."""
    form = request_form()
    form.validate_on_submit()  # for its values (amount in cents); what is wrong is shown, what is filled previewed
    preview, problem = None, form.template_id.message if form.template_id.errors else None
    if problem is None:
        try:
            preview = request_service.preview_email(form_values(form), current_user)
        except ServiceError as error:  # a template that cannot be filled: said where the email would be
            problem = str(error)
    status = 400 if problem else 200
    if is_htmx():
        return render_template("bills/_request_email_preview.html", preview=preview, problem=problem), status
    page = render_template("bills/request_form.html", form=form, trust_request=None, preview=preview, problem=problem)
    return page, status


@bp.route("/requests/<int:request_id>/edit", methods=["GET", "POST"])
@requires("manage_requests")
def update_request(request_id):
    """Change a draft. One that waits for approval has Save and send too: sent once a lawyer approves it (Save keeps
    it a draft, cancelling an earlier Save and send)."""
    trust_request = get_or_404(TrustRequest, request_id)
    form = request_form(trust_request)
    send = form.waits_for_approval and request.form.get("then") == "send"
    return form_page(
        form,
        "bills/request_form.html",
        lambda: request_service.update_request(trust_request, form_values(form), current_user, send=send),
        saved(
            "Trust request {request.number} saved. It waits for a lawyer's approval: it is sent once approved."
            if send
            else "Trust request {request.number} saved."
        ),
        trust_request=trust_request,
    )


@bp.get("/requests/<int:request_id>")
@requires("view")
def show_request(request_id):
    """A request with its payments, emails, pay links and actions."""
    return request_page(get_or_404(TrustRequest, request_id, *SHOWN_WITH_REQUEST))


@bp.get("/requests/<int:request_id>/print")
@requires("view")
def print_request(request_id):
    """A printable letter: the request, what is due, and how to pay (a sent one with a fresh pay link's QR code)."""
    trust_request = get_or_404(TrustRequest, request_id, *PRINTED_WITH_REQUEST)
    pay_url = printed_pay_link(trust_request)
    return render_template("bills/request_print.html", trust_request=trust_request, pay_url=pay_url)


@bp.get("/requests/<int:request_id>/pdf")
@requires("view")
def request_pdf(request_id):
    """The printable letter as a PDF, named for the request."""
    trust_request = get_or_404(TrustRequest, request_id, *PRINTED_WITH_REQUEST)
    pdf = render_pdf("bills/request_print.html", trust_request=trust_request, pay_url=printed_pay_link(trust_request))
    return pdf_response(pdf, trust_request.number)
