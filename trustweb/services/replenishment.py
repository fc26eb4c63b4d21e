"""Evergreen top-ups asked for automatically: the worker's pass over matters that say "ask automatically".

For each such open matter, under its open replenishment request's lock where there is one:
- below its minimum with no replenishment request open: a trust request for the top-up (back to the target) is
  made in the responsible lawyer's name and emailed to the client through the outbox;
- below it with one open and nothing paid on it yet: its amount follows the balance;
- back at or above the minimum with one open and nothing paid: it is withdrawn (voided, its links revoked).
A request the client has started paying is left as it is. The database keeps one replenishment request open per
matter (a partial unique index), so two workers, or a worker and a lawyer, never ask twice.

Where the client authorised it in the portal (`services/top_ups.py`: the matter's `evergreen_method_id`), the
request is made but not emailed, and the worker charges the saved method for it at once: the receipt is emailed as
for any payment. A decline (or a method that can no longer pay) falls back to emailing the request, and the lawyer
is told. The charge's key is `evergreen-<matter>-<request>-<attempt>`, and the attempt is always 1: a request that
was declined once is not charged again automatically, it is the client's to pay from the email. Before the key is
first sent its amount and method are committed (`saved_methods.mark_charging`); from then on the draft is neither
followed nor withdrawn while no answer is recorded, and a crash, a lost answer (`ChargeOutcomeUnknown`, reported by
the pass) or a second pass repeats the same key with the same amount, which the processor and
`saved_methods.charge()` answer with the charge already made: the top-up is taken and booked once. The charge locks
the request, then the matter (read afresh: a top-up turned off meanwhile falls back to emailing the request).
"""

from datetime import timedelta

from flask import render_template
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from trustweb.extensions import db
from trustweb.ledger.money import format_cents
from trustweb.models import (
    BankAccount,
    FirmSettings,
    LedgerAccount,
    Matter,
    MatterStatus,
    Payment,
    PaymentStatus,
    RequestStatus,
    SavedMethod,
    TrustRequest,
)
from trustweb.models.requests import PAYABLE
from trustweb.payments import Declined
from trustweb.refusals import REFUSALS, ServiceError
from trustweb.services import audit, evergreen, mail, saved_methods
from trustweb.services import requests as request_service
from trustweb.services.firm import currency_of, default_account
from trustweb.services.trust import firm_today

DUE_IN = timedelta(days=14)
ACTOR = "evergreen top-up"
RESTORED = "The trust balance is back at or above the agreed evergreen minimum."


def open_replenishment(matter: Matter) -> TrustRequest | None:
    return db.session.scalar(
        select(TrustRequest).where(
            TrustRequest.matter_id == matter.id, TrustRequest.replenishes, TrustRequest.status.in_(PAYABLE)
        )
    )


def replenish_all() -> tuple[list[str], list[str]]:
    """One pass over the matters that ask automatically: (what was done, what could not be), in words."""
    matter_ids = db.session.scalars(
        select(Matter.id)
        .where(
            or_(Matter.evergreen_auto_request, Matter.evergreen_method_id.is_not(None)),
            Matter.status == MatterStatus.OPEN,
        )
        .order_by(Matter.id)
    ).all()
    done, refused = [], []
    for matter_id in matter_ids:
        try:
            said = replenish(matter_id)
        except (*REFUSALS, IntegrityError) as error:
            db.session.rollback()
            refused.append(f"matter {matter_id}: {error}")
            continue
        if said:
            done.append(said)
    return done, refused


