"""Saved payment methods: keeping a client's card or bank account with the processor, and charging it later.

A saved method is the processor's reference (never a number) and the consent the client gave. Charging it is
one more way into the same path as the pay page: the request or invoice locked first, the key looked up (a
retried charge with the same key books once), the amount checked, the processor asked, and `book_payment()`
books the deposit, the fee, the receipt and the emails in one transaction. A decline is kept as a failed payment
and audited, and raised for the caller (a plan's retry rule, the evergreen job, the staff page) to act on.
"""

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from trustweb.extensions import db
from trustweb.models import (
    AuditEvent,
    BankAccount,
    Contact,
    FirmSettings,
    Matter,
    MethodKind,
    Payable,
    Payment,
    PaymentPlan,
    PaymentStatus,
    PlanStatus,
    SavedMethod,
    User,
)
from trustweb.models.base import utcnow
from trustweb.payments import AuthenticationRequired, Declined, SavedDetails, processor_for, processor_named
from trustweb.payments.keys import stripe_keys
from trustweb.payments.stripe import ProcessorError
from trustweb.refusals import ServiceError
from trustweb.services import audit
from trustweb.services.checkout import reserved_cents
from trustweb.services.payments import (
    PAYMENT_FIELDS,
    book_payment,
    check_amount,
    check_card_accepted,
    existing,
    lock_payable,
    new_payment,
)
from trustweb.services.trust import firm_today

METHOD_FIELDS = (
    "contact_id",
    "bank_account_id",
    "processor",
    "kind",
    "brand",
    "last4",
    "exp_month",
    "exp_year",
    "consent_text",
    "consented_at",
    "consent_ip",
    "removed_at",
)
CHARGING = "payment.charging"  # the audit event recorded before a key is first sent to the processor


class ChargeOutcomeUnknown(ServiceError):
    """The processor could not be reached, or its answer was lost: it may have taken the money. Not a decline: the
    charge is asked again with the same key and the same amount, description and metadata, and the processor
    answers with what it did the first time (or does it now, once)."""


def mark_charging(obj: Any, key: str, amount_cents: int, method: SavedMethod, *, actor: str) -> None:
    """What the charge under `key` asks (its amount and method), recorded before the processor is first asked and
    committed by the caller: every later ask under the key, after a crash or a lost answer, asks the same."""
    after = {"key": key, "amount_cents": amount_cents, "method_id": method.id}
    audit.record(CHARGING, obj, after=after, actor=actor)


def charging_marked(obj: Any, key: str) -> dict[str, Any] | None:
    """What was recorded for the charge under `key` (mark_charging), if it may have been asked already."""
    for after in db.session.scalars(
        select(AuditEvent.after).where(
            AuditEvent.action == CHARGING,
            AuditEvent.object_type == type(obj).__name__,
            AuditEvent.object_id == str(obj.id),
        )
    ):
        found = json.loads(after or "{}")
        if found.get("key") == key:
            return dict(found)
    return None


def record_saved(
    contact: Contact,
    account: BankAccount,
    details: SavedDetails,
    *,
    processor: str,
    consent_text: str,
    consent_ip: str | None,
    user: User | None,
    actor: str | None = None,
    consented_at: datetime | None = None,
) -> SavedMethod:
    """Keep what the processor saved, with the consent shown to the client (given now, or at `consented_at`);
    audited in the caller's transaction (the caller commits)."""
    if not consent_text.strip():
        raise ServiceError("A method is saved only with the client's consent, shown to them in words.")
    existing_method = db.session.scalar(
        select(SavedMethod).where(SavedMethod.method_reference == details.method_reference)
    )
    if existing_method is not None:
        return existing_method  # the processor's report came twice (the return and its webhook)
    method = SavedMethod(
        contact_id=contact.id,
        bank_account_id=account.id,
        processor=processor,
        kind=details.kind,
        customer_reference=details.customer_reference,
        method_reference=details.method_reference,
        brand=details.brand,
        last4=details.last4,
        exp_month=details.exp_month,
        exp_year=details.exp_year,
        holder_name=details.holder_name,
        consent_text=consent_text.strip(),
        consented_at=consented_at or utcnow(),
        consent_ip=consent_ip,
        created_by_id=user.id if user is not None else None,
    )
    db.session.add(method)
    db.session.flush()
    audit.record("method.saved", method, after=audit.snapshot(method, METHOD_FIELDS), user=user, actor=actor)
    return method


