"""A trust request's staff page: shown by its own view, and again (with a form's errors) by the actions on it."""

import secrets

from flask import current_app, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import joinedload, selectinload

from trustweb.bills.forms import RequestPaymentForm, VoidForm
from trustweb.database import write_transaction
from trustweb.extensions import db
from trustweb.ledger.money import plain_cents
from trustweb.models import JournalEntry, OutboxMessage, Payment, TrustRequest
from trustweb.payments import NotConfigured, processor_for
from trustweb.services import requests as request_service
from trustweb.services.trust import firm_today
from trustweb.templating import firm


def back_to(payable):
    """The staff page of a trust request or invoice."""
    if payable.is_invoice:
        return url_for("bills.show_invoice", invoice_id=payable.id)
    return url_for("bills.show_request", request_id=payable.id)


def printed_pay_link(payable):
    """The pay link a printed or downloaded copy carries (its QR code and address), or None for a draft, paid or
    void one. Made in a short write of its own, as a GET may; a database too busy for it prints the copy without."""
    if not request_service.takes_printed_link(payable):
        return None
    try:
        with write_transaction():
            return request_service.printed_link(payable, current_user)
    except OperationalError:
        current_app.logger.warning("%s: no pay link could be made for its printed copy now", payable.number)
        return None


# What a request's page shows of it, loaded with it: one SELECT for the request and its people, one for each list.
SHOWN_WITH_REQUEST = (
    joinedload(TrustRequest.contact),
    joinedload(TrustRequest.matter),
    joinedload(TrustRequest.bank_account),
    joinedload(TrustRequest.template),
    joinedload(TrustRequest.created_by),
    joinedload(TrustRequest.approved_by),
    selectinload(TrustRequest.links),
    selectinload(TrustRequest.payments).joinedload(Payment.journal_entry).selectinload(JournalEntry.clearance),
)


def request_page(trust_request, status=200, **context):
    outbox = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.trust_request_id == trust_request.id)
        .order_by(OutboxMessage.id.desc())
    ).all()
    context.setdefault("void_form", VoidForm(formdata=None))
    context.setdefault("payment_form", new_payment_form(trust_request))
    needs_approval = request_service.needs_approval(trust_request)
    return (
        render_template(
            "bills/request.html",
            trust_request=trust_request,
            outbox=outbox,
            needs_approval=needs_approval,
            sends_on_approval=needs_approval and request_service.sends_on_approval(trust_request),
            processor=processor_or_none(trust_request),
            today=firm_today(),
            **context,
        ),
        status,
    )


def processor_or_none(trust_request):
    try:
        return processor_for(trust_request.bank_account, firm())
    except NotConfigured:
        return None


def new_payment_form(trust_request):
    form = RequestPaymentForm(formdata=None)
    form.key.data = secrets.token_urlsafe(24)
    form.amount.data = plain_cents(trust_request.due_cents) if trust_request.due_cents else ""
    form.received_on.data = firm_today()
    form.payer.data = trust_request.contact.name
    return form