def replenish(matter_id: int) -> str | None:
    """Ask, change or withdraw one matter's top-up as its balance now stands; what was done, or None."""
    matter = db.session.get(Matter, matter_id, options=[joinedload(Matter.client), joinedload(Matter.lawyer)])
    position = evergreen.of(matter) if matter is not None else None
    if matter is None or position is None:
        return None
    asked = open_replenishment(matter)
    if asked is not None:
        asked = request_service.lock(asked)
    marked = _charge_under_way(matter, asked) if asked is not None else None
    if asked is not None and marked is not None:
        # Its charge was asked and its answer never recorded (a crash, or an answer lost on its way): the same charge
        # is asked again with the same key and amount, never followed nor withdrawn, so it is taken and booked once.
        if _waiting_payment(asked):
            db.session.rollback()
            return None  # a bank payment on its way: booked when the processor confirms it
        return _charge(matter, asked, db.session.get_one(SavedMethod, marked["method_id"]))
    if not position.below_minimum:
        if asked is not None and asked.paid_cents == 0 and asked.status in PAYABLE:
            request_service.void_request(asked, RESTORED, matter.lawyer)
            return f"{asked.number} withdrawn: {matter.number} is back at its minimum."
        db.session.rollback()
        return None
    if asked is None:
        return _ask(matter, position)
    if asked.status == RequestStatus.DRAFT:
        if _waiting_payment(asked):
            db.session.rollback()
            return None  # a bank payment on its way: booked when the processor confirms it
        method = _authorised_method(matter, asked)
        if method is not None:  # made for an automatic charge that a crash interrupted: charge it now
            return _charge(matter, _follow(asked, position), method)
        # made, but its sending failed on an earlier pass (or its charge was declined): send it now
        request_service.send_request(asked, matter.lawyer)
        return f"{asked.number} sent: {matter.client.name} asked for the top-up on {matter.number}."
    if asked.paid_cents == 0 and asked.amount_cents != position.top_up_cents:
        _follow(asked, position)
        db.session.commit()
        now = _money(asked.amount_cents, asked.bank_account)
        return f"{asked.number} now asks for {now}: {matter.number}'s balance moved."
    db.session.rollback()
    return None


def account_of(matter: Matter) -> BankAccount | None:
    """Where the matter's top-up goes: the trust account of the firm's currency (the evergreen minimum's) holding
    most of its money, else the firm's default."""
    held = db.session.scalar(
        select(BankAccount)
        .join(LedgerAccount, LedgerAccount.bank_account_id == BankAccount.id)
        .where(
            LedgerAccount.kind == "client",
            LedgerAccount.matter_id == matter.id,
            BankAccount.active,
            BankAccount.currency == FirmSettings.get().currency,
        )
        .order_by(LedgerAccount.balance_cents.desc(), BankAccount.id)
        .limit(1)
    )
    return held or default_account("trust")


def _ask(matter: Matter, position: evergreen.Evergreen) -> str:
    account = account_of(matter)
    if not matter.client.email:
        raise ServiceError(f"{matter.client.name} has no email address to ask for the top-up.")
    target = position.target_cents if position.target_cents is not None else position.minimum_cents
    today = firm_today()
    values = {
        "contact": matter.client,
        "matter": matter,
        "account": account,
        "template": None,
        "amount_cents": position.top_up_cents,
        "issued_on": today,
        "due_on": today + DUE_IN,
        "message": (
            f"The money held in trust for {matter.number} ({matter.description}) is "
            f"{_money(position.held_cents, account)}, below the {_money(position.minimum_cents, account)} agreed. "
            f"This request brings it back to {_money(target, account)}."
        ),
        "allow_partial": True,
        "minimum_cents": None,
        "recipients": [matter.client.email],
        "cc": [],
        "replenishes": True,
    }
    request = request_service.create_request(values, matter.lawyer)
    method = _authorised_method(matter, request)
    if method is not None:
        return _charge(matter, request, method)
    request_service.send_request(request, matter.lawyer)
    asked = _money(request.amount_cents, account)
    return f"{request.number} sent: {matter.client.name} asked for {asked} on {matter.number}."


def _authorised_method(matter: Matter, request: TrustRequest) -> SavedMethod | None:
    """The method the client authorised for the top-up, if it can pay this request and was not declined for it."""
    method = matter.evergreen_method
    if method is None or not saved_methods.usable_for(method, request.bank_account):
        return None
    return None if _authorised_failed(request) else method


def _waiting_payment(request: TrustRequest) -> bool:
    return (
        db.session.scalar(
            select(Payment.id).where(Payment.trust_request_id == request.id, Payment.status == PaymentStatus.PENDING)
        )
        is not None
    )


def _key(matter: Matter, request: TrustRequest) -> str:
    return f"evergreen-{matter.id}-{request.id}-1"


