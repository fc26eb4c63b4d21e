"""Take a payment now: staff take a client's card on the spot for a trust request or an invoice.

With the test processor, a card form of ours; with Stripe, Stripe's own page opened on the firm's device or
scanned from a QR code by the client's phone, whose status the page polls. services/desk.py holds the money path.
"""

import secrets

from flask import abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from trustweb.auth.permissions import requires
from trustweb.bills import bp
from trustweb.bills.forms import DeskDepositForm
from trustweb.bills.pages import back_to
from trustweb.database import write_transaction
from trustweb.extensions import db
from trustweb.forms import query_id
from trustweb.ledger.money import plain_cents
from trustweb.models import Contact, Invoice, JournalEntry, Matter, MatterStatus, Payment, PaymentStatus, TrustRequest
from trustweb.pay.forms import CheckoutForm, PayForm
from trustweb.payments import Declined, NotConfigured, processor_for
from trustweb.refusals import REFUSALS, ServiceError
from trustweb.services import checkout as checkout_service
from trustweb.services import desk
from trustweb.templating import firm
from trustweb.views import attempt, get_or_404, is_htmx

# What the form and the payment read of a request or invoice, loaded with it.
TAKEN_WITH_REQUEST = (
    joinedload(TrustRequest.contact),
    joinedload(TrustRequest.matter),
    joinedload(TrustRequest.bank_account),
)
TAKEN_WITH_INVOICE = (
    joinedload(Invoice.contact),
    joinedload(Invoice.matter),
    joinedload(Invoice.receivable_entry).joinedload(JournalEntry.bank_account),
)


def processor_of(payable):
    """The card processor of the account the payable is paid into; None when there is none set up."""
    if payable.bank_account is None:
        return None
    try:
        return processor_for(payable.bank_account, firm())
    except NotConfigured:
        return None


def take_form(payable, processor):
    """The form for this processor: the card itself (test), or the amount for Stripe's page."""
    hosted = processor is None or processor.hosted
    if request.method == "POST":
        return CheckoutForm() if hosted else PayForm()
    form = (CheckoutForm if hosted else PayForm)(formdata=None)
    form.amount.data = plain_cents(payable.payable_cents) if payable.payable_cents > 0 else ""
    if isinstance(form, PayForm):
        form.name.data = payable.contact.name
    return form


def take_page(payable, processor, form, status=200, error=None):
    """The page again with a fresh key (each attempt posts once), the card number and code cleared."""
    form.checkout.data = secrets.token_urlsafe(24)
    if isinstance(form, PayForm):
        form.number.data = form.cvc.data = ""
        form.email.label.text = "Email for the receipt (when not the client's own)"
    context = {
        "payable": payable,
        "processor": processor,
        "form": form,
        "error": error,
        "back": back_to(payable),
        "waiting_for_approval": desk.waiting_for_approval(payable),
    }
    return render_template("bills/take.html", **context), status


def take(payable):
    """GET: the form; POST: charge the card (test) or open Stripe's page, then the receipt or the checkout page."""
    processor = processor_of(payable)
    # Held for the request so that the lock's re-read of the payable finds its rows in the session (which holds
    # them weakly) instead of selecting them again.
    g.payable_rows = (payable.contact, payable.matter, payable.bank_account)
    form = take_form(payable, processor)
    if not form.validate_on_submit():
        return take_page(payable, processor, form, 422 if request.method == "POST" else 200)
    try:
        if processor is None:
            raise ServiceError(f"No card processor is set up for the account {payable.number} is paid into.")
        if processor.hosted:
            payment = desk.start_checkout(payable, form.amount.cents, form.checkout.data, current_user)
        else:
            payment = desk.take_card(
                payable, form.amount.cents, form.card(), form.checkout.data, current_user, payer_email=form.email.data
            )
    except Declined as error:
        return take_page(payable, processor, form, 402, error=str(error))
    except REFUSALS as error:
        db.session.rollback()
        return take_page(payable, processor, form, 422, error=str(error))
    if payment.status == PaymentStatus.FAILED:  # a declined form posted again
        return take_page(payable, processor, form, 402, error=payment.failure_message)
    if payment.status == PaymentStatus.PENDING:
        return redirect(url_for("bills.desk_checkout", payment_id=payment.id), 303)
    flash(f"Payment {payment.receipt_number} taken; the receipt is on its way to the client.", "success")
    return redirect(url_for("bills.show_payment", payment_id=payment.id), 303)


@bp.route("/requests/<int:request_id>/take", methods=["GET", "POST"])
@requires("take_payments")
def take_request_payment(request_id):
    """Take a card payment for the request now, the client at the desk or on the phone."""
    return take(get_or_404(TrustRequest, request_id, *TAKEN_WITH_REQUEST))


