"""Payments through a hosted checkout (Stripe): start it, then settle what the processor reports.

start_checkout() records a pending Payment under the request's (or invoice's) lock, with the
checkout key unique, and asks the processor for a Checkout Session for it.
settle_checkout() asks the processor how that checkout (or a saved bank account's
charge, which has no checkout) stands and books it, once: the webhook, the
payer's return to our page and a retried delivery all end here, and under the
request's (or invoice's) lock the first one books and the others find it done.
A bank payment (ACH) is booked when the processor confirms it and stays
uncleared for the account's hold days (clear_due_payments).
"""

from collections.abc import Callable
from datetime import date, timedelta
from typing import cast

from sqlalchemy import ColumnElement, func, select

from trustweb.extensions import db
from trustweb.models import FirmSettings, JournalEntry, Payable, PayLink, Payment, PaymentStatus, User
from trustweb.models.base import utcnow
from trustweb.models.payments import RECEIVED
from trustweb.payments import Processor, processor_for, processor_named
from trustweb.payments.stripe import ProcessorError, StripeProcessor
from trustweb.refusals import ServiceError
from trustweb.services import audit
from trustweb.services.payments import (
    PAYMENT_FIELDS,
    book_payment,
    check_amount,
    check_card_accepted,
    existing,
    lock_payable,
    new_payment,
    still_open,
)
from trustweb.services.trust import firm_today, mark_cleared
from trustweb.urls import external_url

# A checkout not finished within this time no longer holds back part of the amount due.
CHECKOUT_HOURS = 24


def _payments_of(payable: Payable) -> ColumnElement[bool]:
    return (Payment.invoice_id if payable.is_invoice else Payment.trust_request_id) == payable.id


def reserved_cents(payable: Payable) -> int:
    """What unfinished checkouts for the request (or invoice) may still bring in: recent ones, and bank payments
    on their way."""
    since = utcnow() - timedelta(hours=CHECKOUT_HOURS)
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(
                _payments_of(payable),
                Payment.status == PaymentStatus.PENDING,
                (Payment.created_at >= since) | (Payment.method == "ach"),
            )
        )
    )


def _abandon_open_checkouts(payable: Payable, processor: Processor) -> None:
    """The payer came back without paying (Back on Stripe's page): end those checkouts so they can start again."""
    pending = db.session.scalars(
        select(Payment).where(
            _payments_of(payable),
            Payment.status == PaymentStatus.PENDING,
            Payment.method == "card",
            Payment.checkout_reference.is_not(None),
        )
    ).all()
    for payment in pending:
        try:
            if processor.expire_checkout(cast(str, payment.checkout_reference)):  # selected IS NOT NULL
                payment.status, payment.failure_message = (
                    PaymentStatus.FAILED,
                    "The payer left the checkout without paying.",
                )
                audit.record("payment.abandoned", payment, after={"checkout": payment.checkout_reference}, user=None)
        except ProcessorError:
            continue  # paid meanwhile, or Stripe unreachable: it stays reserved
    db.session.flush()


def start_checkout(
    link: PayLink, token: str, amount_cents: int, idempotency_key: str, payer_email: str | None = None
) -> Payment:
    """The payer chose an amount: a pending payment and the processor's checkout page to send them to."""
    return begin_checkout(
        link.payable,
        amount_cents,
        idempotency_key,
        payer_email,
        link=link,
        success_url=external_url("pay.returned", token=token) + "?session_id={CHECKOUT_SESSION_ID}",
        cancel_url=external_url("pay.show", token=token),
    )


def begin_checkout(
    payable: Payable,
    amount_cents: int,
    idempotency_key: str,
    payer_email: str | None,
    *,
    link: PayLink | None,
    success_url: str,
    cancel_url: str,
) -> Payment:
    """A pending payment and the processor's checkout for it, through its pay link (start_checkout) or, with no link,
    for a client signed in to the portal (a step of the combined checkout), who comes back to the portal's pages."""
    payable = lock_payable(payable)
    earlier = existing(idempotency_key, payable)
    if earlier is not None:
        return earlier  # a double click: the same checkout again
    still_open(payable, link, "no payment was started")
    check_amount(payable, amount_cents)
    return open_checkout(
        payable,
        amount_cents,
        idempotency_key,
        payer_email=payer_email,
        user=None,
        return_urls=lambda payment: (success_url, cancel_url),
    )


