"""The worker's pass over payment plans: each due instalment charged once, whatever crashes, retries or workers.

For each active plan whose next date has come, three short steps:

1. The instalment's row for (plan, due date) is inserted and committed (for a plan into a matter's funds with the
   trust request it pays, made in the same transaction). The unique constraint on (plan, due date) makes a second
   worker's insert fail: it goes on to step 2 with the row the first one made.
2. Under the plan's lock and then the instalment's (`SELECT ... FOR UPDATE`), the instalment is checked to be still
   waiting and due, and `saved_methods.charge()` is called with the key `plan-<plan>-<due date>-<attempt>`, the
   attempt being one more than the attempts recorded. What the key asks (amount, method) is fixed and committed
   first (`saved_methods.mark_charging`), so every ask under it is the same. It locks the payable, returns the
   payment already booked under that key if there is one, else asks the processor and books what it took, and
   commits. A lost answer (`ChargeOutcomeUnknown`) or a refusal before the processor was asked is no decline: noted
   on the instalment, the lawyer told once, asked again at the next pass with the same key.
3. The outcome is recorded under the same two locks: the instalment paid and the plan moved to its next date (or
   completed), or the decline counted under the retry rule, the client and lawyer emailed. A step 3 that finds the
   outcome already recorded does nothing.

A saved bank account's charge is not taken at once: the processor says it is on its way (a pending payment, booked
by its webhook as a checkout's is). Its instalment stays pending with the payment on it and its attempts unchanged,
and the plan stays at that date: the next date is not charged, nor the plan moved past it, until the bank has
answered. Each pass first records the instalments whose bank payment the webhook has settled since
(`_bank_outcome`): paid, the instalment succeeds and the plan moves on; failed, it counts as a decline under the
retry rule. A plan stopped or moved to another date meanwhile keeps its instalment on its way (a stop or an edit
cancels only instalments waiting for a retry): paid, it succeeds; failed, it fails with no retry.

A crash anywhere repeats at most step 2 with the same key: the processor answers a key it has seen with the charge
it made then (Stripe's idempotency keys; the test processor's references are made from the key), and a payment
that was booked is found by its key, so the money is taken and booked once. ARCHITECTURE.md walks the windows.
"""

from datetime import date, timedelta
from functools import partial

from flask import render_template
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from trustweb.extensions import db
from trustweb.ledger.money import format_cents
from trustweb.models import (
    InstalmentStatus,
    Payable,
    Payment,
    PaymentPlan,
    PaymentStatus,
    PlanEnd,
    PlanInstalment,
    PlanStatus,
    RequestStatus,
    SavedMethod,
    TrustRequest,
    User,
)
from trustweb.models.base import utcnow
from trustweb.payments import AuthenticationRequired, Declined
from trustweb.refusals import REFUSALS, ServiceError
from trustweb.services import audit, mail, plans, saved_methods
from trustweb.services import requests as request_service
from trustweb.services.firm import currency_of
from trustweb.services.trust import firm_today
from trustweb.urls import external_url

UNKNOWN = (
    "The card processor's answer never came, so whether it took the money is not known yet; it is asked again with "
    "the same key at the next pass, and charges once."
)
INSTALMENT_FIELDS = ("due_on", "amount_cents", "status", "attempts", "next_attempt_on", "payment_id")


def run_due(today: date | None = None) -> tuple[list[str], list[str]]:
    """One pass: the bank payments answered since the last one, then every plan with an instalment due today or
    before; (what was done, what could not be)."""
    today = today or firm_today()
    answered = db.session.execute(
        select(PlanInstalment.id, PlanInstalment.plan_id)
        .join(Payment, Payment.id == PlanInstalment.payment_id)
        .where(PlanInstalment.status == InstalmentStatus.PENDING, Payment.status != PaymentStatus.PENDING)
        .order_by(PlanInstalment.id)
    ).all()
    plan_ids = db.session.scalars(
        select(PaymentPlan.id)
        .where(PaymentPlan.status == PlanStatus.ACTIVE, PaymentPlan.next_due_on <= today)
        .order_by(PaymentPlan.next_due_on, PaymentPlan.id)
    ).all()
    db.session.rollback()
    steps = [(plan_id, partial(_bank_outcome, plan_id, instalment_id, today)) for instalment_id, plan_id in answered]
    steps += [(plan_id, partial(run_plan, plan_id, today)) for plan_id in plan_ids]
    done, refused = [], []
    for plan_id, step in steps:
        try:
            said = step()
        except REFUSALS as error:
            db.session.rollback()
            refused.append(f"plan {plan_id}: {error}")
            continue
        if said:
            done.append(said)
    return done, refused


