"""Money going back to the payer: refunds the firm makes, refunds and chargebacks the processor reports.

Invariant 6: whatever goes back is taken only from the ledger of the client
who paid, never another client's. A refund the firm makes is refused beyond
that ledger's available balance. Money the processor pulls back on its own (a
chargeback, a refund made in its dashboard) is gone from the bank already: it
is taken from the paying client's ledger up to its balance, and the rest is
booked to the trust account's shortfall ledger, owed by the firm. The original
processing fee is not returned by the processor and stays an expense.

An invoice's payment went to operating: money going back leaves the operating
account and the amount is owed on the invoice again (the receivable goes back
up); a dispute won puts both back.
"""

from sqlalchemy import select

from trustweb.extensions import db
from trustweb.ledger import rules
from trustweb.ledger.keys import bank_key, shortfall_key
from trustweb.ledger.money import format_cents
from trustweb.models import (
    Dispute,
    DisputeStatus,
    FirmSettings,
    InvoiceStatus,
    JournalEntry,
    Payable,
    Payment,
    PaymentStatus,
    Refund,
    RequestStatus,
    TrustRequest,
    User,
)
from trustweb.payments import processor_named
from trustweb.payments.stripe import ProcessorError
from trustweb.refusals import ServiceError
from trustweb.services import audit
from trustweb.services import requests as request_service
from trustweb.services.fees import book_fee, book_fee_returned, operating_keys
from trustweb.services.journal import book_entry, lock_ledgers, lock_operating
from trustweb.services.payments import lock_payable, prefix
from trustweb.services.trust import Holder, firm_today


def _holder(payment: Payment) -> Holder:
    request = payment.request
    return Holder(request.contact_id, request.matter_id)


def _unpaid_status(payable: Payable) -> str:
    if payable.is_invoice:
        return InvoiceStatus.SENT
    return RequestStatus.VIEWED if payable.viewed_at else RequestStatus.SENT


def _settle_status(payable: Payable) -> None:
    """The status that follows what was paid: paid when nothing is left to pay, partially paid while money it
    brought in is still held (a request's refunds left out), else as sent."""
    if payable.status == payable.Status.VOID:
        return
    kept = payable.paid_cents if payable.is_invoice else payable.received_cents
    if payable.paid_cents == payable.amount_cents:
        payable.status = payable.Status.PAID
    elif kept:
        payable.status = payable.Status.PARTIALLY_PAID
    else:
        payable.status = _unpaid_status(payable)


def _set_paid(request: Payable, paid_cents: int, user: User | None, action: str) -> None:
    """The request's (or invoice's) amount paid after money went back (or came back), and the status that follows."""
    before = {"status": request.status, "paid_cents": request.paid_cents}
    if request.is_invoice and request.status == InvoiceStatus.VOID:
        # A void invoice owes nothing and is paid nothing: money coming back is a credit in the receivable.
        audit.record(action, request, before=before, after=before, user=user)
        return
    # A request's refunds stay counted in what was paid (given back, no longer asked for).
    floor = 0 if request.is_invoice else request.refunded_cents
    request.paid_cents = max(floor, min(paid_cents, request.amount_cents))
    _settle_status(request)
    audit.record(
        action, request, before=before, after={"status": request.status, "paid_cents": request.paid_cents}, user=user
    )


def _operating_move(
    payment: Payment,
    amount_cents: int,
    *,
    back: bool,
    description: str,
    method: str,
    reference: str | None = None,
    counterparty: str | None = None,
    user: User | None = None,
) -> JournalEntry:
    """An invoice payment's money leaving operating (back=True: refunded or charged back, owed again on the
    invoice) or coming back to it (a dispute won); no commit."""
    operating = payment.bank_account
    ledgers = lock_operating(operating, operating_keys(operating))
    sign = -1 if back else 1
    return book_entry(
        "operating.invoice_refund" if back else "operating.invoice_dispute_won",
        [(ledgers["operating"], sign * amount_cents), (ledgers["receivable"], -sign * amount_cents)],
        kind="disbursement" if back else "deposit",
        account=operating,
        entry_date=firm_today(),
        user=user,
        description=description,
        method=method,
        counterparty=counterparty or payment.payer_name or payment.payable.contact.name,
        reference=reference,
    )


