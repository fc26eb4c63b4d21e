"""What every processor offers the rest of the app."""

from dataclasses import dataclass


class Declined(Exception):
    """The processor refused the payment; the message is safe to show the payer."""


@dataclass(frozen=True)
class CardDetails:
    number: str  # digits only
    exp_month: int
    exp_year: int
    cvc: str
    name: str

    @property
    def last4(self):
        return self.number[-4:]


@dataclass(frozen=True)
class Charge:
    reference: str
    fee_cents: int
    last4: str | None = None


class Processor:
    name = "processor"
    test_mode = False
    hosted = False  # True: the payer is sent to the processor's own page (no card form of ours)

    def charge_card(self, amount_cents, card, idempotency_key, description):
        """Take the money or raise Declined; returns a Charge."""
        raise NotImplementedError

    def fee_for(self, amount_cents):
        raise NotImplementedError
