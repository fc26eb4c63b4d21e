"""One checkout for a bill and a top-up: a client signed in to the portal pays an open invoice and an open trust
request in one action, as two payments, never one.

The invoice's money is the firm's (earned fees, into the operating account); the request's is the client's (into
the trust account). One charge into one account would mix the two, so each is charged through its own account's
processor, as a Payment of its own with its own idempotency key, both made from the one checkout key the page
carried (`<key>:invoice`, `<key>:trust`). Each is a transaction of its own through the pay link's money path
(services/payments.pay_own_by_card, services/checkout.begin_checkout): the invoice's lock, charge, book,
commit; then the request's. No transaction holds both locks, and a failure of the second leaves the first standing;
the portal's summary says what was paid and what was not.

The invoice goes first: it is a debt for work already done, often past due and being chased, while the request
asks for money ahead of work. When the card takes only one of the two, it pays what is owed; a trust deposit not
made leaves nothing to undo, and the client pays it later with one button. When the first is not taken, the second
is not tried: nothing is paid, and the page says so.

The test processor (a card form of ours) takes both charges in one post; with Stripe each account's processor
gets a Checkout Session of its own (their keys may differ), in two steps shown as "step 1 of 2" and "step 2 of 2".
Where one account's processor has a card form and the other's is hosted, the two are not offered together.
Each payment is a receipt of its own, with its own number and receipt email: they went into different accounts.
"""

from dataclasses import dataclass

from sqlalchemy import select

from trustweb.extensions import db
from trustweb.models import Contact, FirmSettings, Invoice, Payable, Payment, PaymentStatus, TrustRequest
from trustweb.payments import CardDetails, Declined, NotConfigured, Processor, processor_for
from trustweb.refusals import ServiceError
from trustweb.services import client_account
from trustweb.services.checkout import begin_checkout
from trustweb.services.firm import currency_of
from trustweb.services.payments import pay_own_by_card

INVOICE, TRUST = "invoice", "trust"


@dataclass
class Item:
    """One of the two: what it pays, which part of the checkout it is, and what has been paid on it so far."""

    payable: Payable
    part: str  # INVOICE or TRUST: the end of its payment's idempotency key
    payment: Payment | None = None

    def key(self, checkout: str) -> str:
        return f"{checkout}:{self.part}"

    @property
    def currency(self) -> str:
        return currency_of(self.payable.bank_account)

    @property
    def paid(self) -> bool:
        return self.payment is not None and self.payment.status == PaymentStatus.SUCCEEDED

    @property
    def on_its_way(self) -> bool:
        """A bank payment (ACH) sent and waiting for the bank: booked in a few days when the bank confirms it."""
        return (
            self.payment is not None and self.payment.status == PaymentStatus.PENDING and self.payment.method == "ach"
        )


@dataclass
class Pair:
    """An invoice and a trust request of one client, paid together."""

    invoice: Item
    request: Item

    @property
    def items(self) -> tuple[Item, Item]:
        """In the order they are charged: the invoice first."""
        return (self.invoice, self.request)

    @property
    def total_cents(self) -> int | None:
        """Both amounts due together; None when the two accounts hold different currencies (never summed)."""
        if self.invoice.currency != self.request.currency:
            return None
        return self.invoice.payable.payable_cents + self.request.payable.payable_cents

    @property
    def started(self) -> bool:
        """True once this checkout has made a payment on either (with_payments())."""
        return any(item.payment is not None for item in self.items)

    def next_item(self) -> Item | None:
        """The step a hosted checkout is at: the first item neither paid nor on its way by bank (its step is done:
        the bank confirms it in days, and the client goes on meanwhile); None when both are, or when that one's
        checkout failed (it is then paid on its own, with a new checkout)."""
        item = next((item for item in self.items if not (item.paid or item.on_its_way)), None)
        if item is None or (item.payment is not None and item.payment.status == PaymentStatus.FAILED):
            return None
        return item


