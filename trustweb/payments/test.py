"""The test processor: no money moves. The default on a new install and in the demo.

It behaves like a card network's test mode: the well-known test numbers
succeed (4242 4242 4242 4242 and the other brands' equivalents), the
well-known decline numbers are declined with the message a real processor
gives, and anything else that passes the Luhn check succeeds. Its fee is the
firm's configured rate (2.9% + 30 cents unless changed).
"""

import hashlib

from trustweb.payments.base import CardDetails, Charge, Declined, Processor

DECLINES = {
    "4000000000000002": "Your card was declined. Please use a different card or contact your bank.",
    "4000000000009995": "Your card has insufficient funds. Please use a different card.",
    "4000000000009987": "Your card was reported lost. Please use a different card or contact your bank.",
    "4000000000009979": "Your card was reported stolen. Please use a different card or contact your bank.",
    "4000000000000069": "Your card has expired.",
    "4000000000000127": "Your card's security code is incorrect.",
    "4000000000000119": "An error occurred while processing your card. Please try again.",
}


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

    def charge_card(self, amount_cents: int, card: CardDetails, idempotency_key: str, description: str) -> Charge:
        if card.number in DECLINES:
            raise Declined(DECLINES[card.number])
        reference = "test_ch_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        return Charge(reference=reference, fee_cents=self.fee_for(amount_cents), last4=card.last4)
