"""Payments into trust for a trust request: by card on the pay page, or recorded by hand.

One transaction each (invariants 6 and 7): the request row is locked, the
checkout's idempotency key looked up (a second post of the same checkout
returns the first payment, and the key is unique in the database), the amount
checked against what is still due, the money taken, and then the payment, the
full amount deposited to the client's ledger, the processor's fee booked as an
operating expense, the request's new status, the audit events and the
receipt emails all commit together.
"""

from flask import render_template
from sqlalchemy import select

from trustweb.extensions import db
from trustweb.ledger.money import format_cents
from trustweb.models import Counter, FirmSettings, Payment
from trustweb.payments import Declined, processor_for
from trustweb.services import ServiceError, audit, mail
from trustweb.services import requests as request_service
from trustweb.services.fees import book_fee
from trustweb.services.firm import default_account
from trustweb.services.trust import METHODS, Holder, firm_today, post_deposit
from trustweb.urls import external_url

MANUAL_METHODS = {key: METHODS[key] for key in ("cheque", "wire", "cash", "other")}
PAYMENT_FIELDS = (
    "receipt_number",
    "trust_request_id",
    "amount_cents",
    "fee_cents",
    "method",
    "processor",
    "processor_reference",
    "status",
    "payer_name",
    "received_on",
    "journal_entry_id",
    "fee_entry_id",
)


def check_amount(request, amount_cents):
    """What the payer may pay now: never more than is due; all of it unless partial payments are allowed."""
    due = request.due_cents
    if amount_cents is None or amount_cents <= 0:
        raise ServiceError("Enter an amount greater than zero.")
    if amount_cents > due:
        raise ServiceError(f"The amount due is {format_cents(due)}; you cannot pay more than that.")
    if amount_cents < due:
        if not request.allow_partial:
            raise ServiceError(f"This request is for the full amount due, {format_cents(due)}.")
        if request.minimum_cents and amount_cents < request.minimum_cents:
            raise ServiceError(f"The smallest payment accepted is {format_cents(request.minimum_cents)}.")


def existing(idempotency_key, request=None):
    """The payment an earlier post of this checkout made, if any; a key from another request is refused."""
    payment = db.session.scalar(select(Payment).where(Payment.idempotency_key == idempotency_key))
    if payment is not None and request is not None and payment.trust_request_id != request.id:
        raise ServiceError("This form belongs to another payment; reload the page and try again.")
    return payment


def new_payment(request, idempotency_key, amount_cents, **details):
    """A payment for the request, not yet booked (fee zero until the processor reports one)."""
    return Payment(
        idempotency_key=idempotency_key,
        trust_request_id=request.id,
        bank_account_id=request.bank_account_id,
        amount_cents=amount_cents,
        fee_cents=0,
        **details,
    )


def pay_by_card(link, amount_cents, card, idempotency_key, payer_email=None):
    """The client pays on the pay page. Returns the Payment; raises Declined or ServiceError."""
    request = request_service.lock(link.request)
    earlier = existing(idempotency_key, request)
    if earlier is not None:
        return earlier  # the same checkout posted again: nothing more happens
    db.session.refresh(link)
    state = request_service.link_state(link)
    if state != "open":
        raise ServiceError(f"This payment link is {state}; no payment was taken.")
    check_amount(request, amount_cents)
    operating = default_account("operating")
    if operating is None or not operating.active:
        raise ServiceError("Card payments are not available at the moment. Please contact the firm.")
    processor = processor_for(request.bank_account, FirmSettings.get())
    payment = new_payment(
        request,
        idempotency_key,
        amount_cents,
        method="card",
        processor=processor.name,
        payer_name=card.name,
        payer_email=payer_email,
        card_last4=card.last4,
        received_on=firm_today(),
    )
    try:
        charge = processor.charge_card(amount_cents, card, idempotency_key, f"{request.number} {request.contact.name}")
    except Declined as error:
        payment.status, payment.failure_message = "failed", str(error)
        db.session.add(payment)
        db.session.flush()
        audit.record("payment.failed", payment, after=audit.snapshot(payment, PAYMENT_FIELDS), user=None)
        db.session.commit()
        raise
    payment.processor_reference, payment.fee_cents = charge.reference, charge.fee_cents
    _book(request, payment, payer=card.name, cleared=True, user=None)
    return payment


