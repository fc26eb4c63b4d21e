"""Pay both: one checkout for an open invoice and an open trust request of the signed-in client, as two payments
(services/combined_checkout.py says why, and in which order).

The invoice and the request are named in the address and found through the client's own queries, so another
client's (or a draft) is a 404; the form carries only the checkout key, the amounts the page showed and the card.
"""

import re
import secrets

from flask import abort, flash, redirect, render_template, request, url_for

from trustweb.auth.permissions import client
from trustweb.database import write_transaction
from trustweb.extensions import db, limiter
from trustweb.models import PaymentStatus
from trustweb.payments import Declined
from trustweb.portal import bp
from trustweb.portal.forms import PayBothCardForm, PayBothForm
from trustweb.portal.sessions import current_client
from trustweb.refusals import ServiceError
from trustweb.services import checkout as checkout_service
from trustweb.services import combined_checkout as combined
from trustweb.urls import external_url

CHECKOUT = re.compile(r"[A-Za-z0-9_-]{20,48}")


def own_pair(invoice_id, request_id, checkout=None):
    """The signed-in client's invoice and request (with what this checkout paid on them); a 404 when either is not
    theirs, or the checkout key is not one this page makes."""
    pair = combined.pair_of(current_client(), invoice_id, request_id)
    if pair is None or (checkout is not None and not CHECKOUT.fullmatch(checkout)):
        abort(404)
    return pair if checkout is None else combined.with_payments(pair, checkout)


def form_for(pair, hosted, formdata=None):
    form = (PayBothForm if hosted else PayBothCardForm)(formdata=formdata)
    if formdata is None:
        form.checkout.data = secrets.token_urlsafe(24)
        form.invoice_amount.data = str(pair.invoice.payable.payable_cents)
        form.trust_amount.data = str(pair.request.payable.payable_cents)
    return form


def page(pair, form, hosted, status=200, error=None):
    return render_template("portal/pay_both.html", pair=pair, form=form, hosted=hosted, error=error), status


@bp.get("/pay-both/<int:invoice_id>/<int:request_id>")
@client
def pay_both(invoice_id, request_id):
    """Both items, what each costs and where its money goes, and one form to pay them."""
    pair = own_pair(invoice_id, request_id)
    refused = combined.refusal(pair)
    if refused:
        flash(refused, "error")
        return redirect(url_for("portal.home"), 303)
    hosted = combined.hosted(pair)
    return page(pair, form_for(pair, hosted), hosted)


@bp.post("/pay-both/<int:invoice_id>/<int:request_id>")
@limiter.limit("20 per minute")
@client
def pay_both_now(invoice_id, request_id):
    """The card form (both charges now) or step 1 of 2 (Stripe's page for the invoice)."""
    pair = own_pair(invoice_id, request_id)
    hosted = combined.hosted(pair)
    form = form_for(pair, hosted, request.form)
    valid = form.validate_on_submit()
    # A checkout posted again (a double click, a reload) goes on to find its payments, even once both are paid.
    refused = None if valid and combined.with_payments(pair, form.checkout.data).started else combined.refusal(pair)
    if refused:
        flash(refused, "error")
        return redirect(url_for("portal.home"), 303)
    if not valid:
        return page(pair, retry(form), hosted, 422)
    if hosted:
        return next_step(pair, form)
    try:
        refused = combined.pay_by_card(pair, form.amounts(), form.card(), form.checkout.data, form.email.data)
    except Declined as error:
        return page(pair, retry(form), hosted, 402, error=f"{error} Nothing was taken for either.")
    except ServiceError as error:
        db.session.rollback()
        return page(pair, retry(form), hosted, 422, error=f"{error} Nothing was taken for either.")
    if refused:
        flash(refused, "error")
    return redirect(summary_url(pair, form.checkout.data), 303)


def retry(form):
    """The form again: a new checkout key, the card number and code cleared."""
    form.checkout.data = secrets.token_urlsafe(24)
    if isinstance(form, PayBothCardForm):
        form.number.data = form.cvc.data = ""
    return form


def summary_url(pair, checkout, external=False, **query):
    endpoint = "portal.pay_both_summary"
    ids = {"invoice_id": pair.invoice.payable.id, "request_id": pair.request.payable.id, "checkout": checkout}
    return external_url(endpoint, **ids) if external else url_for(endpoint, **ids, **query)


def next_step(pair, form):
    """Open the hosted checkout of the step the client is at and send them to it; else the summary."""
    checkout = form.checkout.data
    try:
        payment = combined.start_step(
            pair,
            form.amounts(),
            checkout,
            form.email.data or None,
            success_url=external_url(
                "portal.pay_both_return",
                invoice_id=pair.invoice.payable.id,
                request_id=pair.request.payable.id,
                checkout=checkout,
            )
            + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=summary_url(pair, checkout, external=True),
        )
    except ServiceError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(summary_url(pair, checkout), 303)
    if payment is not None and payment.status == PaymentStatus.PENDING and payment.checkout_url:
        return redirect(payment.checkout_url, 303)
    return redirect(summary_url(pair, checkout), 303)


@bp.post("/pay-both/<int:invoice_id>/<int:request_id>/<checkout>/next")
@limiter.limit("20 per minute")
@client
def pay_both_next(invoice_id, request_id, checkout):
    """Step 2 of 2 (or step 1 again, after coming back from Stripe's page without paying)."""
    pair = own_pair(invoice_id, request_id, checkout)
    form = PayBothForm()
    if not form.validate_on_submit() or form.checkout.data != checkout or not combined.hosted(pair):
        return redirect(summary_url(pair, checkout), 303)
    return next_step(pair, form)


@bp.get("/pay-both/<int:invoice_id>/<int:request_id>/<checkout>/return")
@limiter.limit("60 per minute")
@client
def pay_both_return(invoice_id, request_id, checkout):
    """Back from Stripe's page: settle that step's checkout through the pay link's path, then the summary."""
    pair = own_pair(invoice_id, request_id, checkout)
    reference = request.args.get("session_id", "")[:100]
    payment = next(
        (item.payment for item in pair.items if item.payment and item.payment.checkout_reference == reference), None
    )
    if payment is not None and payment.status == PaymentStatus.PENDING:  # else the webhook was first
        try:
            with write_transaction():
                checkout_service.settle_checkout(payment)
        except ServiceError:
            # Stripe could not be asked now: the webhook settles it, and the summary says it is on its way
            return redirect(summary_url(pair, checkout, confirming=reference), 303)
    return redirect(summary_url(pair, checkout), 303)


@bp.get("/pay-both/<int:invoice_id>/<int:request_id>/<checkout>")
@client
def pay_both_summary(invoice_id, request_id, checkout):
    """What this checkout paid and what it did not, with the way to pay what is left."""
    pair = own_pair(invoice_id, request_id, checkout)
    # Back from Stripe's page after paying, when Stripe could not be asked: that step's payment is on its way.
    reference = request.args.get("confirming", "")[:100]
    confirming = next(
        (item for item in pair.items if item.payment and item.payment.checkout_reference == reference), None
    )
    if confirming is not None and confirming.payment.status != PaymentStatus.PENDING:
        confirming = None
    step = pair.next_item() if combined.hosted(pair) else None
    form = None
    if step is not None and step is not confirming and step.payable.is_open and step.payable.payable_cents > 0:
        form = form_for(pair, True)
        form.checkout.data = checkout
    else:
        step = None
    return render_template("portal/pay_both_summary.html", pair=pair, step=step, form=form, confirming=confirming)
