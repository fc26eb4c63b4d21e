"""Stripe through the official library: Checkout Sessions for card and US bank (ACH) payments.

The payer types card or bank details on Stripe's own page, never on ours (PCI
SAQ-A). We create a Checkout Session, send the payer to its URL, and learn the
outcome from Stripe: the signed webhook, or the session read back when the
payer returns. The fee is read from the charge's balance transaction, never
guessed.
"""

from typing import TYPE_CHECKING, Any

import stripe

from trustweb.payments.base import Checkout, CheckoutState, Processor

if TYPE_CHECKING:
    from stripe.params.checkout import SessionCreateParams

EXPAND = ["payment_intent.latest_charge.balance_transaction"]
TIMEOUT_SECONDS = 10


class ProcessorError(Exception):
    """Stripe could not be reached or refused the call; the message is safe to show staff."""


class StripeProcessor(Processor):
    name = "stripe"
    hosted = True  # the payer is sent to the processor's page

    def __init__(self, secret_key: str, webhook_secret: str | None = None, api_base: str | None = None) -> None:
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.test_mode = secret_key.startswith(("sk_test_", "rk_test_"))
        # A short timeout: these calls run while the request's row is locked.
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=1,
            http_client=stripe.new_default_http_client(timeout=TIMEOUT_SECONDS),
        )

    def create_checkout(
        self,
        *,
        amount_cents: int,
        currency: str,
        description: str,
        success_url: str,
        cancel_url: str,
        metadata: dict[str, str],
        email: str | None,
        key: str,
    ) -> Checkout:
        params: SessionCreateParams = {
            "mode": "payment",
            "allowed_payment_method_types": ["card", "us_bank_account"],
            "line_items": [
                {
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": amount_cents,
                        "product_data": {"name": description},
                    },
                    "quantity": 1,
                }
            ],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": metadata["payment"],
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
        }
        if email:
            params["customer_email"] = email
        try:
            session = self.client.v1.checkout.sessions.create(params, {"idempotency_key": key})
        except stripe.StripeError as error:
            raise ProcessorError(_message(error)) from error
        if session.url is None:  # Stripe gives every hosted payment session a page; this says so if it did not
            raise ProcessorError("Stripe gave no checkout page for this payment.")
        return Checkout(reference=session.id, url=session.url)

    def checkout_state(self, reference: str) -> CheckoutState:
        try:
            session = self.client.v1.checkout.sessions.retrieve(reference, {"expand": EXPAND}).to_dict()
        except stripe.StripeError as error:
            raise ProcessorError(_message(error)) from error
        intent = session.get("payment_intent")
        intent_id = intent if isinstance(intent, str) or intent is None else intent.get("id")
        method = "ach" if _is_bank_payment(intent) else "card"
        if session.get("payment_status") in ("paid", "no_payment_required"):
            return CheckoutState("paid", intent_id, method, _fee(intent))
        if session.get("status") == "complete":
            # Complete but unpaid: a bank payment on its way, or one that failed.
            if isinstance(intent, dict) and intent.get("status") in ("requires_payment_method", "canceled"):
                return CheckoutState("failed", intent_id, method)
            return CheckoutState("pending", intent_id, "ach")
        if session.get("status") == "expired":
            return CheckoutState("failed", intent_id, method)
        return CheckoutState("open", intent_id, method)

    def expire_checkout(self, reference: str) -> bool:
        """End a checkout nobody finished; False when it cannot be (it was paid, or is already over)."""
        try:
            session = self.client.v1.checkout.sessions.retrieve(reference)
            if session.status != "open":
                return session.status == "expired"
            self.client.v1.checkout.sessions.expire(reference)
        except stripe.StripeError as error:
            raise ProcessorError(_message(error)) from error
        return True

    def refund(self, payment_reference: str, amount_cents: int, key: str) -> str:
        try:
            refund = self.client.v1.refunds.create(
                {"payment_intent": payment_reference, "amount": amount_cents}, {"idempotency_key": key}
            )
        except stripe.StripeError as error:
            raise ProcessorError(_message(error)) from error
        return refund.id

    def refunds_of(self, payment_reference: str) -> list[dict[str, Any]]:
        """Every refund of a payment as Stripe has it: [{"id", "amount", "status", "created"}]."""
        try:
            listed = self.client.v1.refunds.list({"payment_intent": payment_reference, "limit": 100})
        except stripe.StripeError as error:
            raise ProcessorError(_message(error)) from error
        return [refund.to_dict() for refund in listed.data]

    def verify_event(self, payload: bytes, signature: str) -> dict[str, Any]:
        """The event, once its signature checks out (5 minutes' tolerance); raises SignatureVerificationError."""
        event = stripe.Webhook.construct_event(payload, signature, self.webhook_secret, tolerance=300)
        return event.to_dict()


def _message(error: stripe.StripeError) -> str:
    return getattr(error, "user_message", None) or str(error) or type(error).__name__


def _is_bank_payment(intent: object) -> bool:
    if not isinstance(intent, dict):
        return False
    types = intent.get("payment_method_types") or []
    charge = intent.get("latest_charge")
    if isinstance(charge, dict):
        details = charge.get("payment_method_details") or {}
        return details.get("type") == "us_bank_account"
    return types == ["us_bank_account"]


def _fee(intent: object) -> int:
    charge = intent.get("latest_charge") if isinstance(intent, dict) else None
    transaction = charge.get("balance_transaction") if isinstance(charge, dict) else None
    return int(transaction.get("fee") or 0) if isinstance(transaction, dict) else 0