def _charge_under_way(matter: Matter, request: TrustRequest) -> dict | None:
    """What a draft request's automatic charge asked, when it may have been asked and no answer is recorded: the
    `payment.charging` marker under its key, with no failed payment (a decline) on it."""
    if request.status != RequestStatus.DRAFT:
        return None
    marked = saved_methods.charging_marked(request, _key(matter, request))
    if marked is None or _authorised_failed(request):
        return None
    return marked


def _authorised_failed(request: TrustRequest) -> bool:
    return bool(
        db.session.scalar(
            select(func.count(Payment.id)).where(
                Payment.trust_request_id == request.id, Payment.status == PaymentStatus.FAILED
            )
        )
    )


def _follow(asked: TrustRequest, position: evergreen.Evergreen) -> TrustRequest:
    """Its amount follows the balance (nothing paid on it yet): the top-up as the balance now stands."""
    if asked.amount_cents != position.top_up_cents and position.top_up_cents > 0:
        before = asked.amount_cents
        asked.amount_cents = position.top_up_cents
        audit.record(
            "request.amount_followed_balance",
            asked,
            before={"amount_cents": before},
            after={"amount_cents": asked.amount_cents, "held_cents": position.held_cents},
        )
    return asked


def _charge(matter: Matter, request: TrustRequest, method: SavedMethod) -> str:
    """The authorised method charged for the top-up; on a decline the request is emailed and the lawyer told. What
    the key asks (amount, method) is committed before the processor is first asked: every later ask is the same. A
    lost answer (ChargeOutcomeUnknown) is raised for the pass to report; the next pass asks again."""
    key = _key(matter, request)
    marked = saved_methods.charging_marked(request, key)
    if marked is None:
        saved_methods.mark_charging(request, key, request.amount_cents, method, actor=ACTOR)
        db.session.commit()
        marked = {"amount_cents": request.amount_cents}
    # The request, then the matter, then (in charge) the method: a turn-off committed first is seen, one coming
    # waits for this charge (top_ups.turn_off locks the matter; saved_methods.remove its plans and matters first).
    from trustweb.services.top_ups import lock as lock_matter  # top_ups reads account_of from here

    request = request_service.lock(request)
    matter = lock_matter(matter)
    if matter.evergreen_method_id != method.id:
        return _fall_back(matter, request, method, "the automatic top-up was turned off or moved to another method")
    amount = _money(marked["amount_cents"], request.bank_account)
    try:
        payment = saved_methods.charge(
            request,
            method,
            marked["amount_cents"],
            key,
            user=None,
            actor=ACTOR,
            why=f"automatic top-up of matter {matter.id}, authorised by the client",
        )
    except Declined as error:
        return _fall_back(matter, request, method, str(error))
    except saved_methods.ChargeOutcomeUnknown:
        db.session.rollback()
        raise
    except ServiceError as error:
        db.session.rollback()
        return _fall_back(matter, request, method, str(error))
    if payment.status == PaymentStatus.FAILED:  # declined on a pass that crashed before it emailed the request
        return _fall_back(matter, request, method, payment.failure_message or "Declined.")
    if payment.status == PaymentStatus.PENDING:
        return f"{request.number}: {method.label} asked for {amount} for {matter.number}; the bank confirms it later."
    return f"{request.number} paid: {method.label} charged {amount} for {matter.number}'s top-up."


def _fall_back(matter: Matter, request: TrustRequest, method: SavedMethod, reason: str) -> str:
    """The automatic charge did not go through: the client is emailed the request, the lawyer told why."""
    request = request_service.lock(request)
    lawyer = matter.lawyer
    if lawyer.active:
        mail.queue(
            "top_up_notice",
            [lawyer.email],
            f"Automatic top-up of {matter.number} declined: {matter.client.name} was emailed {request.number}",
            render_template("email/top_up_declined.txt", matter=matter, request=request, method=method, reason=reason),
            about=request,
        )
    request_service.send_request(request, lawyer)
    return f"{request.number} sent: {method.label} was declined for {matter.number}'s top-up ({reason})."


def _money(cents: int, account: BankAccount | None) -> str:
    return format_cents(cents, currency_of(account) if account is not None else "USD")
