"""Stripe's webhook events, each applied once whatever the order or number of deliveries.

Every handler is idempotent on its own (a checkout is settled under the
request's lock and only while pending; refunds and disputes are keyed by
Stripe's ids, unique in the database), and the event id is recorded once
handled, so a redelivered event is acknowledged without being looked at. An
event that arrives early (a refund before the payment's own event) first
settles the payment from Stripe's current state. Unknown events, and events
for payments that are not ours, are acknowledged and ignored: Stripe's events
only ever touch payments Stripe took (never one of the test processor's, nor
one recorded by hand whose reference happens to look like Stripe's).
"""

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from trustweb.extensions import db
from trustweb.models import BankAccount, FirmSettings, Payment, PaymentStatus, ProcessorEvent
from trustweb.models.payments import RECEIVED
from trustweb.payments import processor_named
from trustweb.payments.stripe import ProcessorError
from trustweb.refusals import ServiceError
from trustweb.services import method_setup
from trustweb.services.checkout import payment_for_checkout, settle_checkout
from trustweb.services.refunds import close_dispute, open_dispute, processor_refund

PROCESSOR = "stripe"


def apply_event(event: Mapping[str, Any]) -> str:
    """Apply one verified event; returns what happened, in words."""
    event_id, event_type = event["id"], event["type"]
    if db.session.scalar(select(ProcessorEvent.id).where(ProcessorEvent.event_id == event_id)):
        return "already applied"
    handler = HANDLERS.get(event_type)
    outcome = handler(event["data"]["object"]) if handler else "ignored: not an event TrustWeb uses"
    db.session.add(ProcessorEvent(processor=PROCESSOR, event_id=event_id, event_type=event_type, outcome=outcome[:300]))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # the same event, delivered twice at once: the other delivery recorded it
        return "already applied"
    return outcome


def _checkout(session: Mapping[str, Any]) -> str:
    if session.get("mode") == "setup":
        return _setup(session)
    payment = payment_for_checkout(session.get("id"), PROCESSOR)
    if payment is None:
        return "ignored: a checkout TrustWeb did not start"
    payment = settle_checkout(payment)
    return f"payment {payment.id} is {payment.status}"


def _setup(session: Mapping[str, Any]) -> str:
    """A client saved a card or bank account on Stripe's page: recorded unless their return already did."""
    metadata = session.get("metadata") or {}
    account_id = str(metadata.get("account") or "")
    if metadata.get("purpose") != method_setup.PURPOSE or not (account_id.isdigit() and len(account_id) < 10):
        return "ignored: a setup TrustWeb did not start"
    account = db.session.get(BankAccount, int(account_id))
    if account is None:
        return "ignored: a setup for an account TrustWeb no longer has"
    state = method_setup.read_setup(account, str(session.get("id") or ""))
    try:
        method = method_setup.record_setup(state)
    except method_setup.LinkSpent as error:
        return f"refused: {error}"  # final: the link saved its one method already (or expired)
    return f"saved method {method.id}" if method is not None else "ignored: the setup is not complete"


def _intent(intent: Mapping[str, Any]) -> str:
    """A PaymentIntent made without a checkout (a saved bank account charged off session) succeeded or failed:
    its pending payment is booked or failed, once, under its request's or invoice's lock."""
    payment = db.session.scalar(
        select(Payment).where(Payment.processor_reference == intent.get("id"), Payment.processor == PROCESSOR)
    )
    if payment is None:
        return "ignored: a payment TrustWeb did not take"
    if payment.status == PaymentStatus.PENDING:
        payment = settle_checkout(payment)
    return f"payment {payment.id} is {payment.status}"


def _payment_by_intent(intent: object) -> Payment | None:
    """Our payment for a PaymentIntent, settled first if its own event has not come yet."""
    if isinstance(intent, dict):
        intent = intent.get("id")
    if not intent:
        return None
    payment = db.session.scalar(
        select(Payment).where(Payment.processor_reference == intent, Payment.processor == PROCESSOR)
    )
    if payment is None:
        return None
    if payment.status == PaymentStatus.PENDING:
        payment = settle_checkout(payment)
    return payment if payment.status in RECEIVED else None


