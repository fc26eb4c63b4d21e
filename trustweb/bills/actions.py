"""One-click actions on a trust request: approve, send, copy link, revoke, void, record payment, remind, resend."""

from flask import flash, redirect, render_template
from flask_login import current_user

from trustweb.auth.permissions import requires
from trustweb.bills import bp
from trustweb.bills.forms import RequestPaymentForm, VoidForm
from trustweb.bills.pages import back_to, request_page
from trustweb.extensions import db
from trustweb.models import TrustRequest
from trustweb.refusals import REFUSALS
from trustweb.services import mail as outbox
from trustweb.services import payments as payment_service
from trustweb.services import requests as request_service
from trustweb.templating import money
from trustweb.views import attempt, button_action, get_or_404, is_htmx


def on_its_way(what, recipients):
    """What a Send button says: the email is in the outbox, and when it goes (never that it was delivered)."""
    return f"{what} for {', '.join(recipients)} is queued; {outbox.when_it_goes()}."


@bp.post("/requests/<int:request_id>/approve")
@requires("approve_requests")
def approve_request(request_id):
    trust_request = get_or_404(TrustRequest, request_id)
    return button_action(
        lambda: request_service.approve(trust_request, current_user),
        approved,
        back_to(trust_request),
    )


def approved(outcome):
    """What the request page says after Approve: sent too when its maker pressed Save and send."""
    number = outcome.request.number
    if outcome.sent:
        return f"{number} approved and sent: its email is on its way to {outcome.request.recipients}."
    if outcome.not_sent:
        return f"{number} approved but not sent: {outcome.not_sent}", "warning"
    return f"{number} approved; it can be sent."


@bp.post("/requests/<int:request_id>/send")
@requires("manage_requests")
def send_request(request_id):
    """Email the request (again) with a fresh pay link."""
    trust_request = get_or_404(TrustRequest, request_id)
    return button_action(
        lambda: request_service.send_request(trust_request, current_user),
        lambda message: on_its_way(trust_request.number, message.recipient_list),
        back_to(trust_request),
    )


@bp.post("/requests/<int:request_id>/link")
@requires("manage_requests")
def copy_link(request_id):
    """A new pay link to copy and share another way; shown once, never stored."""
    trust_request = get_or_404(TrustRequest, request_id)
    try:
        url = request_service.copy_link(trust_request, current_user)
    except REFUSALS as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(back_to(trust_request), 303)
    if is_htmx():
        return render_template("bills/_copy_link.html", url=url, trust_request=trust_request)
    flash(f"A new pay link for {trust_request.number}; copy it now, it is not shown again:", "info")
    flash(url, "link")
    return redirect(back_to(trust_request), 303)


@bp.post("/requests/<int:request_id>/revoke")
@requires("manage_requests")
def revoke_links(request_id):
    trust_request = get_or_404(TrustRequest, request_id)
    return button_action(
        lambda: request_service.revoke(trust_request, current_user),
        lambda count: f"{count} pay link(s) for {trust_request.number} no longer work. Send it again for a new one.",
        back_to(trust_request),
    )


@bp.post("/requests/<int:request_id>/void")
@requires("void_requests")
def void_request(request_id):
    trust_request = get_or_404(TrustRequest, request_id)
    form = VoidForm()
    if form.validate_on_submit():
        done, _ = attempt(form, lambda: request_service.void_request(trust_request, form.reason.data, current_user))
        if done:
            flash(f"{trust_request.number} is void; its pay links no longer work.", "success")
            return redirect(back_to(trust_request), 303)
    return request_page(trust_request, 422, void_form=form, open_form="void")


@bp.post("/requests/<int:request_id>/payments")
@requires("record_deposit")
def record_payment(request_id):
    """A cheque, wire or cash payment received by hand: the same trust deposit as a card payment."""
    trust_request = get_or_404(TrustRequest, request_id)
    form = RequestPaymentForm()
    if form.validate_on_submit():
        done, payment = attempt(
            form,
            lambda: payment_service.record_manual_payment(trust_request, **form.values(), user=current_user),
        )
        if done:
            amount = money(payment.amount_cents, payment.currency)
            flash(f"Payment {payment.receipt_number} of {amount} recorded.", "success")
            return redirect(back_to(trust_request), 303)
    return request_page(trust_request, 422, payment_form=form, open_form="payment")


@bp.post("/requests/<int:request_id>/remind")
@requires("manage_requests")
def send_reminder(request_id):
    trust_request = get_or_404(TrustRequest, request_id)
    return button_action(
        lambda: request_service.send_reminder(trust_request, current_user),
        lambda message: on_its_way(f"A reminder of {trust_request.number}", message.recipient_list),
        back_to(trust_request),
    )


@bp.post("/requests/<int:request_id>/resend")
@requires("manage_requests")
def resend(request_id):
    """Try the request's waiting emails again now."""
    return retry_emails(get_or_404(TrustRequest, request_id))


def retry_emails(payable):
    """The emails about a request or invoice that wait for their next try go to the front of the queue."""
    return button_action(
        lambda: outbox.retry_all(payable, current_user),
        lambda count: f"{count} email(s) will be tried again; {outbox.when_it_goes()}." if count else "Nothing waits.",
        back_to(payable),
    )
