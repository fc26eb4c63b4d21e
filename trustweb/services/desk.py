"""Card payments staff take on the spot: the client at the desk or on the phone pays a request or invoice now.

The money path is the pay link's (services/payments.py, services/checkout.py): the same lock on the request or
invoice, the same idempotency key, the same booking, fee, receipts and audit trail. What differs: no pay link
(staff are signed in), any amount up to what is due (as for a payment recorded by hand), and the payment records
who took it (`created_by_id`), under whose name it is audited. With the test processor staff type the card into
a form of ours; with Stripe no card number reaches TrustWeb (PCI SAQ-A): the Checkout Session is opened on the
firm's device or scanned by the client's phone, and settled by checkout.settle_checkout() like any other.
"""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from trustweb.extensions import db
from trustweb.models import (
    BankAccount,
    FirmSettings,
    Invoice,
    JournalEntry,
    Matter,
    Payable,
    Payment,
    PaymentStatus,
    TrustRequest,
    User,
)
from trustweb.models.base import utcnow
from trustweb.models.invoices import OPEN_INVOICE
from trustweb.models.requests import PAYABLE
from trustweb.payments import CardDetails, processor_named
from trustweb.payments.stripe import ProcessorError
from trustweb.refusals import ServiceError
from trustweb.services import audit
from trustweb.services import checkout as checkout_service
from trustweb.services import requests as request_service
from trustweb.services.firm import default_account
from trustweb.services.payments import charge_card, check_staff_amount, existing, lock_payable
from trustweb.services.trust import firm_today
from trustweb.urls import external_url

# A trust deposit taken at the desk: the request's message, and the name its form's key is recorded under.
DESK_DEPOSIT = "Paid into trust at the firm's office."
DESK_KEY = "desk_key"


def waiting_for_approval(payable: Payable) -> bool:
    """A staff member's draft request the firm asks a lawyer to approve first: not sent, not shared, and no payment
    is taken on it (the approval is what lets it ask the client for money at all)."""
    return not payable.is_invoice and request_service.needs_approval(payable)


def check_takes_payment(payable: Payable, amount_cents: int | None) -> int:
    """What staff may take now on the request or invoice (payments.check_staff_amount), once it is approved."""
    if waiting_for_approval(payable):
        raise ServiceError(
            f"{payable.number} is waiting for a lawyer's approval; a payment is taken once it is approved."
        )
    return check_staff_amount(payable, amount_cents, "take")


def take_card(
    payable: Payable,
    amount_cents: int | None,
    card: CardDetails,
    idempotency_key: str,
    user: User,
    payer_email: str | None = None,
) -> Payment:
    """The test processor's card, typed in by staff: charged and booked, or Declined (recorded as failed)."""
    payable = lock_payable(payable)
    earlier = existing(idempotency_key, payable)
    if earlier is not None:
        return earlier  # the same form posted again: nothing more happens
    amount = check_takes_payment(payable, amount_cents)
    return charge_card(payable, amount, card, idempotency_key, payer_email=payer_email, user=user)


def start_checkout(payable: Payable, amount_cents: int | None, idempotency_key: str, user: User) -> Payment:
    """A Stripe Checkout Session for the payment, to open on the firm's device or scan with the client's phone."""
    payable = lock_payable(payable)
    earlier = existing(idempotency_key, payable)
    if earlier is not None:
        return earlier
    amount = check_takes_payment(payable, amount_cents)
    return checkout_service.open_checkout(
        payable,
        amount,
        idempotency_key,
        payer_email=None,
        user=user,
        return_urls=lambda payment: (
            external_url("pay.desk_return", payment_id=payment.id) + "?session_id={CHECKOUT_SESSION_ID}",
            external_url("pay.desk_return", payment_id=payment.id),
        ),
    )


def checkout_changed(payment: Payment) -> bool:
    """Whether Stripe has news for the checkout (paid, failed, or newly on its way by bank), asked without writing:
    the status the staff page polls calls settle_checkout(), which locks the request or invoice, only then. A bank
    payment already known to be on its way has none until the bank confirms it (the webhook books it then).
    Raises NotConfigured when the account's processor is no longer set up."""
    processor = processor_named(payment.processor, payment.bank_account, FirmSettings.get())
    try:
        status = processor.checkout_state(cast(str, payment.checkout_reference)).status
    except ProcessorError:
        return False  # asked again at the next poll; the webhook settles it meanwhile
    return status in ("paid", "failed") or (status == "pending" and payment.method != "ach")