@bp.route("/invoices/<int:invoice_id>/take", methods=["GET", "POST"])
@requires("take_payments")
def take_invoice_payment(invoice_id):
    """Take a card payment for the invoice now."""
    return take(get_or_404(Invoice, invoice_id, *TAKEN_WITH_INVOICE))


@bp.get("/take")
@requires("take_payments")
def choose_payable():
    """From a matter or a contact: which open request or invoice the payment is for (or, on a matter with none
    open, a trust deposit for an amount)."""
    matter_id, contact_id = query_id("matter_id", "matter"), query_id("contact_id", "client")
    matter = get_or_404(Matter, matter_id) if matter_id else None
    contact = matter.client if matter else get_or_404(Contact, contact_id) if contact_id else None
    if contact is None:
        abort(404)
    payables = desk.open_payables(matter=matter, contact_id=contact.id)
    form = DeskDepositForm(formdata=None) if matter and matter.status == MatterStatus.OPEN and not payables else None
    if form is not None:
        form.key.data = secrets.token_urlsafe(24)
    return render_template("bills/take_choose.html", matter=matter, contact=contact, payables=payables, form=form)


@bp.post("/take/matters/<int:matter_id>")
@requires("take_payments")
def take_deposit(matter_id):
    """A trust deposit taken at the desk: a request for the amount (not emailed), then its payment form."""
    matter = get_or_404(Matter, matter_id)
    form = DeskDepositForm()
    if form.validate_on_submit():
        done, trust_request = attempt(
            form, lambda: desk.deposit_request(matter, form.amount.cents, form.key.data, current_user)
        )
        if done:
            return redirect(url_for("bills.take_request_payment", request_id=trust_request.id), 303)
    shown = {"matter": matter, "contact": matter.client, "payables": [], "form": form}
    return render_template("bills/take_choose.html", **shown), 422


def desk_payment(payment_id):
    """A payment staff started on Stripe's page, or a 404."""
    payment = get_or_404(Payment, payment_id)
    if payment.created_by_id is None or payment.checkout_reference is None:
        abort(404)
    return payment


@bp.get("/payments/<int:payment_id>/checkout")
@requires("take_payments")
def desk_checkout(payment_id):
    """Stripe's page for this payment, to open here or scan, and its status (htmx polls the partial); once
    Stripe says it is over, settled exactly as the pay link's return settles it."""
    payment, error = desk_payment(payment_id), None
    try:
        if payment.status == PaymentStatus.PENDING and desk.checkout_changed(payment):
            with write_transaction():
                payment = checkout_service.settle_checkout(payment)
    except REFUSALS as refused:
        # Stripe unreachable, the account's keys gone, the books refusing the entry (a locked period): the reason
        # is shown, the payment stays pending, and the next poll (or the webhook) tries again.
        db.session.rollback()
        error = str(refused)
    if payment.status == PaymentStatus.SUCCEEDED:
        done = url_for("bills.show_payment", payment_id=payment.id)
        if is_htmx():
            response = make_response("", 200)
            response.headers["HX-Redirect"] = done
            return response
        return redirect(done, 303)
    template = "bills/_desk_checkout_status.html" if is_htmx() else "bills/desk_checkout.html"
    # htmx swaps only a 2xx answer in: a refusal is shown in the polled partial with a 200.
    status = 409 if error and not is_htmx() else 200
    return render_template(template, payment=payment, payable=payment.payable, error=error), status


@bp.post("/payments/<int:payment_id>/checkout/cancel")
@requires("take_payments")
def cancel_desk_checkout(payment_id):
    """End a checkout the client did not finish: Stripe's page stops taking the payment."""
    payment = desk_payment(payment_id)
    try:
        payment = desk.cancel_checkout(payment, current_user)
    except REFUSALS as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("bills.desk_checkout", payment_id=payment_id), 303)
    if payment.status == PaymentStatus.SUCCEEDED:
        flash("The client had already paid: the payment is booked.", "info")
        return redirect(url_for("bills.show_payment", payment_id=payment.id), 303)
    if payment.status == PaymentStatus.PENDING:  # a bank payment the client already sent: it cannot be called back
        flash(
            "The client's bank payment is already on its way, so it cannot be cancelled here: "
            "it will be booked when the bank confirms it.",
            "info",
        )
        return redirect(url_for("bills.desk_checkout", payment_id=payment.id), 303)
    flash("The payment was cancelled; nothing was taken.", "info")
    return redirect(back_to(payment.payable), 303)