def refund_payment(
    payment: Payment, amount_cents: int, *, online: bool, reason: str | None, user: User, idempotency_key: str
) -> Payment:
    """Give back all or part of a payment, through the processor or recorded as already done elsewhere."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Say why the money is refunded.")
    request = lock_payable(payment.payable)
    db.session.refresh(payment)
    if db.session.scalar(select(Refund.id).where(Refund.idempotency_key == idempotency_key)):
        return payment  # the same refund form sent twice: refunded once

    if payment.status not in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED):
        raise ServiceError(f"Only a received payment can be refunded; this one is {payment.status_label.lower()}.")
    left = payment.amount_cents - payment.refunded_cents
    rules.check_amount(amount_cents)
    if amount_cents > left:
        raise ServiceError(
            f"{format_cents(left, payment.bank_account.currency)} of this payment is left to refund; "
            "refund at most that."
        )
    if online and (payment.processor != "stripe" or payment.processor_reference is None):
        raise ServiceError("This payment was not made through Stripe; record the refund as made elsewhere.")
    account = payment.bank_account
    description = f"Refund of {payment.receipt_number} ({request.number}): {reason}"
    if request.is_invoice:
        entry = _operating_move(
            payment, amount_cents, back=True, description=description, method="card" if online else "other", user=user
        )
    else:
        ledgers = lock_ledgers(account, [_holder(payment)])
        held = ledgers[_holder(payment).key(account.id)]
        # Refused beyond the client's available balance: the rules raise InsufficientFunds or UnclearedFunds.
        entry = book_entry(
            "trust.refund",
            [(held, amount_cents), (ledgers[bank_key(account.id)], -amount_cents)],
            kind="disbursement",
            account=account,
            entry_date=firm_today(),
            user=user,
            description=description,
            method="card" if online else "other",
            counterparty=payment.payer_name or request.contact.name,
        )
    reference = None
    if online and payment.processor_reference is not None:  # (checked above: a Stripe payment has one)
        processor = processor_named(payment.processor, account, FirmSettings.get())
        try:
            reference = processor.refund(
                payment.processor_reference, amount_cents, key=f"refund-{payment.id}-{entry.id}"
            )
        except ProcessorError as error:
            raise ServiceError(f"Stripe refused the refund: {error}") from error
    _record_refund(payment, amount_cents, reference, online, reason, entry, user, idempotency_key)
    db.session.commit()
    return payment


def _refund_request(request: TrustRequest, amount_cents: int, user: User | None) -> None:
    """Money given back is no longer asked for, and the request still says what it asked and what was paid:
    the refund is counted beside them, so what is due (and any reminder) stays as it was. Once everything it
    asked has been paid and given back, the request is void."""
    taken = min(amount_cents, request.received_cents)
    if not taken:
        return
    before = {"status": request.status, "refunded_cents": request.refunded_cents}
    request.refunded_cents += taken
    if request.refunded_cents == request.amount_cents:
        request.status, request.void_reason = RequestStatus.VOID, "Refunded in full."
        request_service.revoke_links(request, user, reason="refunded")
    else:
        _settle_status(request)  # partly paid and all of that given back: as sent again
    after = {"status": request.status, "refunded_cents": request.refunded_cents}
    audit.record("request.refunded", request, before=before, after=after, user=user)


def _counted_part(payment: Payment, amount_cents: int) -> int:
    """Of money going back from a payment, the part that had counted toward its request or invoice: an excess
    the payment brought beyond what was due goes back first and changes nothing owed."""
    applied = payment.applied_cents if payment.applied_cents is not None else payment.amount_cents
    excess_left = max(payment.amount_cents - applied - payment.refunded_cents, 0)
    return amount_cents - min(amount_cents, excess_left)


def _record_refund(
    payment: Payment,
    amount_cents: int,
    reference: str | None,
    online: bool,
    reason: str,
    entry: JournalEntry,
    user: User | None,
    idempotency_key: str | None = None,
) -> None:
    db.session.add(
        Refund(
            idempotency_key=idempotency_key,
            payment_id=payment.id,
            amount_cents=amount_cents,
            processor_reference=reference,
            online=online,
            reason=reason,
            journal_entry_id=entry.id,
            created_by_id=user.id if user else None,
        )
    )
    counted = _counted_part(payment, amount_cents)
    payment.refunded_cents += amount_cents
    if payment.refunded_cents == payment.amount_cents:
        payment.status = PaymentStatus.REFUNDED
    if payment.invoice_id is not None:
        invoice = payment.invoice  # what had counted is owed on the invoice again
        if counted:
            _set_paid(invoice, invoice.paid_cents - counted, user, "invoice.refunded")
    else:
        _refund_request(payment.request, counted, user)
    audit.record(
        "payment.refunded",
        payment,
        after={"amount_cents": amount_cents, "reference": reference, "online": online},
        user=user,
    )


def _take_back(payment: Payment, amount_cents: int, description: str, reference: str) -> tuple[JournalEntry, int, int]:
    """Money the processor already took: from the paying client up to their balance, the rest owed by the firm.
    For an invoice's payment: out of operating, owed on the invoice again (all of it "from the client")."""
    if payment.invoice_id is not None:
        entry = _operating_move(
            payment,
            amount_cents,
            back=True,
            description=description,
            method="card",
            reference=reference,
            counterparty="Stripe",
        )
        return entry, amount_cents, 0
    request = payment.request
    account = request.bank_account
    holder = _holder(payment)
    ledgers = lock_ledgers(account, [holder], with_shortfall=True)
    held = ledgers[holder.key(account.id)]
    from_client = min(amount_cents, max(held.balance_cents, 0))
    from_firm = amount_cents - from_client
    lines = [(ledgers[bank_key(account.id)], -amount_cents)]
    if from_client:
        lines.append((held, from_client))
    if from_firm:
        lines.append((ledgers[shortfall_key(account.id)], from_firm))
    entry = book_entry(
        "trust.taken_back",
        lines,
        kind="disbursement",
        account=account,
        entry_date=firm_today(),
        spend_uncleared=True,  # the bank has already paid it: the client's uncleared money may go too
        description=description,
        method="card",
        counterparty="Stripe",
        reference=reference,
    )
    return entry, from_client, from_firm