def open_checkout(
    payable: Payable,
    amount_cents: int,
    idempotency_key: str,
    *,
    payer_email: str | None,
    user: User | None,
    return_urls: Callable[[Payment], tuple[str, str]],
) -> Payment:
    """A pending payment and the processor's Checkout Session for it: the pay link's and the desk's path alike.
    The caller holds the payable's lock and has checked the key and the amount; `return_urls(payment)` gives
    where the processor's page sends the payer when done and when they go back; `user` is the staff member who
    took it (None: the client on the pay page)."""
    check_card_accepted(payable)  # its fee is booked in its currency, or nothing is started
    processor = processor_for(payable.bank_account, FirmSettings.get())
    if not processor.hosted:
        raise ServiceError("This account takes cards on a form of ours, not on the processor's page.")
    if amount_cents > payable.payable_cents - reserved_cents(payable):
        _abandon_open_checkouts(payable, processor)
    if amount_cents > payable.payable_cents - reserved_cents(payable):
        raise ServiceError(
            "A payment for this is already in progress. Finish it in the other window, or wait a day for it to lapse."
        )
    payment = new_payment(
        payable,
        idempotency_key,
        amount_cents,
        method="card",
        processor=processor.name,
        status=PaymentStatus.PENDING,
        payer_email=payer_email,
        received_on=firm_today(),
        created_by_id=user.id if user else None,
    )
    db.session.add(payment)
    db.session.flush()
    success_url, cancel_url = return_urls(payment)
    try:
        checkout = processor.create_checkout(
            amount_cents=amount_cents,
            currency=payable.bank_account.currency,  # the account's: a CAD trust account is paid in CAD
            description=(
                f"Invoice {payable.number} for {payable.contact.name}"
                if payable.is_invoice
                else f"{payable.number}: funds in trust for {payable.contact.name}"
            ),
            success_url=success_url,
            cancel_url=cancel_url,
            metadata={"payment": str(payment.id), ("invoice" if payable.is_invoice else "request"): payable.number},
            email=payer_email,
            key=f"checkout-{idempotency_key}",
        )
    except ProcessorError as error:
        raise ServiceError(
            f"The card processor could not be reached ({error}). Please try again in a minute."
        ) from error
    payment.checkout_reference, payment.checkout_url = checkout.reference, checkout.url
    audit.record("payment.checkout_started", payment, after=audit.snapshot(payment, PAYMENT_FIELDS), user=user)
    db.session.commit()
    return payment


def payment_for_checkout(reference: str | None, processor: str | None = None) -> Payment | None:
    """The payment sent to this checkout (only one the named processor took, when one is named)."""
    where = [Payment.checkout_reference == reference] + ([Payment.processor == processor] if processor else [])
    return db.session.scalar(select(Payment).where(*where))


def settle_checkout(payment: Payment) -> Payment:
    """Book what the processor says about the payment's checkout; returns the payment (idempotent)."""
    payable = lock_payable(payment.payable)
    db.session.refresh(payment)
    if payment.status != PaymentStatus.PENDING:
        db.session.commit()
        return payment  # already booked (or failed): a repeated or late report changes nothing
    processor = processor_named(payment.processor, payment.bank_account, FirmSettings.get())
    if (
        not isinstance(processor, StripeProcessor)
        or (payment.checkout_reference or payment.processor_reference) is None
    ):
        db.session.commit()
        return payment  # not a hosted checkout: nothing to ask
    try:
        if payment.checkout_reference is not None:
            state = processor.checkout_state(payment.checkout_reference)
        else:  # a saved bank account charged off session: its PaymentIntent says how it stands
            state = processor.intent_state(cast(str, payment.processor_reference))
    except ProcessorError as error:
        raise ServiceError(f"Stripe could not be asked about this payment: {error}") from error
    already_on_its_way = payment.method == "ach"  # a bank payment reported before: recorded once, not per look
    payment.processor_reference = state.payment_reference or payment.processor_reference
    payment.method = state.method
    if state.status == "paid":
        payment.fee_cents = min(state.fee_cents, payment.amount_cents)
        payment.received_on = firm_today()
        # A bank payment into trust is held uncleared for the account's hold days; an invoice's goes to
        # operating, where nothing waits for clearing.
        bank_payment = state.method == "ach" and not payable.is_invoice
        cleared = True
        if bank_payment:
            payment.clears_on = payment.received_on + timedelta(days=payment.bank_account.ach_hold_days)
            cleared = not payment.clears_on > firm_today()
        payer = payable.contact.name
        payment.payer_name = payment.payer_name or payer
        # A payment staff took at the desk is booked under their name, whoever reports it (webhook or return).
        book_payment(
            payable, payment, payer=payer, cleared=cleared, user=payment.created_by, foreign_fee=state.foreign_fee
        )
        return payment
    if state.status == "failed":
        payment.status, payment.failure_message = PaymentStatus.FAILED, "The payment did not go through."
        audit.record("payment.failed", payment, after=audit.snapshot(payment, PAYMENT_FIELDS), user=None)
    elif state.status == "pending" and payment.method == "ach" and not already_on_its_way:
        audit.record("payment.pending", payment, after={"method": "ach"}, user=None)
    # Nothing changed (a checkout still open, a bank payment still on its way): the commit writes nothing and
    # only lets go of the lock.
    db.session.commit()
    return payment


def clear_due_payments(today: date | None = None) -> int:
    """Clear bank payments whose hold has passed (for cron): their money becomes available."""
    today = today or firm_today()
    due = db.session.scalars(
        select(Payment)
        .join(JournalEntry, JournalEntry.id == Payment.journal_entry_id)
        .where(
            Payment.clears_on <= today,
            Payment.trust_request_id.is_not(None),
            Payment.status.in_(RECEIVED),
        )
        .order_by(Payment.id)
    ).all()
    cleared = 0
    for payment in due:
        entry = payment.journal_entry
        if entry.clearance is None and entry.reversed_by is None:
            mark_cleared(entry, cleared_on=today)
            cleared += 1
    return cleared
