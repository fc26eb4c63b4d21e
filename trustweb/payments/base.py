"""What every processor offers the rest of the app."""

from dataclasses import dataclass
from typing import Any


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
    def last4(self) -> str:
        return self.number[-4:]


@dataclass(frozen=True)
class Charge:
    reference: str
    fee_cents: int
    last4: str | None = None


@dataclass(frozen=True)
class Checkout:
    reference: str  # cs_...
    url: str


@dataclass(frozen=True)
class CheckoutState:
    """What the processor says about a checkout: paid, still pending (a bank payment), or failed/open."""

    status: str  # "paid", "pending", "failed" or "open"
    payment_reference: str | None = None  # pi_...
    method: str = "card"  # card or ach
    fee_cents: int = 0


class Processor:
    name = "processor"
    test_mode = False
    hosted = False  # True: the payer is sent to the processor's own page (no card form of ours)

    # A processor with a card form of its own (hosted False):

    def charge_card(self, amount_cents: int, card: CardDetails, idempotency_key: str, description: str) -> Charge:
        """Take the money or raise Declined; returns a Charge."""
        raise NotImplementedError

    def fee_for(self, amount_cents: int) -> int:
        raise NotImplementedError

    # A hosted processor (hosted True): the payer pays on its page, and it reports back.

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
        """A checkout page for the payer to pay on."""
        raise NotImplementedError

    def checkout_state(self, reference: str) -> CheckoutState:
        raise NotImplementedError

    def expire_checkout(self, reference: str) -> bool:
        raise NotImplementedError

    def refund(self, payment_reference: str, amount_cents: int, key: str) -> str:
        """Give money back to the payer; returns the refund's reference."""
        raise NotImplementedError

    def refunds_of(self, payment_reference: str) -> list[dict[str, Any]]:
        raise NotImplementedError