def processor_refund(payment: Payment, refund_reference: str, amount_cents: int) -> bool:
    """A refund made in the processor's dashboard, reported by webhook: booked once, by its reference."""
    if db.session.scalar(select(Refund.id).where(Refund.processor_reference == refund_reference)):
        return False
    lock_payable(payment.payable)
    db.session.refresh(payment)
    # Again under the lock: our own online refund, or the same event delivered at once, may have booked it.
    if db.session.scalar(select(Refund.id).where(Refund.processor_reference == refund_reference)):
        return False
    amount_cents = min(amount_cents, payment.amount_cents - payment.refunded_cents)
    if amount_cents <= 0:
        return False
    entry, _, _ = _take_back(
        payment, amount_cents, f"Refund of {payment.receipt_number} made at Stripe", refund_reference
    )
    _record_refund(payment, amount_cents, refund_reference, True, "Refunded at Stripe", entry, None)
    return True


def open_dispute(payment: Payment, dispute_reference: str, amount_cents: int, fee_cents: int) -> bool:
    """A chargeback: the money leaves trust from the paying client (and the firm for what was spent)."""
    if db.session.scalar(select(Dispute.id).where(Dispute.processor_reference == dispute_reference)):
        return False
    request = lock_payable(payment.payable)
    db.session.refresh(payment)
    if db.session.scalar(select(Dispute.id).where(Dispute.processor_reference == dispute_reference)):
        return False  # booked meanwhile by the same event delivered at once
    counted = _counted_part(payment, amount_cents)
    entry, from_client, from_firm = _take_back(
        payment, amount_cents, f"Chargeback on {payment.receipt_number} ({request.number})", dispute_reference
    )
    if request.is_invoice:
        # For an invoice: client_cents is what is owed on it again, firm_cents the excess it had brought.
        from_client, from_firm = counted, amount_cents - counted
    dispute = Dispute(
        payment_id=payment.id,
        processor_reference=dispute_reference,
        amount_cents=amount_cents,
        fee_cents=fee_cents,
        client_cents=from_client,
        firm_cents=from_firm,
        status=DisputeStatus.OPEN,
        journal_entry_id=entry.id,
    )
    db.session.add(dispute)
    payment.status = PaymentStatus.DISPUTED
    if fee_cents:
        _dispute_fee(payment, fee_cents, dispute_reference)
    if counted:
        _set_paid(request, request.paid_cents - counted, None, f"{prefix(request)}.charged_back")
    audit.record(
        "payment.disputed",
        payment,
        after={"dispute": dispute_reference, "amount_cents": amount_cents, "client": from_client, "firm": from_firm},
        user=None,
    )
    return True