def record_manual_payment(
    request, *, amount_cents, method, received_on, reference, payer, cleared, idempotency_key, user
):
    """A cheque, wire or cash received for the request, posted as the same trust deposit."""
    request = request_service.lock(request)
    earlier = existing(idempotency_key, request)
    if earlier is not None:
        return earlier
    if method not in MANUAL_METHODS:
        raise ServiceError("Choose how the money was paid.")
    if request.status == "void":
        raise ServiceError(f"{request.number} is void; record the money as a deposit on the matter instead.")
    if request.status == "paid":
        raise ServiceError(f"{request.number} is already paid in full.")
    if amount_cents is None or amount_cents <= 0:
        raise ServiceError("Enter an amount greater than zero.")
    if amount_cents > request.due_cents:
        raise ServiceError(f"{format_cents(request.due_cents)} is due on {request.number}; record at most that.")
    payment = new_payment(
        request,
        idempotency_key,
        amount_cents,
        method=method,
        processor="manual",
        processor_reference=reference,
        payer_name=payer,
        received_on=received_on,
        created_by_id=user.id,
    )
    _book(request, payment, payer=payer, cleared=cleared, user=user)
    return payment


def _book(request, payment, *, payer, cleared, user):
    """Deposit, fee, status, audit and emails for money received: the caller holds the request's lock."""
    holder = Holder(request.contact_id, request.matter_id)
    entry = post_deposit(
        account=request.bank_account,
        holder=holder,
        amount_cents=payment.amount_cents,
        entry_date=payment.received_on,
        method=payment.method,
        payer=payer or request.contact.name,
        reference=payment.processor_reference,
        cleared=cleared,
        description=f"Payment for {request.number} from {payer or request.contact.name}",
        user=user,
    )
    payment.journal_entry_id = entry.id
    payment.status = "succeeded"
    payment.receipt_number = f"R-{Counter.next_value('receipt'):06d}"
    db.session.add(payment)
    db.session.flush()
    if payment.fee_cents:
        payment.fee_entry_id = book_fee(request, payment, payment.fee_cents).id
    before = {"status": request.status, "paid_cents": request.paid_cents}
    # Money a processor has already taken is always booked to the client (above). The request counts at
    # most what was still due, and a void request stays void: a checkout finished after the request was
    # paid another way or voided leaves an excess for staff to refund, said in the audit trail.
    counted = 0 if request.status == "void" else min(payment.amount_cents, request.due_cents)
    if counted:
        request.paid_cents += counted
        request.status = "paid" if request.paid_cents == request.amount_cents else "partially_paid"
        if request.status == "paid":
            request_service.revoke_links(request, user, reason="paid")
    db.session.flush()
    audit.record("payment.received", payment, after=audit.snapshot(payment, PAYMENT_FIELDS), user=user)
    if counted < payment.amount_cents:
        audit.record(
            "payment.excess",
            payment,
            after={"excess_cents": payment.amount_cents - counted, "request_status": request.status},
            user=user,
        )
    audit.record(
        "request.paid" if request.status == "paid" else "request.partially_paid",
        request,
        before=before,
        after={"status": request.status, "paid_cents": request.paid_cents},
        user=user,
    )
    _queue_receipts(request, payment)
    db.session.commit()


def _queue_receipts(request, payment):
    """The payer's receipt and the responsible lawyer's notice, through the outbox."""
    firm = FirmSettings.get()
    context = {"request": request, "payment": payment, "firm": firm, "test_mode": payment.processor == "test"}
    to = [payment.payer_email] if payment.payer_email else request.recipient_list
    if to:
        mail.queue(
            "receipt",
            to,
            f"Receipt {payment.receipt_number}: {format_cents(payment.amount_cents, firm.currency)} received by "
            f"{firm.firm_name}",
            render_template("email/receipt.txt", **context),
            render_template("email/receipt.html", **context),
            request=request,
        )
    lawyer = request.lawyer
    if lawyer is not None and lawyer.active:
        context["request_url"] = external_url("bills.show_request", request_id=request.id)
        mail.queue(
            "lawyer_notice",
            [lawyer.email],
            f"{request.contact.name} paid {format_cents(payment.amount_cents, firm.currency)} on {request.number}",
            render_template("email/lawyer_notice.txt", **context),
            request=request,
        )
