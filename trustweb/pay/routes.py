"""The client's pay link: public pages that show one trust request or invoice (the "payable") and take its payment.

Nothing here needs a login; the token in the URL is the key. A page shows
only its own request or invoice, is never indexed or cached, sends no Referer
(the token must not leak to another site), loads no script, and is rate limited.
A trust request's money goes to its trust account, an invoice's to operating.
"""

import secrets

from flask import abort, current_app, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from trustweb.auth.permissions import can, public
from trustweb.database import write_transaction
from trustweb.extensions import client_address, db, limiter
from trustweb.ledger.money import plain_cents
from trustweb.models import AccountKind, FirmSettings, Payment, PaymentStatus
from trustweb.models.requests import LinkState
from trustweb.pay import bp, receipts
from trustweb.pay.forms import CheckoutForm, PayForm
from trustweb.payments import Declined, NotConfigured, processor_for
from trustweb.refusals import ServiceError
from trustweb.services import checkout as checkout_service
from trustweb.services import method_setup
from trustweb.services import payments as payment_service
from trustweb.services import portal as portal_service
from trustweb.services import requests as request_service

CLOSED = {
    LinkState.UNKNOWN: (404, "This payment link is not valid", "Check that the whole link was copied from the email."),
    LinkState.REVOKED: (410, "This payment link is no longer active", "The firm has replaced or withdrawn it."),
    LinkState.EXPIRED: (410, "This payment link has expired", "Ask the firm for a new link."),
    LinkState.VOID: (410, "This {what} has been cancelled", "There is nothing to pay."),
}


def load(token):
    link = request_service.link_for_token(token)
    return link, request_service.link_state(link)


def closed_page(state, link):
    status, title, hint = CLOSED[state]
    title = title.format(what="invoice" if link is not None and link.payable.is_invoice else "request")
    return render_template("pay/closed.html", title=title, hint=hint, link=link), status


def paid_page(link, status=200):
    """A paid link says so, also to a second tab that presses Pay after the first paid it all."""
    return render_template("pay/paid.html", payable=link.payable), status


def processor_of(payable):
    """The processor for the payable's account; None when it is set up wrongly (the page then says so).

    Built once per request: the page, its form and the payment all ask, and building a Stripe one
    decrypts its keys.
    """
    if "processor" not in g:
        try:
            g.processor = processor_for(payable.bank_account, FirmSettings.get())
        except NotConfigured:
            g.processor = None
    return g.processor


def can_save_card(processor, account):
    """Whether the card form offers to save the card: our own form, and the firm's saved methods kept by the same
    processor (the default trust account's)."""
    if processor is None or processor.hosted:
        return False
    if account.kind == AccountKind.TRUST and account.is_default:
        return True  # paid into the account that keeps saved methods: its processor is this one
    saver = method_setup.saving_processor()
    return saver is not None and saver.name == processor.name


def page(token, link, form, status=200, error=None):
    payable = link.payable
    processor = processor_of(payable)
    shown = {"token": token, "payable": payable, "form": form, "error": error, "processor": processor}
    if can_save_card(processor, payable.bank_account):
        shown["consent"] = method_setup.consent_text(payable.contact.name)
    return render_template("pay/show.html", **shown), status


def fresh_form(payable):
    """The pay form with a new checkout key: each checkout is posted at most once."""
    processor = processor_of(payable)
    form = (CheckoutForm if processor is None or processor.hosted else PayForm)(formdata=None)
    form.checkout.data = secrets.token_urlsafe(24)
    form.amount.data = plain_cents(payable.payable_cents)
    return form


def retry(form):
    """The form again for another try: a new checkout key, the card number and code cleared."""
    form.checkout.data = secrets.token_urlsafe(24)
    if isinstance(form, PayForm):
        form.forget_card()
    return form


