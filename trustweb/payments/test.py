"""The test processor: no money moves. The default on a new install and in the demo.

It behaves like a card network's test mode: the well-known test numbers
succeed (4242 4242 4242 4242 and the other brands' equivalents), the
well-known decline numbers are declined with the message a real processor
gives, and anything else that passes the Luhn check succeeds. Its fee is the
firm's configured rate (2.9% + 30 cents unless changed), taken in the currency
of the account paid into, which the Charge it returns records.
"""

import hashlib
import secrets

from trustweb.payments.base import AuthenticationRequired, CardDetails, Charge, Declined, Processor, SavedDetails

DECLINES = {
    "4000000000000002": "Your card was declined. Please use a different card or contact your bank.",
    "4000000000009995": "Your card has insufficient funds. Please use a different card.",
    "4000000000009987": "Your card was reported lost. Please use a different card or contact your bank.",
    "4000000000009979": "Your card was reported stolen. Please use a different card or contact your bank.",
    "4000000000000069": "Your card has expired.",
    "4000000000000127": "Your card's security code is incorrect.",
    "4000000000000119": "An error occurred while processing your card. Please try again.",
}


# Stripe's test cards for saved methods: saved fine, then every later charge declined, or every later charge
# wanting the cardholder to confirm it. The test processor keeps which behaviour in the saved reference.
SAVED_BEHAVIOUR = {"4000000000000341": "decline", "4000002760003184": "authenticate"}
BRANDS = {"4": "visa", "5": "mastercard", "2": "mastercard", "3": "amex", "6": "discover"}


class TestProcessor(Processor):
    name = "test"
    test_mode = True

    def __init__(self, basis_points: int = 290, fixed_cents: int = 30) -> None:
        self.basis_points = basis_points
        self.fixed_cents = fixed_cents

    def fee_for(self, amount_cents: int) -> int:
        # Rounded half up to the cent, in integers; never more than the payment itself.
        fee = (amount_cents * self.basis_points + 5_000) // 10_000 + self.fixed_cents
        return min(fee, amount_cents)

    def charge_card(
        self, amount_cents: int, card: CardDetails, idempotency_key: str, description: str, *, currency: str
    ) -> Charge:
        if card.number in DECLINES:
            raise Declined(DECLINES[card.number])
        reference = "test_ch_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        # The fee is the same rate in any currency, and in the charge's currency.
        return Charge(reference=reference, fee_cents=self.fee_for(amount_cents), last4=card.last4, currency=currency)

    def save_card(self, card: CardDetails, idempotency_key: str) -> SavedDetails:
        if card.number in DECLINES:
            raise Declined(DECLINES[card.number])
        behaviour = SAVED_BEHAVIOUR.get(card.number, "ok")
        return SavedDetails(
            method_reference=f"test_pm_{behaviour}_{secrets.token_hex(12)}",
            customer_reference=None,
            kind="card",
            brand=BRANDS.get(card.number[0], "card"),
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            holder_name=card.name,
        )

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
        if method_reference.startswith("test_pm_decline_"):
            raise Declined(DECLINES["4000000000000002"])
        if method_reference.startswith("test_pm_authenticate_"):
            raise AuthenticationRequired("Your bank asks you to confirm this payment yourself.")
        reference = "test_ch_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        return Charge(reference=reference, fee_cents=self.fee_for(amount_cents), currency=currency)

    def forget_saved(self, method_reference: str) -> None:
        """Nothing is kept at the test processor: the reference alone was the method."""