def run_plan(plan_id: int, today: date) -> str | None:
    """The plan's due instalment, charged or waiting for its retry; what was done, or None."""
    instalment_id = _instalment(plan_id, today)
    if instalment_id is None:
        return None
    plan = plans.lock(db.session.get_one(PaymentPlan, plan_id))
    instalment = _lock(instalment_id)
    if plan.status != PlanStatus.ACTIVE or plan.next_due_on != instalment.due_on:
        db.session.rollback()
        return None
    if instalment.status != InstalmentStatus.PENDING:  # over, and the plan not moved on: move it on
        _advance(plan, instalment.due_on)
        db.session.commit()
        return None
    if not _waiting(instalment, today) or instalment.payment_id is not None:
        db.session.rollback()
        return None  # waiting for its retry date, or for the bank to answer (`_bank_outcome` records that)
    attempt = instalment.attempts + 1
    key = f"plan-{plan.id}-{instalment.due_on.isoformat()}-{attempt}"
    earlier = db.session.scalar(select(Payment).where(Payment.idempotency_key == key))
    if earlier is not None:  # booked by a worker that has not recorded it yet, or that crashed before it could
        return _outcome(plan_id, instalment_id, attempt, today, earlier)
    payable = _payable(plan, instalment)
    if payable.status in (payable.Status.PAID, payable.Status.VOID):
        return _paid_another_way(plan, instalment, payable)
    marked = saved_methods.charging_marked(instalment, key)
    if marked is None:  # the attempt's amount and method fixed, and committed, before the processor is asked
        amount = instalment.amount_cents
        if instalment.trust_request_id is None:
            amount = min(amount, payable.payable_cents)
        if amount <= 0:
            db.session.rollback()
            return None  # all that is due is promised from trust: nothing to charge until that is settled
        instalment.amount_cents = amount
        saved_methods.mark_charging(instalment, key, amount, plan.method, actor=_actor(plan))
        db.session.commit()
        return run_plan(plan_id, today)  # the locks taken again and the state checked again
    method = db.session.get_one(SavedMethod, marked["method_id"])
    why = f"instalment due {instalment.due_on.isoformat()} of payment plan {plan.id}"
    try:
        payment = saved_methods.charge(
            payable, method, marked["amount_cents"], key, user=None, actor=_actor(plan), why=why
        )
    except AuthenticationRequired as error:
        return _record(plan_id, instalment_id, attempt, today, None, str(error), authenticate=True)
    except Declined as error:
        return _record(plan_id, instalment_id, attempt, today, None, str(error))
    except saved_methods.ChargeOutcomeUnknown as error:
        db.session.rollback()
        return _not_charged(plan_id, instalment_id, attempt, UNKNOWN, str(error))
    except ServiceError as error:
        db.session.rollback()
        return _not_charged(plan_id, instalment_id, attempt, str(error), str(error))
    return _outcome(plan_id, instalment_id, attempt, today, payment)


def _not_charged(plan_id: int, instalment_id: int, attempt: int, message: str, detail: str) -> str | None:
    """Not a decline: the processor's answer never came, or the charge was refused before it was asked. Noted on
    the instalment and the lawyer told (once for the same reason); no retry used and the client not emailed: the
    instalment stays waiting, and the next pass asks again with the same key."""
    plan = plans.lock(db.session.get_one(PaymentPlan, plan_id))
    instalment = _lock(instalment_id)
    if (
        instalment.status != InstalmentStatus.PENDING
        or instalment.attempts >= attempt
        or instalment.payment_id is not None
        or instalment.failure_message == message
    ):
        db.session.rollback()
        return None  # recorded by another worker, or the lawyer told already
    before = audit.snapshot(instalment, INSTALMENT_FIELDS)
    instalment.failure_message = message
    _notify(plan, instalment, _payable(plan, instalment), "not_charged")
    _audited(plan, instalment, "plan.instalment_not_charged", before, {"failure": detail})
    return f"Plan {plan.id}: {instalment.due_on}'s instalment not charged ({message}); asked again at the next pass."


def _outcome(plan_id: int, instalment_id: int, attempt: int, today: date, payment: Payment) -> str | None:
    """What the attempt's payment says: taken, declined, or (a bank payment) on its way."""
    if payment.status == PaymentStatus.FAILED:
        return _record(plan_id, instalment_id, attempt, today, None, payment.failure_message or "Declined.")
    if payment.status == PaymentStatus.PENDING:
        return _on_its_way(plan_id, instalment_id, attempt, payment)
    return _record(plan_id, instalment_id, attempt, today, payment.id, None)