def pair_of(contact: Contact, invoice_id: int, request_id: int) -> Pair | None:
    """The client's own invoice and trust request (sent to them, in any state); None when either is not theirs."""
    invoice = client_account.own_invoice(contact, invoice_id)
    trust_request = client_account.own_request(contact, request_id)
    if invoice is None or trust_request is None:
        return None
    return Pair(Item(invoice, INVOICE), Item(trust_request, TRUST))


def first_pair(invoices: list[Invoice], requests: list[TrustRequest]) -> tuple[Invoice, TrustRequest] | None:
    """What the portal's home offers to pay together: its first open invoice with something to pay by card, and its
    first open request (both lists are the client's own, in the order the home page shows them)."""
    invoice = next((invoice for invoice in invoices if invoice.payable_cents > 0), None)
    return (invoice, requests[0]) if invoice is not None and requests else None


def processors(pair: Pair) -> tuple[Processor, Processor]:
    """Each item's account's processor (raises NotConfigured for an account set up wrongly)."""
    settings = FirmSettings.get()
    return processor_for(pair.invoice.payable.bank_account, settings), processor_for(
        pair.request.payable.bank_account, settings
    )


def refusal(pair: Pair) -> str | None:
    """Why the two cannot be paid together now (a sentence for the client), or None."""
    for item in pair.items:
        payable = item.payable
        if not payable.is_open or payable.payable_cents <= 0:
            return f"{payable.number} has nothing left to pay by card."
    try:
        invoice_processor, trust_processor = processors(pair)
    except NotConfigured:
        return "Online payment is not available at the moment; please pay by wire or cheque."
    if invoice_processor.hosted != trust_processor.hosted:
        return "These two are paid in different ways: pay each on its own."
    return None


def hosted(pair: Pair) -> bool:
    """True when the two are paid on the processors' pages (Stripe), in two steps."""
    try:
        return all(processor.hosted for processor in processors(pair))
    except NotConfigured:
        return False


def with_payments(pair: Pair, checkout: str) -> Pair:
    """The pair with what this checkout has paid on each so far (a payment of another payable is not this one's)."""
    items = {item.key(checkout): item for item in pair.items}
    for payment in db.session.scalars(select(Payment).where(Payment.idempotency_key.in_(items))):
        item = items[payment.idempotency_key]
        if payment.payable is item.payable:
            item.payment = payment
    return pair


def pay_by_card(
    pair: Pair, amounts: dict[str, int], card: CardDetails, checkout: str, payer_email: str | None
) -> str | None:
    """Both charges on one card (the test processor), the invoice first, each in its own transaction.

    `amounts` are what the page showed for each part, and are what is charged (never more than is due, checked under
    each one's lock). Raises Declined or ServiceError when the first is not taken (nothing was); returns why the
    second was refused when it was (the first stands), or None. A declined second is a failed payment, which
    with_payments() finds.
    """
    first, second = pair.items
    payment = pay_own_by_card(first.payable, amounts[first.part], card, first.key(checkout), payer_email)
    if payment.status == PaymentStatus.FAILED:  # this checkout posted again after its first was declined
        raise Declined(payment.failure_message or "Your card was declined.")
    try:
        pay_own_by_card(second.payable, amounts[second.part], card, second.key(checkout), payer_email)
    except Declined:
        return None
    except ServiceError as error:
        db.session.rollback()
        return str(error)
    return None


def start_step(
    pair: Pair, amounts: dict[str, int], checkout: str, payer_email: str | None, *, success_url: str, cancel_url: str
) -> Payment | None:
    """The hosted checkout (Stripe) of the step the client is at: step 1 (the invoice), then, once it is paid, step 2
    (the request). Returns its pending payment (a double click returns the same one), or None when there is no step
    to take (both paid, or the first failed)."""
    item = with_payments(pair, checkout).next_item()
    if item is None:
        return None
    return begin_checkout(
        item.payable,
        amounts[item.part],
        item.key(checkout),
        payer_email or (pair.invoice.payment.payer_email if pair.invoice.payment else None),
        link=None,
        success_url=success_url,
        cancel_url=cancel_url,
    )