def active_methods(contact: Contact) -> list[SavedMethod]:
    """The client's saved methods that can still be charged, newest first."""
    return list(
        db.session.scalars(
            select(SavedMethod)
            .where(SavedMethod.contact_id == contact.id, SavedMethod.removed_at.is_(None))
            .order_by(SavedMethod.id.desc())
        )
    )


def usable_for(method: SavedMethod, account: BankAccount) -> bool:
    """Whether the method can pay into this account: kept by the processor that takes the account's payments
    (for Stripe, under the same secret key); a US bank account (ACH) pays only into a US dollar account."""
    if not method.active or method.processor != account.processor:
        return False
    if method.kind == MethodKind.BANK and account.currency != "USD":
        return False  # Stripe refuses every ACH debit in another currency: each try would count as a decline
    if method.processor == "stripe":
        return stripe_keys(method.bank_account).secret_key == stripe_keys(account).secret_key
    return True


def remove(method: SavedMethod, *, user: User | None, actor: str | None = None) -> SavedMethod:
    """Forget a saved method, here and at the processor: plans charging it pause, and a matter's automatic top-up
    from it stops. Audited."""
    # Its plans and matters first, then the method: the order a plan's charge takes them (plan, ..., method), so a
    # removal and a charge never wait on each other crosswise. A charge under way finishes first. FOR NO KEY UPDATE:
    # an instalment or trust request inserted meanwhile (its foreign key takes FOR KEY SHARE) is not held up.
    db.session.scalars(
        select(PaymentPlan.id)
        .where(PaymentPlan.method_id == method.id)
        .order_by(PaymentPlan.id)
        .with_for_update(key_share=True)
    ).all()
    db.session.scalars(
        select(Matter.id)
        .where(Matter.evergreen_method_id == method.id)
        .order_by(Matter.id)
        .with_for_update(key_share=True)
    ).all()
    method = db.session.execute(
        select(SavedMethod)
        .where(SavedMethod.id == method.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if not method.active:
        return method
    processor = processor_named(method.processor, method.bank_account, FirmSettings.get())
    try:
        processor.forget_saved(method.method_reference)
    except Exception as error:  # noqa: BLE001 - the processor's own error type varies; we refuse in words
        raise ServiceError(f"The processor could not forget this method ({error}); try again in a minute.") from error
    before = audit.snapshot(method, METHOD_FIELDS)
    method.removed_at = utcnow()
    method.removed_by_id = user.id if user is not None else None
    paused_ids = list(
        db.session.scalars(
            select(PaymentPlan.id).where(PaymentPlan.method_id == method.id, PaymentPlan.status == PlanStatus.ACTIVE)
        )
    )
    if paused_ids:
        db.session.execute(update(PaymentPlan).where(PaymentPlan.id.in_(paused_ids)).values(status=PlanStatus.PAUSED))
    stopped_matters = list(db.session.scalars(select(Matter.id).where(Matter.evergreen_method_id == method.id)))
    if stopped_matters:
        db.session.execute(
            update(Matter)
            .where(Matter.id.in_(stopped_matters))
            .values(evergreen_method_id=None, evergreen_authorised_at=None)
        )
    audit.record(
        "method.removed",
        method,
        before=before,
        after={**audit.snapshot(method, METHOD_FIELDS), "plans_paused": paused_ids, "top_ups_stopped": stopped_matters},
        user=user,
        actor=actor,
    )
    db.session.commit()
    return method


def _hold(method: SavedMethod) -> SavedMethod:
    return db.session.execute(
        select(SavedMethod)
        .where(SavedMethod.id == method.id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    ).scalar_one()


def charge(
    payable: Payable,
    method: SavedMethod,
    amount_cents: int,
    idempotency_key: str,
    *,
    user: User | None,
    actor: str | None = None,
    why: str,
) -> Payment:
    """Charge a saved method for a request (into trust) or an invoice (into operating), with nobody at the card.
    Returns the Payment (the earlier one for a key already used); raises Declined or AuthenticationRequired after
    keeping the failed payment, ChargeOutcomeUnknown when the processor's answer never came (it may have taken the
    money: ask again with the same key and parameters), or ServiceError before anything is asked of the processor.
    The processor is asked with parameters made only of what cannot change (the key, the payable's number, `why`),
    so a second ask under the key is the same request."""
    payable = lock_payable(payable)
    earlier = existing(idempotency_key, payable)
    if earlier is not None:
        return earlier
    if payable.contact_id != method.contact_id:
        raise ServiceError("A saved method pays only its own client's requests and invoices.")
    if payable.status == payable.Status.VOID:
        raise ServiceError(f"{payable.number} is void; it takes no payment.")
    if payable.status == payable.Status.PAID:
        raise ServiceError(f"{payable.number} is already paid in full.")
    if payable.is_invoice and payable.status == payable.Status.DRAFT:
        raise ServiceError(f"{payable.number} is a draft; send it before charging it.")
    check_amount(payable, amount_cents)
    if amount_cents > payable.payable_cents - reserved_cents(payable):
        raise ServiceError(
            f"A payment on {payable.number} is in progress (a checkout or a bank payment on its way); "
            "nothing was charged, so the client is not asked twice for the same money."
        )
    account = payable.bank_account
    # The method read afresh and held (shared) to the commit: a removal that committed first is seen, and one
    # that comes now waits for this charge. The payable's lock was taken first; the method's is always last.
    method = _hold(method)
    if not method.active:
        raise ServiceError(f"{method.label} was removed; it can no longer be charged.")
    if not usable_for(method, account):
        raise ServiceError(f"{method.label} was saved with another processor than {account.name}'s; it cannot pay it.")
    if method.expired_on(firm_today()):
        raise ServiceError(f"{method.label} has expired; ask the client for a new one.")
    check_card_accepted(payable)  # its fee is booked in its currency, or nothing is charged
    processor = processor_for(account, FirmSettings.get())
    bank = method.kind == MethodKind.BANK
    payment = new_payment(
        payable,
        idempotency_key,
        amount_cents,
        method="ach" if bank else "card",
        processor=processor.name,
        payer_name=method.holder_name or payable.contact.name,
        card_last4=method.last4,
        received_on=firm_today(),
        created_by_id=user.id if user is not None else None,
    )
    try:
        charged = processor.charge_saved(
            amount_cents,
            currency=account.currency,
            method_reference=method.method_reference,
            customer_reference=method.customer_reference,
            idempotency_key=idempotency_key,
            description=f"{payable.number}: {why}",
            metadata={"payment_key": idempotency_key, ("invoice" if payable.is_invoice else "request"): payable.number},
        )
    except Declined as error:
        payment.status, payment.failure_message = PaymentStatus.FAILED, str(error)
        db.session.add(payment)
        db.session.flush()
        after = {**audit.snapshot(payment, PAYMENT_FIELDS), "saved_method": method.id, "why": why}
        if isinstance(error, AuthenticationRequired):
            after["authentication_required"] = True
        audit.record("payment.failed", payment, after=after, user=user, actor=actor)
        db.session.commit()
        raise
    except ProcessorError as error:
        db.session.rollback()  # whatever was taken, a retry with the same key takes no more and books it
        raise ChargeOutcomeUnknown(
            f"The card processor could not be reached ({error}); whether it took the money is not known yet, "
            "so it is asked again with the same key."
        ) from error
    payment.processor_reference, payment.fee_cents = charged.reference, charged.fee_cents
    if charged.pending:
        # A bank payment on its way: booked when the processor confirms it (its webhook), as a checkout's is.
        payment.status = PaymentStatus.PENDING
        db.session.add(payment)
        db.session.flush()
        audit.record("payment.pending", payment, after={"method": "ach", "saved_method": method.id}, user=user)
        db.session.commit()
        return payment
    book_payment(payable, payment, payer=payment.payer_name, cleared=True, user=user, foreign_fee=charged.foreign_fee)
    return payment