def _on_its_way(plan_id: int, instalment_id: int, attempt: int, payment: Payment) -> str | None:
    """A bank payment the processor is still taking: kept on the instalment, which stays pending (its attempts
    unchanged, so a rerun asks with the same key), and the plan stays at its date until the bank answers."""
    plan = plans.lock(db.session.get_one(PaymentPlan, plan_id))
    instalment = _lock(instalment_id)
    if instalment.status != InstalmentStatus.PENDING or instalment.attempts >= attempt or instalment.payment_id:
        db.session.rollback()
        return None  # recorded already
    before = audit.snapshot(instalment, INSTALMENT_FIELDS)
    instalment.payment_id, instalment.failure_message = payment.id, None
    _audited(plan, instalment, "plan.instalment_on_its_way", before, {"plan_next_due_on": plan.next_due_on})
    return f"Plan {plan.id}: {_money(plan, instalment.amount_cents)} asked of the bank for {instalment.due_on}."


def _bank_outcome(plan_id: int, instalment_id: int, today: date) -> str | None:
    """An instalment whose bank payment its webhook has since booked or failed: the outcome recorded once."""
    plans.lock(db.session.get_one(PaymentPlan, plan_id))
    instalment = _lock(instalment_id)
    payment = instalment.payment
    if instalment.status != InstalmentStatus.PENDING or payment is None or payment.status == PaymentStatus.PENDING:
        db.session.rollback()
        return None  # another worker recorded it
    return _outcome(plan_id, instalment_id, instalment.attempts + 1, today, payment)


def _instalment(plan_id: int, today: date) -> int | None:
    """Step 1: the due instalment's id, its row inserted (and committed) if this is its first attempt."""
    plan = db.session.get(PaymentPlan, plan_id, populate_existing=True)
    if plan is None or plan.status != PlanStatus.ACTIVE or plan.next_due_on is None or plan.next_due_on > today:
        db.session.rollback()
        return None
    due_on = plan.next_due_on
    instalment = db.session.scalar(
        select(PlanInstalment).where(PlanInstalment.plan_id == plan.id, PlanInstalment.due_on == due_on)
    )
    if instalment is not None:
        found, waiting = instalment.id, _waiting(instalment, today)
        db.session.rollback()
        return found if waiting or instalment.status != InstalmentStatus.PENDING else None
    payable = plans.payable_of(plan)
    if payable is not None and payable.status in (payable.Status.PAID, payable.Status.VOID):
        _complete(plan, payable)
        return None
    amount = plan.amount_cents if payable is None else min(plan.amount_cents, payable.payable_cents)
    if amount <= 0:
        db.session.rollback()
        return None  # all that is due is promised from trust: nothing to charge until that is settled
    instalment = PlanInstalment(
        plan_id=plan.id,
        due_on=due_on,
        amount_cents=amount,
        status=InstalmentStatus.PENDING,
        attempts=0,
        next_attempt_on=due_on,
    )
    if payable is None:
        instalment.trust_request_id = _instalment_request(plan, due_on, amount).id
    db.session.add(instalment)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # another worker made it first: take theirs
        return db.session.scalar(
            select(PlanInstalment.id).where(PlanInstalment.plan_id == plan_id, PlanInstalment.due_on == due_on)
        )
    return instalment.id


def _instalment_request(plan: PaymentPlan, due_on: date, amount: int) -> TrustRequest:
    """The trust request an instalment into a matter's funds pays: made, not emailed (the caller commits)."""
    matter = plan.matter
    values = {
        "contact": plan.contact,
        "matter": matter,
        "account": plan.bank_account,
        "template": None,
        "amount_cents": amount,
        "issued_on": firm_today(),
        "due_on": due_on,
        "message": f"Instalment due {due_on:%B %-d, %Y} of payment plan {plan.id} into the funds held for "
        f"{matter.number}.",
        "allow_partial": False,
        "minimum_cents": None,
        "recipients": [plan.contact.email] if plan.contact.email else [],
        "cc": [],
    }
    return request_service.create_request(values, plan.created_by or matter.lawyer, commit=False)


