"""Payments for a trust request (into trust) or an invoice (into operating): by card on the pay page, or by hand.

One transaction each (invariants 6 and 7): the request or invoice row is
locked, the checkout's idempotency key looked up (a second post of the same
checkout returns the first payment, and the key is unique in the database),
the amount checked against what is still due, the money taken, and then the
payment, the full amount deposited (to the client's trust ledger, or to the
operating account against the invoice's receivable), the processor's fee
booked as an operating expense, the new status, the audit events and the
receipt emails all commit together.
"""

from datetime import date
from typing import Any

from flask import render_template
from sqlalchemy import select

from trustweb.extensions import db
from trustweb.ledger.money import format_cents
from trustweb.models import Counter, FirmSettings, JournalEntry, Payable, PayLink, Payment, PaymentStatus, User
from trustweb.models.requests import LinkState
from trustweb.payments import CardDetails, Declined, ForeignFee, processor_for
from trustweb.refusals import ServiceError
from trustweb.services import audit, mail
from trustweb.services import invoices as invoice_service
from trustweb.services import requests as request_service
from trustweb.services.fees import book_fee, hold_fee_ledgers, operating_keys
from trustweb.services.firm import currency_of, operating_for
from trustweb.services.journal import book_entry, lock_operating
from trustweb.services.portal import with_portal_note
from trustweb.services.trust import METHODS, Holder, check_entry_date, firm_today, post_deposit
from trustweb.urls import external_url

MANUAL_METHODS = {key: METHODS[key] for key in ("cheque", "wire", "cash", "other")}
PAYMENT_FIELDS = (
    "receipt_number",
    "trust_request_id",
    "invoice_id",
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
    "created_by_id",
)


def lock_payable(payable: Payable) -> Payable:
    """The trust request or invoice row, locked and fresh: every payment on it goes through this lock."""
    return invoice_service.lock(payable) if payable.is_invoice else request_service.lock(payable)


def prefix(payable: Payable) -> str:
    """The audit-trail name of what is paid: "invoice" or "request"."""
    return "invoice" if payable.is_invoice else "request"


def _money(cents: int, payable: Payable) -> str:
    """An amount owed on the request or invoice, in the currency of the account it is paid into."""
    return format_cents(cents, currency_of(payable.bank_account))


def check_amount(payable: Payable, amount_cents: int | None) -> None:
    """What the payer may pay now: never more than is due; all of it unless partial payments are allowed."""
    due = payable.payable_cents
    if amount_cents is None or amount_cents <= 0:
        raise ServiceError("Enter an amount greater than zero.")
    if amount_cents > due:
        raise ServiceError(f"The amount due is {_money(due, payable)}; you cannot pay more than that.")
    if amount_cents < due:
        if not payable.allow_partial:
            raise ServiceError(f"This request is for the full amount due, {_money(due, payable)}.")
        if payable.minimum_cents and amount_cents < payable.minimum_cents:
            raise ServiceError(f"The smallest payment accepted is {_money(payable.minimum_cents, payable)}.")


def check_staff_amount(payable: Payable, amount_cents: int | None, verb: str) -> int:
    """What staff may record (by hand) or take (a card on the spot) now: the request or invoice open (an invoice
    sent), and any amount up to what is due (a part is the firm's call). Returns the amount."""
    if payable.status == payable.Status.VOID:
        if payable.is_invoice or verb != "record":
            raise ServiceError(f"{payable.number} is void; it takes no payment.")
        raise ServiceError(f"{payable.number} is void; record the money as a deposit on the matter instead.")
    if payable.status == payable.Status.PAID:
        raise ServiceError(f"{payable.number} is already paid in full.")
    if payable.is_invoice and payable.status == payable.Status.DRAFT:
        raise ServiceError(
            f"{payable.number} is a draft; send it before a payment is {'recorded' if verb == 'record' else 'taken'}."
        )
    if amount_cents is None or amount_cents <= 0:
        raise ServiceError("Enter an amount greater than zero.")
    if amount_cents > payable.payable_cents:
        raise ServiceError(f"{_money(payable.payable_cents, payable)} is due on {payable.number}; {verb} at most that.")
    return amount_cents