def _payment_for_intent_or_checkout(obj: Mapping[str, Any]) -> Payment | None:
    payment = _payment_by_intent(obj.get("payment_intent"))
    if payment is None:
        # Before the checkout's own event the payment is known only by its checkout: find it by metadata.
        reference = (obj.get("metadata") or {}).get("payment")
        if reference and reference.isascii() and reference.isdigit() and len(reference) < 10:
            candidate = db.session.get(Payment, int(reference))
            if (
                candidate is not None
                and candidate.processor == PROCESSOR
                and candidate.status == PaymentStatus.PENDING
                and candidate.checkout_reference
            ):
                candidate = settle_checkout(candidate)
                if candidate.processor_reference == (obj.get("payment_intent") or None):
                    payment = candidate
    return payment


def _refunded(charge: Mapping[str, Any]) -> str:
    payment = _payment_for_intent_or_checkout(charge)
    if payment is None:
        return "ignored: a charge TrustWeb did not take"
    refunds = (charge.get("refunds") or {}).get("data")
    if refunds is None:
        # Stripe no longer puts the refunds in this event: ask for them, by the payment's intent (asked with
        # none, Stripe would list every refund of the account).
        if payment.processor_reference is None:
            raise ServiceError(f"Payment {payment.id} has no Stripe payment intent to list its refunds by.")
        processor = processor_named(PROCESSOR, payment.bank_account, FirmSettings.get())
        try:
            refunds = processor.refunds_of(payment.processor_reference)
        except ProcessorError as error:
            raise ServiceError(f"Stripe could not list the refunds: {error}") from error
    booked = 0
    for refund in sorted(refunds, key=lambda r: r.get("created") or 0):
        if refund.get("status", "succeeded") in ("succeeded", "pending"):
            booked += bool(processor_refund(payment, refund["id"], int(refund["amount"])))
    db.session.commit()
    return f"{booked} refund(s) booked on payment {payment.id}"


def _is_inquiry(dispute: Mapping[str, Any]) -> bool:
    """An inquiry (status warning_...) withdraws no money; nor does a dispute before its funds are withdrawn."""
    if str(dispute.get("status") or "").startswith("warning"):
        return True
    transactions = dispute.get("balance_transactions")
    return transactions is not None and not any(int(t.get("amount") or 0) < 0 for t in transactions)


def _dispute_created(dispute: Mapping[str, Any]) -> str:
    if _is_inquiry(dispute):
        return "ignored: an inquiry; no money was withdrawn"
    payment = _payment_for_intent_or_checkout(dispute)
    if payment is None:
        return "ignored: a charge TrustWeb did not take"
    fee = sum(int(t.get("fee") or 0) for t in dispute.get("balance_transactions") or [])
    opened = open_dispute(payment, dispute["id"], int(dispute["amount"]), fee)
    db.session.commit()
    return f"chargeback on payment {payment.id}" if opened else "chargeback already booked"


def _dispute_closed(dispute: Mapping[str, Any]) -> str:
    if str(dispute.get("status") or "").startswith("warning"):
        return "ignored: an inquiry closed; no money had been withdrawn"
    payment = _payment_for_intent_or_checkout(dispute)
    if payment is None:
        return "ignored: a charge TrustWeb did not take"
    # Closed before we heard it opened (events out of order): book the opening first.
    _dispute_created(dispute)
    # A won dispute may give the fee back: the balance transactions' fees then net to zero.
    fees = [int(t.get("fee") or 0) for t in dispute.get("balance_transactions") or []]
    returned = (fees[0] - max(sum(fees), 0)) if fees else 0
    closed = close_dispute(payment, dispute["id"], won=dispute.get("status") == "won", fee_returned_cents=returned)
    db.session.commit()
    return f"dispute {dispute.get('status')}" if closed else "dispute already closed"


HANDLERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "checkout.session.completed": _checkout,
    "checkout.session.async_payment_succeeded": _checkout,
    "checkout.session.async_payment_failed": _checkout,
    "payment_intent.succeeded": _intent,
    "payment_intent.payment_failed": _intent,
    "charge.refunded": _refunded,
    "charge.dispute.created": _dispute_created,
    "charge.dispute.closed": _dispute_closed,
}
