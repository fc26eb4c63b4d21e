"""Stripe through the official library: Checkout Sessions for card and US bank (ACH) payments.

The payer types card or bank details on Stripe's own page, never on ours (PCI
SAQ-A). We create a Checkout Session, send the payer to its URL, and learn the
outcome from Stripe: the signed webhook, or the session read back when the
payer returns. The fee is read from the charge's balance transaction, never
guessed, and only in the charge's own currency: when Stripe settles a charge in
another (a CAD charge on an account paid out in USD), the fee is reported apart
(`ForeignFee`), never booked as CAD cents and never converted.

A client saves a card or bank account the same way, on a setup-mode session for
a Customer; what we keep is the PaymentMethod's id and its brand, last four and
expiry. Charging it later is an off-session PaymentIntent confirmed at once.
"""

from typing import TYPE_CHECKING, Any

import stripe

from trustweb.payments.base import (
    AuthenticationRequired,
    Charge,
    Checkout,
    CheckoutState,
    Declined,
    ForeignFee,
    Processor,
    SavedDetails,
    SetupState,
)

if TYPE_CHECKING:
    from stripe.params import PaymentIntentCreateParams
    from stripe.params.checkout import SessionCreateParams

EXPAND = ["payment_intent.latest_charge.balance_transaction"]
INTENT_EXPAND = ["latest_charge.balance_transaction"]
# Stripe's codes for a saved method that is already gone: forgetting it again is done.
GONE = ("payment_method_unexpected_state", "resource_missing")
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
            # A US bank payment (ACH) is taken in US dollars only: an account in another currency takes cards.
            "allowed_payment_method_types": ["card", "us_bank_account"] if currency.lower() == "usd" else ["card"],
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
            return CheckoutState("paid", intent_id, method, *_fee(intent))
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

    def create_setup_checkout(
        self,
        *,
        customer_reference: str | None,
        email: str | None,
        name: str,
        currency: str,
        success_url: str,
        cancel_url: str,
        metadata: dict[str, str],
        key: str,
    ) -> Checkout:
        """A setup-mode Checkout Session for the client's Customer (made first when they have none)."""
        currency = currency.lower()
        try:
            if customer_reference is None:
                customer = self.client.v1.customers.create(
                    {
                        "name": name,
                        "metadata": {"contact": metadata.get("contact", "")},
                        **({"email": email} if email else {}),
                    },
                    {"idempotency_key": f"customer-{key}"},
                )
                customer_reference = customer.id
            params: SessionCreateParams = {
                "mode": "setup",
                "customer": customer_reference,
                "currency": currency,
                "allowed_payment_method_types": ["card", "us_bank_account"] if currency == "usd" else ["card"],
                "success_url": success_url,
                "cancel_url": cancel_url,
                "metadata": metadata,
                "setup_intent_data": {"metadata": metadata},
            }
            session = self.client.v1.checkout.sessions.create(params, {"idempotency_key": f"setup-{key}"})
        except stripe.StripeError as error:
            raise ProcessorError(_message(error)) from error
        if session.url is None:
            raise ProcessorError("Stripe gave no page for saving a payment method.")
        return Checkout(reference=session.id, url=session.url)

    def setup_state(self, reference: str) -> SetupState:
        """How a setup checkout stands, with the method it saved (brand, last four, expiry; never a number)."""
        try:
            session = self.client.v1.checkout.sessions.retrieve(
                reference, {"expand": ["setup_intent.payment_method"]}
            ).to_dict()
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:  # an address with a session id Stripe never gave: nothing to record
                return SetupState("unknown", None, {})
            raise ProcessorError(_message(error)) from error
        except stripe.StripeError as error:
            raise ProcessorError(_message(error)) from error
        if session.get("mode") != "setup":
            raise ProcessorError(f"Checkout Session {reference} is not one that saves a payment method.")
        metadata = dict(session.get("metadata") or {})
        intent = session.get("setup_intent")
        intent = intent if isinstance(intent, dict) else {}
        method = intent.get("payment_method")
        if session.get("status") != "complete" or not isinstance(method, dict) or intent.get("status") != "succeeded":
            return SetupState("expired" if session.get("status") == "expired" else "open", None, metadata)
        return SetupState("complete", _saved_details(method, session.get("customer")), metadata)

    def charge_saved(
        self,
        amount_cents: int,
        *,
        currency: str,
        method_reference: str,
        customer_reference: str | None,
        idempotency_key: str,
        description: str,
        metadata: dict[str, str],
    ) -> Charge:
        """An off-session PaymentIntent confirmed at once: paid (card), on its way (bank), or refused."""
        params: PaymentIntentCreateParams = {
            "amount": amount_cents,
            "currency": currency.lower(),
            "payment_method": method_reference,
            "off_session": True,
            "confirm": True,
            "description": description[:1000],
            "metadata": metadata,
            "expand": INTENT_EXPAND,
        }
        if customer_reference:
            params["customer"] = customer_reference
        try:
            intent = self.client.v1.payment_intents.create(params, {"idempotency_key": f"saved-{idempotency_key}"})
        except stripe.CardError as error:
            if error.code == "authentication_required":
                raise AuthenticationRequired(
                    "Your bank asks you to confirm this payment yourself; it was not taken."
                ) from error
            raise Declined(_message(error)) from error
        except stripe.StripeError as error:
            raise ProcessorError(_message(error)) from error
        found = intent.to_dict()
        if found.get("status") == "succeeded":
            fee, foreign = _fee(found)
            return Charge(intent.id, fee, _charge_last4(found), currency=currency.upper(), foreign_fee=foreign)
        if found.get("status") == "processing":
            return Charge(reference=intent.id, fee_cents=0, pending=True, currency=currency.upper())
        if found.get("status") == "requires_action":
            raise AuthenticationRequired("Your bank asks you to confirm this payment yourself; it was not taken.")
        raise Declined("The payment did not go through.")

    def intent_state(self, reference: str) -> CheckoutState:
        """How a PaymentIntent made without a checkout (a saved method's charge) stands, as a checkout's would."""
        try:
            intent = self.client.v1.payment_intents.retrieve(reference, {"expand": INTENT_EXPAND}).to_dict()
        except stripe.StripeError as error:
            raise ProcessorError(_message(error)) from error
        method = "ach" if _is_bank_payment(intent) else "card"
        status = intent.get("status")
        if status == "succeeded":
            return CheckoutState("paid", reference, method, *_fee(intent))
        if status == "processing":
            return CheckoutState("pending", reference, method)
        if status in ("requires_payment_method", "canceled"):
            return CheckoutState("failed", reference, method)
        return CheckoutState("open", reference, method)

    def forget_saved(self, method_reference: str) -> None:
        """Detach the PaymentMethod from its Customer: Stripe will never charge it again."""
        try:
            self.client.v1.payment_methods.detach(method_reference)
        except stripe.InvalidRequestError as error:
            if error.code not in GONE:
                raise ProcessorError(_message(error)) from error
        except stripe.StripeError as error:
            raise ProcessorError(_message(error)) from error

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