def check_card_accepted(payable: Payable) -> None:
    """Refuse a card payment before any money moves when its fee could not be booked in its own currency: the
    account it goes to is closed, or the firm has no open operating account in that account's currency."""
    account = payable.bank_account
    if not account.active:
        raise ServiceError("Card payments are not available at the moment. Please contact the firm.")
    if operating_for(account.currency) is None:
        raise ServiceError(
            f"Card payments in {account.currency} are not available at the moment (the firm has no operating "
            f"account in {account.currency}). Please contact the firm, or pay by wire or cheque."
        )


def existing(idempotency_key: str, payable: Payable | None = None) -> Payment | None:
    """The payment an earlier post of this checkout made, if any; a key from something else is refused."""
    payment = db.session.scalar(select(Payment).where(Payment.idempotency_key == idempotency_key))
    if payment is not None and payable is not None and payment.payable is not payable:
        raise ServiceError("This form belongs to another payment; reload the page and try again.")
    return payment


def new_payment(payable: Payable, idempotency_key: str, amount_cents: int, **details: Any) -> Payment:
    """A payment for the request or invoice, not yet booked (fee zero until the processor reports one)."""
    return Payment(
        idempotency_key=idempotency_key,
        trust_request_id=None if payable.is_invoice else payable.id,
        invoice_id=payable.id if payable.is_invoice else None,
        bank_account_id=payable.bank_account.id,
        amount_cents=amount_cents,
        fee_cents=0,
        **details,
    )


def pay_by_card(
    link: PayLink, amount_cents: int, card: CardDetails, idempotency_key: str, payer_email: str | None = None
) -> Payment:
    """The client pays on the pay page. Returns the Payment; raises Declined or ServiceError."""
    return _pay_by_card(link.payable, link, amount_cents, card, idempotency_key, payer_email)


def pay_own_by_card(
    payable: Payable, amount_cents: int, card: CardDetails, idempotency_key: str, payer_email: str | None = None
) -> Payment:
    """A client signed in to the portal pays one of their own requests or invoices on a portal page (the
    combined checkout): pay_by_card with the portal's session in place of a pay link."""
    return _pay_by_card(payable, None, amount_cents, card, idempotency_key, payer_email)


def still_open(payable: Payable, link: PayLink | None, consequence: str) -> None:
    """Under the payable's lock: its link (when paid through one) still open, or the payable itself still open to
    payment (when a signed-in client pays it from the portal)."""
    if link is not None:
        db.session.refresh(link)
        state = request_service.link_state(link)
        if state != LinkState.OPEN:
            raise ServiceError(f"This payment link is {state}; {consequence}.")
    elif payable.status == payable.Status.VOID:
        raise ServiceError(f"{payable.number} has been cancelled; {consequence}.")
    elif payable.status == payable.Status.PAID:
        raise ServiceError(f"{payable.number} is already paid in full; {consequence}.")
    elif not payable.is_open or payable.status == payable.Status.DRAFT:
        raise ServiceError(f"{payable.number} is not open for payment; {consequence}.")


def _pay_by_card(
    payable: Payable,
    link: PayLink | None,
    amount_cents: int,
    card: CardDetails,
    idempotency_key: str,
    payer_email: str | None,
) -> Payment:
    """Lock, look up the key, check it is still open and the amount, charge the card and book it."""
    payable = lock_payable(payable)
    earlier = existing(idempotency_key, payable)
    if earlier is not None:
        return earlier  # the same checkout posted again: nothing more happens
    still_open(payable, link, "no payment was taken")
    check_amount(payable, amount_cents)
    return charge_card(payable, amount_cents, card, idempotency_key, payer_email=payer_email, user=None)