def _dispute_fee(payment: Payment, fee_cents: int, reference: str) -> None:
    """The dispute fee is the firm's cost: operating, or owed to trust when Stripe took it from the payout."""
    book_fee(payment.payable, payment, fee_cents, f"Stripe dispute fee on {payment.receipt_number}")


def close_dispute(payment: Payment, dispute_reference: str, won: bool, fee_returned_cents: int = 0) -> bool:
    """The dispute ended: when won, the money comes back to where it was taken from."""
    dispute = db.session.scalar(select(Dispute).where(Dispute.processor_reference == dispute_reference))
    if dispute is None or dispute.status != DisputeStatus.OPEN:
        return False
    request = lock_payable(payment.payable)
    db.session.refresh(dispute)
    if dispute.status != DisputeStatus.OPEN:
        return False
    dispute.status = DisputeStatus.WON if won else DisputeStatus.LOST
    if won and request.is_invoice:
        entry = _operating_move(
            payment,
            dispute.amount_cents,
            back=False,
            description=f"Dispute won on {payment.receipt_number}: the money is back",
            method="card",
            reference=dispute_reference,
            counterparty="Stripe",
        )
        dispute.closing_entry_id = entry.id
        if fee_returned_cents > 0:
            book_fee_returned(payment, min(fee_returned_cents, dispute.fee_cents), dispute_reference)
        payment.status = (
            PaymentStatus.REFUNDED if payment.refunded_cents == payment.amount_cents else PaymentStatus.SUCCEEDED
        )
        if dispute.client_cents:
            _set_paid(request, request.paid_cents + dispute.client_cents, None, "invoice.dispute_won")
    elif won:
        account = request.bank_account
        holder = _holder(payment)
        ledgers = lock_ledgers(account, [holder], with_shortfall=True)
        lines = [(ledgers[bank_key(account.id)], dispute.amount_cents)]
        if dispute.client_cents:
            lines.append((ledgers[holder.key(account.id)], -dispute.client_cents))
        if dispute.firm_cents:
            lines.append((ledgers[shortfall_key(account.id)], -dispute.firm_cents))
        entry = book_entry(
            "trust.dispute_won",
            lines,
            kind="deposit",
            account=account,
            entry_date=firm_today(),
            cleared=True,  # money back in the bank at once: a deposit cleared the day it is booked
            description=f"Dispute won on {payment.receipt_number}: the money is back",
            method="card",
            counterparty="Stripe",
            reference=dispute_reference,
        )
        dispute.closing_entry_id = entry.id
        if fee_returned_cents > 0:
            book_fee_returned(payment, min(fee_returned_cents, dispute.fee_cents), dispute_reference)
        payment.status = (
            PaymentStatus.REFUNDED if payment.refunded_cents == payment.amount_cents else PaymentStatus.SUCCEEDED
        )
        _set_paid(request, request.paid_cents + dispute.amount_cents, None, "request.dispute_won")
    audit.record("payment.dispute_closed", payment, after={"dispute": dispute_reference, "won": won}, user=None)
    return True