def _saved_details(method: dict[str, Any], customer: object) -> SavedDetails:
    """A PaymentMethod as we keep it: the card's brand, last four and expiry, or the bank's name and last four."""
    customer_id = customer if isinstance(customer, str) else customer.get("id") if isinstance(customer, dict) else None
    holder = (method.get("billing_details") or {}).get("name")
    if method.get("type") == "us_bank_account":
        bank = method.get("us_bank_account") or {}
        return SavedDetails(
            method["id"], customer_id, "us_bank_account", bank.get("bank_name"), bank.get("last4"), holder_name=holder
        )
    card = method.get("card") or {}
    return SavedDetails(
        method["id"],
        customer_id,
        "card",
        card.get("brand"),
        card.get("last4"),
        exp_month=card.get("exp_month"),
        exp_year=card.get("exp_year"),
        holder_name=holder,
    )


def _charge_last4(intent: dict[str, Any]) -> str | None:
    charge = intent.get("latest_charge")
    details = charge.get("payment_method_details") if isinstance(charge, dict) else None
    if not isinstance(details, dict):
        return None
    last4 = (details.get(details.get("type") or "") or {}).get("last4")
    return last4 if isinstance(last4, str) else None


def _fee(intent: object) -> tuple[int, ForeignFee | None]:
    """Stripe's fee on the charge in the charge's currency, or 0 and the fee apart when its balance transaction
    is in another currency (one Stripe account for a USD and a CAD trust account, paid out in USD)."""
    charge = intent.get("latest_charge") if isinstance(intent, dict) else None
    transaction = charge.get("balance_transaction") if isinstance(charge, dict) else None
    if not isinstance(charge, dict) or not isinstance(transaction, dict):
        return 0, None
    fee = int(transaction.get("fee") or 0)
    settled_in = str(transaction.get("currency") or "").upper()
    charged_in = str(charge.get("currency") or "").upper()
    if fee and settled_in != charged_in:
        return 0, ForeignFee(fee, settled_in or "an unknown currency")
    return fee, None