def charge_card(
    payable: Payable,
    amount_cents: int,
    card: CardDetails,
    idempotency_key: str,
    *,
    payer_email: str | None,
    user: User | None,
) -> Payment:
    """Charge the card and book the payment: the pay link's and the desk's path alike. The caller holds the
    payable's lock and has checked the key and the amount; `user` is the staff member who took it (None: the
    client on the pay page)."""
    check_card_accepted(payable)
    account = payable.bank_account
    processor = processor_for(account, FirmSettings.get())
    if processor.hosted:
        raise ServiceError("Cards for this account are paid on the processor's own page; start a checkout.")
    payment = new_payment(
        payable,
        idempotency_key,
        amount_cents,
        method="card",
        processor=processor.name,
        payer_name=card.name,
        payer_email=payer_email,
        card_last4=card.last4,
        received_on=firm_today(),
        created_by_id=user.id if user else None,
    )
    try:
        charge = processor.charge_card(
            amount_cents, card, idempotency_key, f"{payable.number} {payable.contact.name}", currency=account.currency
        )
    except Declined as error:
        payment.status, payment.failure_message = PaymentStatus.FAILED, str(error)
        db.session.add(payment)
        db.session.flush()
        audit.record("payment.failed", payment, after=audit.snapshot(payment, PAYMENT_FIELDS), user=user)
        db.session.commit()
        raise
    payment.processor_reference, payment.fee_cents = charge.reference, charge.fee_cents
    book_payment(payable, payment, payer=card.name, cleared=True, user=user)
    return payment


def record_manual_payment(
    payable: Payable,
    *,
    amount_cents: int | None,
    method: str,
    received_on: date,
    reference: str | None,
    payer: str | None,
    idempotency_key: str,
    user: User,
    cleared: bool = True,
) -> Payment:
    """A cheque, wire or cash received for a request (into trust) or an invoice (into operating)."""
    payable = lock_payable(payable)
    earlier = existing(idempotency_key, payable)
    if earlier is not None:
        return earlier
    if method not in MANUAL_METHODS:
        raise ServiceError("Choose how the money was paid.")
    amount = check_staff_amount(payable, amount_cents, "record")
    check_entry_date(received_on)
    payment = new_payment(
        payable,
        idempotency_key,
        amount,
        method=method,
        processor="manual",
        processor_reference=reference,
        payer_name=payer,
        received_on=received_on,
        created_by_id=user.id,
    )
    book_payment(payable, payment, payer=payer, cleared=cleared, user=user)
    return payment


def _deposit(payable: Payable, payment: Payment, *, payer: str, cleared: bool, user: User | None) -> JournalEntry:
    """The money in the books: the client's trust ledger for a request, operating against the receivable for
    an invoice."""
    if not payable.is_invoice:
        return post_deposit(
            account=payable.bank_account,
            holder=Holder(payable.contact_id, payable.matter_id),
            amount_cents=payment.amount_cents,
            entry_date=payment.received_on,
            method=payment.method,
            payer=payer,
            reference=payment.processor_reference,
            cleared=cleared,
            description=f"Payment for {payable.number} from {payer}",
            user=user,
        )
    operating = payable.bank_account
    # The fee's expense ledger is locked now too: every path locks the operating ledgers in one sorted go.
    ledgers = lock_operating(operating, operating_keys(operating))
    return book_entry(
        "operating.invoice_payment",
        [(ledgers["operating"], payment.amount_cents), (ledgers["receivable"], -payment.amount_cents)],
        kind="deposit",
        account=operating,
        entry_date=payment.received_on,
        user=user,
        description=f"Payment for invoice {payable.number} from {payer}",
        method=payment.method,
        counterparty=payer,
        reference=payment.processor_reference,
    )