@bp.get("/<token>")
@limiter.limit("60 per minute")
@public
def show(token):
    """The client's page: who asks, for what, how much is due, and how to pay."""
    link, state = load(token)
    if state == LinkState.PAID:
        return paid_page(link)
    if state != LinkState.OPEN:
        return closed_page(state, link)
    shown = page(token, link, fresh_form(link.payable))
    if not link.payable.is_invoice and link.request.viewed_at is None:
        # The first view marks the request viewed once the page is read, in a short write of its own;
        # later views write nothing and take no lock.
        # The client has the page either way: if the database is busy beyond its timeout, the next view records it.
        request_id = link.request.id
        try:
            with write_transaction():
                request_service.mark_viewed(request_id)
        except OperationalError:
            current_app.logger.warning("request %s: its first view could not be recorded now", request_id)
    return shown


@bp.post("/<token>")
@limiter.limit("20 per minute")
@public
def pay(token):
    """Take the payment (test processor) or start the processor's checkout (Stripe); each checkout once."""
    link, state = load(token)
    if link is None:
        return closed_page(LinkState.UNKNOWN, None)
    processor = processor_of(link.payable)
    form = CheckoutForm() if processor is None or processor.hosted else PayForm()
    if not form.validate_on_submit():
        if state == LinkState.PAID:
            return paid_page(link, 409)
        if state != LinkState.OPEN:
            return closed_page(state, link)
        return page(token, link, retry(form), 422)
    try:
        if processor is None:
            raise ServiceError("Online payment is not available at the moment; please pay by wire or cheque.")
        if processor.hosted:
            payment = checkout_service.start_checkout(
                link, token, form.amount.cents, form.checkout.data, form.email.data
            )
        else:
            payment = payment_service.pay_by_card(
                link, form.amount.cents, form.card(), form.checkout.data, form.email.data
            )
            if (
                form.save_card.data
                and payment.status == PaymentStatus.SUCCEEDED
                and can_save_card(processor, link.payable.bank_account)
            ):
                return after_payment(token, link, form, payment, saved=save_card(link, form))
    except Declined as error:
        return page(token, link, retry(form), 402, error=str(error))
    except ServiceError as error:
        db.session.rollback()
        state = request_service.link_state(link)
        if state == LinkState.PAID:
            return paid_page(link, 409)
        if state != LinkState.OPEN:
            return closed_page(state, link)
        return page(token, link, retry(form), 422, error=str(error))
    return after_payment(token, link, form, payment)


def save_card(link, form):
    """The card just paid with, saved for the request's client as the payer asked, confirming they are that client
    or authorised (the payment stands whatever happens here); whether it was saved. The name typed on the card is
    kept as its holder's: the payer may be someone else (a parent, a company)."""
    contact = link.payable.contact
    try:
        method_setup.save_card(
            contact,
            form.card(),
            consent_ip=client_address(),
            actor=portal_service.client_actor(contact),
            consent=method_setup.consent_text(contact.name),
        )
    except (Declined, ServiceError) as error:
        db.session.rollback()
        current_app.logger.info("pay link of %s: the card was paid with but not saved (%s)", contact.id, error)
        return False
    return True


def after_payment(token, link, form, payment, saved=None):
    """Where a payer goes once the payment is recorded: the receipt, the processor's page, or the form again."""
    if payment.status == PaymentStatus.FAILED:
        # A declined checkout posted again (a reload); if another tab has paid it all since, say so instead.
        if request_service.link_state(link) == LinkState.PAID:
            return paid_page(link, 409)
        return page(token, link, retry(form), 402, error=payment.failure_message)
    if payment.status == PaymentStatus.PENDING:
        if payment.checkout_url and payment.method == "card":
            return redirect(payment.checkout_url, 303)
        return render_template("pay/processing.html", payable=link.payable, payment=payment), 202
    # The receipt and the lawyer's notice were queued with the payment; the worker sends them.
    extra = {} if saved is None else {"card_saved": int(saved)}
    return redirect(url_for("pay.receipt", token=token, number=payment.receipt_number, **extra), 303)