def cancel_checkout(payment: Payment, user: User) -> Payment:
    """Staff end a checkout the client did not finish: Stripe expires it, and the payment is failed. A checkout
    paid meanwhile is settled instead."""
    payable = lock_payable(payment.payable)
    db.session.refresh(payment)
    if payment.status != PaymentStatus.PENDING:
        db.session.commit()
        return payment
    processor = processor_named(payment.processor, payment.bank_account, FirmSettings.get())
    try:
        expired = processor.expire_checkout(cast(str, payment.checkout_reference))
    except ProcessorError as error:
        raise ServiceError(f"Stripe could not be asked to end this payment: {error}") from error
    if not expired:
        db.session.commit()
        return checkout_service.settle_checkout(payment)  # paid in the meantime: booked as paid
    payment.status, payment.failure_message = PaymentStatus.FAILED, f"Cancelled by {user.name} before it was paid."
    audit.record("payment.cancelled", payment, after={"checkout": payment.checkout_reference}, user=user)
    audit.record(f"{'invoice' if payable.is_invoice else 'request'}.checkout_cancelled", payable, user=user)
    db.session.commit()
    return payment


def open_payables(*, matter: Matter | None = None, contact_id: int | None = None) -> list[Payable]:
    """The requests and invoices of a matter (or a client) that take a payment now, oldest first."""
    # What the chooser shows of each is read with the rows: its matter, its account (for the currency), and (for an
    # invoice's amount payable) the trust money promised to it.
    requests = (
        select(TrustRequest)
        .where(TrustRequest.status.in_(PAYABLE))
        .options(joinedload(TrustRequest.matter), joinedload(TrustRequest.bank_account))
    )
    invoices = (
        select(Invoice)
        .where(Invoice.status.in_(OPEN_INVOICE))
        .options(
            joinedload(Invoice.matter),
            joinedload(Invoice.receivable_entry).joinedload(JournalEntry.bank_account),
            selectinload(Invoice.applications),
        )
    )
    if matter is not None:
        requests, invoices = (
            requests.where(TrustRequest.matter_id == matter.id),
            invoices.where(Invoice.matter_id == matter.id),
        )
    else:
        requests, invoices = (
            requests.where(TrustRequest.contact_id == contact_id),
            invoices.where(Invoice.contact_id == contact_id),
        )
    found: list[Payable] = [*db.session.scalars(requests.order_by(TrustRequest.id))]
    found += db.session.scalars(invoices.order_by(Invoice.id))
    return [payable for payable in found if payable.payable_cents > 0]


def _trust_account() -> BankAccount | None:
    """The firm's default trust account, else its first open one (as the request form offers them)."""
    return default_account("trust") or db.session.scalar(
        select(BankAccount).where(BankAccount.kind == "trust", BankAccount.active).order_by(BankAccount.name).limit(1)
    )


def deposit_request(matter: Matter, amount_cents: int | None, key: str, user: User) -> TrustRequest:
    """A trust request for money the client pays into trust at the desk now (a draft: it is not emailed); the
    payment is then taken on it like any other. The form's key is recorded in the request's audit event, and the
    form posted again (a double click) finds the request it made. A user whose requests wait for a lawyer's approval
    may not: the deposit would be a request made and paid with no one approving it."""
    # Two posts at once wait here for each other: the second reads the first's request (and its audit event, both
    # committed together) once the first has committed. FOR NO KEY UPDATE on PostgreSQL: it does not hold up rows
    # that merely refer to the matter; SQLite's write transaction already holds the database.
    db.session.execute(select(Matter.id).where(Matter.id == matter.id).with_for_update(key_share=True))
    earlier = _deposit_made_with(matter, key)
    if earlier is not None:
        return earlier
    if request_service.waits_for_approval(user):
        raise ServiceError(
            "The firm asks a lawyer to approve trust requests made by staff: ask a lawyer or an administrator to take "
            "this deposit."
        )
    values: Mapping[str, Any] = {
        "contact": matter.client,
        "matter": matter,
        "account": _trust_account(),
        "template": None,
        "amount_cents": amount_cents,
        "issued_on": firm_today(),
        "due_on": None,
        "message": DESK_DEPOSIT,
        "allow_partial": False,
        "minimum_cents": None,
        "recipients": matter.client.emails[:1],
        "cc": [],
    }
    return request_service.create_request(values, user, noted={DESK_KEY: key})


def _deposit_made_with(matter: Matter, key: str) -> TrustRequest | None:
    """The desk deposit request this form's key made on the matter (within the day), if any."""
    made = select(TrustRequest).where(
        TrustRequest.matter_id == matter.id,
        TrustRequest.message == DESK_DEPOSIT,
        TrustRequest.created_at >= utcnow() - timedelta(days=1),
    )
    return audit.made_with(made, "request.created", DESK_KEY, key)
