"""What every processor offers the rest of the app."""

from dataclasses import dataclass
from typing import Any


class Declined(Exception):
    """The processor refused the payment; the message is safe to show the payer."""


class AuthenticationRequired(Declined):
    """The card's bank wants its holder to confirm this payment (3-D Secure), which a charge made without them
    (a plan's instalment, an automatic top-up) cannot do: the client is sent a link to pay it themselves."""


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
class ForeignFee:
    """A fee the processor reported in another currency than the payment's (Stripe settling a CAD charge in
    USD): never booked as the payment's currency, never converted; staff book it by hand."""

    amount_cents: int
    currency: str


@dataclass(frozen=True)
class Charge:
    reference: str
    fee_cents: int  # in the payment's currency; 0 when the processor's fee was in another (foreign_fee)
    last4: str | None = None
    pending: bool = False  # a bank payment on its way: the processor confirms it later
    currency: str = "USD"  # what the processor charged in: the account's currency
    foreign_fee: ForeignFee | None = None


@dataclass(frozen=True)
class SavedDetails:
    """A method saved with the processor, as the processor describes it (never its number)."""

    method_reference: str  # pm_... for Stripe
    customer_reference: str | None  # cus_... for Stripe
    kind: str  # card or us_bank_account
    brand: str | None
    last4: str | None
    exp_month: int | None = None
    exp_year: int | None = None
    holder_name: str | None = None


@dataclass(frozen=True)
class SetupState:
    """What the processor says about a setup checkout: complete with the method it saved, open, or expired."""

    status: str  # "complete", "open", "expired" or "unknown"
    details: SavedDetails | None
    metadata: dict[str, str]


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
    fee_cents: int = 0  # in the payment's currency; 0 when the processor's fee was in another (foreign_fee)
    foreign_fee: ForeignFee | None = None


class Processor:
    name = "processor"
    test_mode = False
    hosted = False  # True: the payer is sent to the processor's own page (no card form of ours)

    # A processor with a card form of its own (hosted False):

    def charge_card(
        self, amount_cents: int, card: CardDetails, idempotency_key: str, description: str, *, currency: str
    ) -> Charge:
        """Take the money, in the currency of the account it goes to, or raise Declined; returns a Charge."""
        raise NotImplementedError

    def fee_for(self, amount_cents: int) -> int:
        raise NotImplementedError

    def save_card(self, card: CardDetails, idempotency_key: str) -> SavedDetails:
        """Keep a card for later charges (a processor with a card form of its own); raises Declined."""
        raise NotImplementedError

    # Either kind: a saved method charged without its holder present (off session).

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
        """Take the money from a saved method; raises Declined (AuthenticationRequired when the bank wants its
        holder to confirm)."""
        raise NotImplementedError

    def forget_saved(self, method_reference: str) -> None:
        """Detach a saved method at the processor, so it can never be charged again."""
        raise NotImplementedError

    # A hosted processor saves a method on its own page too (a setup checkout).

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
        """A page where the client saves a card or bank account for later (no money taken)."""
        raise NotImplementedError

    def setup_state(self, reference: str) -> SetupState:
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