def _lock(instalment_id: int) -> PlanInstalment:
    return db.session.execute(
        select(PlanInstalment)
        .where(PlanInstalment.id == instalment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def _waiting(instalment: PlanInstalment, today: date) -> bool:
    """Still to be charged, and its (re)try due."""
    return instalment.status == InstalmentStatus.PENDING and (
        instalment.next_attempt_on is None or instalment.next_attempt_on <= today
    )


def _payable(plan: PaymentPlan, instalment: PlanInstalment) -> Payable:
    if instalment.trust_request_id is not None:
        return request_service.lock(db.session.get_one(TrustRequest, instalment.trust_request_id))
    payable = plans.payable_of(plan)
    assert payable is not None  # a plan without its own payable makes one per instalment
    return payable


def _actor(plan: PaymentPlan) -> str:
    return f"payment plan {plan.id}"


def _complete(plan: PaymentPlan, payable: Payable) -> None:
    """The plan's request or invoice was paid (or voided) another way: the plan is over."""
    plan = plans.lock(plan)
    if plan.status != PlanStatus.ACTIVE:
        db.session.rollback()
        return
    before = audit.snapshot(plan, plans.PLAN_FIELDS)
    plan.status, plan.next_due_on = PlanStatus.COMPLETED, None
    audit.record(
        "plan.completed",
        plan,
        before=before,
        after=audit.snapshot(plan, plans.PLAN_FIELDS) | {"why": f"{payable.number} is {payable.status_label.lower()}"},
        actor=_actor(plan),
    )
    db.session.commit()


def _paid_another_way(plan: PaymentPlan, instalment: PlanInstalment, payable: Payable) -> str:
    """The request or invoice was paid (or voided) some other way: the plan is done with it, or (an instalment's
    own request) with this instalment."""
    before = audit.snapshot(instalment, INSTALMENT_FIELDS)
    paid = payable.status == payable.Status.PAID
    if instalment.trust_request_id is not None and paid:
        instalment.status = InstalmentStatus.SUCCEEDED  # the client paid this instalment's request themselves
        instalment.failure_message = "Paid by the client with the link they were sent."
    else:
        instalment.status = InstalmentStatus.CANCELLED
        instalment.failure_message = f"{payable.number} was " + ("paid another way." if paid else "voided.")
    if instalment.trust_request_id is not None:
        _advance(plan, instalment.due_on)
    else:
        plan.status, plan.next_due_on = PlanStatus.COMPLETED, None
    instalment.next_attempt_on = None
    _audited(plan, instalment, "plan.instalment_closed", before, {"plan_status": plan.status})
    return f"Plan {plan.id}: {payable.number} is {payable.status_label.lower()}; nothing charged."


def _advance(plan: PaymentPlan, due_on: date) -> None:
    """After an instalment is over: the plan's next date, or its end. A plan stopped meanwhile stays so, and one
    moved to another date (a bank payment answered after an edit) keeps that date."""
    if plan.status not in (PlanStatus.ACTIVE, PlanStatus.PAUSED):
        return
    payable = plans.payable_of(plan)
    count_reached = plan.ends == PlanEnd.COUNT and plans.succeeded(plan) >= (plan.payments_total or 0)
    paid = payable is not None and payable.status in (payable.Status.PAID, payable.Status.VOID)
    if count_reached or paid:
        plan.status, plan.next_due_on = PlanStatus.COMPLETED, None
    elif plan.next_due_on == due_on:
        plan.next_due_on = plans.following(plan, due_on)


def _record(
    plan_id: int,
    instalment_id: int,
    attempt: int,
    today: date,
    payment_id: int | None,
    failure: str | None,
    *,
    authenticate: bool = False,
) -> str | None:
    """Step 3: the outcome of attempt `attempt`, recorded once."""
    plan = plans.lock(db.session.get_one(PaymentPlan, plan_id))
    instalment = _lock(instalment_id)
    if instalment.status != InstalmentStatus.PENDING or instalment.attempts >= attempt:
        db.session.rollback()
        return None  # another worker recorded it
    before = audit.snapshot(instalment, INSTALMENT_FIELDS)
    instalment.attempts = attempt
    if payment_id is not None:
        instalment.status, instalment.payment_id = InstalmentStatus.SUCCEEDED, payment_id
        instalment.next_attempt_on, instalment.failure_message = None, None
        plan.failed_attempts = 0
        db.session.flush()
        _advance(plan, instalment.due_on)
        said = f"Plan {plan.id}: {_money(plan, instalment.amount_cents)} charged for {instalment.due_on}."
        action = "plan.instalment_paid"
    else:
        instalment.failure_message, instalment.payment_id = failure, None  # a failed bank payment is kept by its key
        payable = _payable(plan, instalment)
        if plan.status not in (PlanStatus.ACTIVE, PlanStatus.PAUSED) or plan.next_due_on != instalment.due_on:
            # A bank payment that failed after the plan was stopped or moved to another date: nothing to retry.
            instalment.status, instalment.next_attempt_on = InstalmentStatus.FAILED, None
            said = f"Plan {plan.id}: {instalment.due_on}'s bank payment failed; the plan had moved on."
            action = "plan.instalment_failed"
        elif authenticate:
            instalment.status, instalment.next_attempt_on = InstalmentStatus.ACTION_REQUIRED, None
            plan.failed_attempts = 0
            _advance(plan, instalment.due_on)
            _notify(plan, instalment, payable, "authenticate")
            said = f"Plan {plan.id}: the bank wants the client to confirm {instalment.due_on}'s charge; sent a link."
            action = "plan.instalment_action_required"
        elif attempt >= plans.MAX_ATTEMPTS:
            instalment.status, instalment.next_attempt_on = InstalmentStatus.FAILED, None
            plan.failed_attempts = attempt
            plan.status, plan.next_due_on = PlanStatus.PAUSED, plans.following(plan, instalment.due_on)
            _notify(plan, instalment, payable, "failed")
            said = f"Plan {plan.id}: {instalment.due_on}'s instalment declined {attempt} times; the plan is paused."
            action = "plan.instalment_failed"
        else:
            instalment.next_attempt_on = today + timedelta(days=plans.RETRY_AFTER_DAYS[attempt - 1])
            plan.failed_attempts = attempt
            _notify(plan, instalment, payable, "declined")
            said = (
                f"Plan {plan.id}: {instalment.due_on}'s instalment declined; tried again {instalment.next_attempt_on}."
            )
            action = "plan.instalment_declined"
    _audited(
        plan,
        instalment,
        action,
        before,
        {"plan_status": plan.status, "plan_next_due_on": plan.next_due_on, "failure": failure},
    )
    return said


def _audited(plan: PaymentPlan, instalment: PlanInstalment, action: str, before: dict, more: dict) -> None:
    """The instalment's change recorded with its before and after (and what it did to the plan), committed."""
    db.session.flush()
    after = audit.snapshot(instalment, INSTALMENT_FIELDS) | more
    audit.record(action, instalment, before=before, after=after, actor=_actor(plan))
    db.session.commit()


def _notify(plan: PaymentPlan, instalment: PlanInstalment, payable: Payable, what: str) -> None:
    """The client (with a link to pay this instalment by hand) and the lawyer, through the outbox."""
    if what != "not_charged" and payable.status == RequestStatus.DRAFT and not payable.is_invoice:
        payable.status, payable.sent_at = RequestStatus.SENT, utcnow()  # its link is the client's way to pay it
        audit.record(
            "request.sent",
            payable,
            before={"status": RequestStatus.DRAFT},
            after={"status": payable.status, "to": payable.recipients, "why": f"instalment of plan {plan.id}"},
            actor=_actor(plan),
        )
    link = request_service.new_link(payable) if payable.is_open and what != "not_charged" else None
    context = {
        "plan": plan,
        "instalment": instalment,
        "payable": payable,
        "what": what,
        "link": link,
        "amount": _money(plan, instalment.amount_cents),
        "retry_rule": plans.RETRY_RULE,
    }
    to = payable.recipient_list or ([plan.contact.email] if plan.contact.email else [])
    subjects = {
        "declined": f"Your payment of {context['amount']} was declined",
        "failed": f"Your payment of {context['amount']} was declined again: your payment plan is paused",
        "authenticate": f"Please confirm your payment of {context['amount']}",
    }
    staff_subjects = {
        "declined": "an instalment was declined",
        "failed": "declined three times, the plan is paused",
        "authenticate": "the bank wants the client to confirm an instalment",
        "not_charged": "an instalment could not be charged (not a decline)",
    }
    if to and what in subjects:
        mail.queue(
            "plan_notice",
            to,
            subjects[what],
            render_template("email/plan_client.txt", **context),
            about=payable,
            reply_to=mail.reply_to(payable),
            link_url=link,
        )
    lawyer: User | None = payable.lawyer or plan.created_by
    if lawyer is not None and lawyer.active:
        context["staff_url"] = external_url("plans.show", plan_id=plan.id)
        mail.queue(
            "plan_notice",
            [lawyer.email],
            f"Payment plan {plan.id} for {plan.contact.name}: {staff_subjects[what]} ({context['amount']})",
            render_template("email/plan_lawyer.txt", **context),
            about=payable,
        )


def _money(plan: PaymentPlan, cents: int) -> str:
    return format_cents(cents, currency_of(plan.bank_account))