def book_payment(
    payable: Payable,
    payment: Payment,
    *,
    payer: str | None,
    cleared: bool,
    user: User | None,
    foreign_fee: ForeignFee | None = None,
) -> None:
    """Deposit, fee, status, audit and emails for money received: the caller holds the request's (or
    invoice's) lock. A fee the processor reported in another currency (`foreign_fee`) is not booked: it is
    audited and told to the lawyer, for staff to book by hand."""
    entry = _deposit(payable, payment, payer=payer or payable.contact.name, cleared=cleared, user=user)
    payment.journal_entry_id = entry.id
    payment.status = PaymentStatus.SUCCEEDED
    payment.bank_account = payable.bank_account
    if payment.fee_cents:
        hold_fee_ledgers(payment)
    payment.receipt_number = f"R-{Counter.next_value('receipt'):06d}"  # the counter last: its lock is held to commit
    db.session.add(payment)
    db.session.flush()
    if payment.fee_cents:
        payment.fee_entry_id = book_fee(payable, payment, payment.fee_cents).id
    before = {"status": payable.status, "paid_cents": payable.paid_cents}
    # Money a processor has already taken is always booked (above). The request or invoice counts at most
    # what was still due, and a void one stays void: a checkout finished after it was paid another way or
    # voided leaves an excess for staff to refund (for an invoice, a credit in the receivable), audited.
    counted = 0 if payable.status == payable.Status.VOID else min(payment.amount_cents, payable.due_cents)
    payment.applied_cents = counted
    if counted:
        payable.paid_cents += counted
        paid_in_full = payable.paid_cents == payable.amount_cents
        payable.status = payable.Status.PAID if paid_in_full else payable.Status.PARTIALLY_PAID
        if payable.status == payable.Status.PAID:
            request_service.revoke_links(payable, user, reason="paid")
    db.session.flush()
    audit.record("payment.received", payment, after=audit.snapshot(payment, PAYMENT_FIELDS), user=user)
    if counted < payment.amount_cents:
        audit.record(
            "payment.excess",
            payment,
            after={"excess_cents": payment.amount_cents - counted, "status": payable.status},
            user=user,
        )
    audit.record(
        f"{prefix(payable)}.paid" if payable.status == payable.Status.PAID else f"{prefix(payable)}.partially_paid",
        payable,
        before=before,
        after={"status": payable.status, "paid_cents": payable.paid_cents},
        user=user,
    )
    if foreign_fee is not None:
        audit.record(
            "payment.fee_not_booked",
            payment,
            after={
                "fee_cents": foreign_fee.amount_cents,
                "fee_currency": foreign_fee.currency,
                "payment_currency": payment.currency,
                "why": foreign_fee_note(payment, foreign_fee),
            },
            user=user,
        )
    _queue_receipts(payable, payment, foreign_fee)
    db.session.commit()


# Stripe settled the charge in another currency than the account's: its fee is in that currency and the money
# reached Stripe's balance in it too. Never booked as this currency's cents, never converted by us.
FOREIGN_FEE = (
    "Stripe settled this {paid} payment in {currency} and reported its fee in {currency} ({fee}), so it is not "
    "booked as {paid}. Book it by hand, and check that Stripe pays {paid} out to this account."
)


def foreign_fee_note(payment: Payment, fee: ForeignFee) -> str:
    """What staff are told of a fee not booked because it is in another currency than the payment's."""
    amount = format_cents(fee.amount_cents, fee.currency)
    return FOREIGN_FEE.format(paid=payment.currency, currency=fee.currency, fee=amount)


def _queue_receipts(payable: Payable, payment: Payment, foreign_fee: ForeignFee | None = None) -> None:
    """The payer's receipt and the responsible lawyer's notice, through the outbox."""
    firm = FirmSettings.get()
    context = {"payable": payable, "payment": payment, "firm": firm, "test_mode": payment.processor == "test"}
    if foreign_fee is not None:
        context["fee_not_booked"] = foreign_fee_note(payment, foreign_fee)
    to = [payment.payer_email] if payment.payer_email else payable.recipient_list
    if to:
        email = (
            f"Receipt {payment.receipt_number}: {format_cents(payment.amount_cents, payment.currency)} received by "
            f"{firm.firm_name}",
            render_template("email/receipt.txt", **context),
            render_template("email/receipt.html", **context),
        )
        # The portal is pointed out to the client, not to someone else who paid for them.
        payer = (payment.payer_email or "").lower()
        client_pays = not payer or payer in (address.lower() for address in payable.contact.emails)
        subject, text, html = with_portal_note(payable.contact, email) if client_pays else email
        mail.queue(
            "receipt",
            to,
            subject,
            text,
            html,
            about=payable,
            reply_to=mail.reply_to(payable),
        )
    lawyer = payable.lawyer
    if lawyer is not None and lawyer.active:
        context["staff_url"] = (
            external_url("bills.show_invoice", invoice_id=payable.id)
            if payable.is_invoice
            else external_url("bills.show_request", request_id=payable.id)
        )
        mail.queue(
            "lawyer_notice",
            [lawyer.email],
            f"{payable.contact.name} paid {format_cents(payment.amount_cents, payment.currency)} on {payable.number}",
            render_template("email/lawyer_notice.txt", **context),
            about=payable,
            reply_to=payment.payer_email,
        )
