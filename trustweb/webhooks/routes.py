"""Where processors tell us what happened: POST /webhooks/stripe, verified by signature."""

import time

import stripe
from flask import current_app, jsonify, request
from sqlalchemy import select

from trustweb.auth.permissions import public
from trustweb.extensions import csrf, db, limiter
from trustweb.models import BankAccount
from trustweb.payments import stripe_keys
from trustweb.refusals import REFUSALS
from trustweb.services.webhooks import apply_event
from trustweb.webhooks import bp

TOLERANCE = 300  # seconds a signature's time may differ from ours, either way


def signed_at(header):
    """The time (t=) in a Stripe-Signature header, the last one as the library reads it; None if not a number."""
    value = dict(item.strip().partition("=")[::2] for item in header.split(",")).get("t", "")
    return int(value) if value.isascii() and value.isdigit() else None


def too_far_ahead(header):
    """The library refuses a signature older than the tolerance but not one from the future: so do we."""
    stamp = signed_at(header)
    return stamp is None or stamp > time.time() + TOLERANCE


def webhook_secrets():
    """The endpoint secrets of every account set to Stripe (trust and operating may be separate Stripe accounts)."""
    # Also accounts switched away from Stripe since: their earlier payments still get Stripe's events.
    accounts = db.session.scalars(
        select(BankAccount).where(
            (BankAccount.processor == "stripe") | BankAccount.stripe_webhook_secret_enc.is_not(None)
        )
    ).all()
    environment = [keys.get("webhook_secret") for keys in current_app.config["STRIPE_KEYS"].values()]
    return list(dict.fromkeys(s for s in [*(stripe_keys(a).webhook_secret for a in accounts), *environment] if s))


@bp.post("/stripe")
@csrf.exempt  # Stripe cannot send our CSRF token; the signature proves the sender instead
@limiter.limit("600 per minute")
@public
def stripe_events():
    """Verify the signature over the raw body (5 minutes' tolerance either way), then apply the event once."""
    payload = request.get_data()
    signature = request.headers.get("Stripe-Signature", "")
    secrets = webhook_secrets()
    if not secrets:
        return jsonify(error="No Stripe webhook secret is configured."), 400
    event = None
    for secret in secrets:
        try:
            event = stripe.Webhook.construct_event(payload, signature, secret, tolerance=TOLERANCE).to_dict()
            break
        except stripe.SignatureVerificationError:
            continue
        except ValueError:
            return jsonify(error="The body is not a Stripe event."), 400
    if event is None:
        return jsonify(error="The signature does not match, or it is older than five minutes."), 400
    if too_far_ahead(signature):
        return jsonify(error="The signature's time is more than five minutes ahead of ours."), 400
    try:
        outcome = apply_event(event)
    except REFUSALS as error:
        db.session.rollback()
        # Not applied: Stripe delivers it again later (until then, nothing was booked).
        return jsonify(error=str(error)), 503
    return jsonify(received=True, outcome=outcome)