@bp.get("/<token>/return")
@limiter.limit("60 per minute")
@public
def returned(token):
    """Back from the processor's page: settle the checkout from what the processor says, then the receipt."""
    link = request_service.link_for_token(token)
    if link is None:
        return closed_page(LinkState.UNKNOWN, None)
    payment = checkout_service.payment_for_checkout(request.args.get("session_id", "")[:100])
    if payment is None or payment.payable is not link.payable:
        abort(404)
    if payment.status == PaymentStatus.PENDING:  # else the webhook was first: nothing to write
        try:
            with write_transaction():
                payment = checkout_service.settle_checkout(payment)
        except ServiceError:
            # the webhook will settle it; tell the payer it is on its way
            return render_template("pay/processing.html", payable=link.payable, payment=payment), 202
    if payment.status == PaymentStatus.PENDING:
        return render_template("pay/processing.html", payable=link.payable, payment=payment), 202
    return after_payment(token, link, fresh_form(link.payable), payment)


@bp.get("/desk/<int:payment_id>")
@limiter.limit("60 per minute")
@public
def desk_return(payment_id):
    """Back from Stripe's page after a payment staff took at the desk (bills/desk.py): settled as the pay link's
    return settles it, once. Staff on the firm's device go on to the payment's page; anyone else (the client's
    phone, which scanned the code) is thanked, and told nothing more. Any other number, or another session's id,
    gets the same neutral page as a desk payment without its session's id: counting through the numbers tells a
    stranger nothing of which payments were taken at the desk."""
    payment = db.session.get(Payment, payment_id)
    if payment is not None and (payment.created_by_id is None or payment.checkout_reference is None):
        payment = None  # not a desk checkout: answered as if there were no such payment
    session_id = request.args.get("session_id", "")[:100]
    ours = payment is not None and session_id == payment.checkout_reference
    if ours and payment.status == PaymentStatus.PENDING:
        try:
            with write_transaction():
                payment = checkout_service.settle_checkout(payment)
        except ServiceError:
            pass  # the webhook, or the staff page's next look, settles it
    if payment is not None and can(current_user, "take_payments"):
        if payment.status == PaymentStatus.SUCCEEDED:
            return redirect(url_for("bills.show_payment", payment_id=payment.id), 303)
        return redirect(url_for("bills.desk_checkout", payment_id=payment.id), 303)
    paid = ours and payment.status == PaymentStatus.SUCCEEDED
    return render_template("pay/desk_return.html", paid=paid, payable=payment.payable if paid else None)


def receipted(token, number):
    """(link, payment) for a receipt number of this link's request or invoice; (None, None) for an unknown link;
    a 404 for a receipt of anything else."""
    link = request_service.link_for_token(token)
    if link is None:
        return None, None
    payment = db.session.scalar(select(Payment).where(Payment.receipt_number == number[:20]))
    if payment is None or payment.payable is not link.payable:
        abort(404)
    return link, payment


@bp.get("/<token>/receipts/<number>")
@limiter.limit("60 per minute")
@public
def receipt(token, number):
    """The receipt for a payment made through this link's request or invoice."""
    link, payment = receipted(token, number)
    if link is None:
        return closed_page(LinkState.UNKNOWN, None)
    payable = link.payable
    portal = portal_service.has_access(payable.contact)  # the way back for a client who paid from the portal
    shown = {"token": token, "payable": payable, "payment": payment, "portal": portal}
    return render_template("pay/receipt.html", card_saved=request.args.get("card_saved"), **shown)


# With a hosted processor (Stripe) nothing is saved from a pay link's receipt: the link is a bearer token that
# anyone who paid (or was forwarded it) holds, even once it is paid and revoked. A client saves a card or bank
# account in the portal or from the one-time link staff email them.


@bp.get("/<token>/receipts/<number>.pdf")
@limiter.limit("20 per minute")  # each one is laid out anew: a tenth of a second of a core
@public
def receipt_pdf(token, number):
    """The same receipt as a PDF to keep."""
    link, payment = receipted(token, number)
    if link is None:
        return closed_page(LinkState.UNKNOWN, None)
    return receipts.receipt_pdf(payment)
