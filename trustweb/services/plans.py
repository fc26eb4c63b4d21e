"""Payment plans: a client's saved method charged an amount on a schedule, set up and changed by staff.

A plan pays a trust request or a sent invoice until it is paid (or for N payments), or pays into the client's
funds on a matter (for N payments, or until stopped). The worker charges its instalments
(`services/plan_runs.py`); here are the staff's actions, each one transaction that locks the plan's row first
and records its before and after in the audit trail, and the schedule's arithmetic.

The schedule is counted from `start_on`, its anchor: weekly and every two weeks by adding 7 or 14 days, monthly
by adding months to the anchor's day, clamped to a short month's end (Jan 31, Feb 28, Mar 31), so a month is
never skipped nor charged twice. An edit that moves the next date or the frequency anchors the schedule anew on
the next date.
"""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from trustweb.extensions import db
from trustweb.ledger.money import format_cents
from trustweb.models import (
    PLAN_FREQUENCIES,
    Contact,
    InstalmentStatus,
    Invoice,
    Matter,
    MatterStatus,
    Payable,
    PaymentPlan,
    PlanEnd,
    PlanFrequency,
    PlanInstalment,
    PlanStatus,
    SavedMethod,
    TrustRequest,
    User,
)
from trustweb.models.base import utcnow
from trustweb.models.requests import OUTSTANDING
from trustweb.refusals import ServiceError
from trustweb.services import audit
from trustweb.services.firm import currency_of
from trustweb.services.saved_methods import usable_for
from trustweb.services.trust import firm_today

PLAN_FIELDS = (
    "contact_id",
    "matter_id",
    "trust_request_id",
    "invoice_id",
    "bank_account_id",
    "method_id",
    "amount_cents",
    "frequency",
    "start_on",
    "ends",
    "payments_total",
    "next_due_on",
    "status",
    "failed_attempts",
)
# The retry rule: a declined instalment is charged again this many days after its first decline, then after its
# second; a third decline fails it, pauses the plan and tells the client and the lawyer.
RETRY_AFTER_DAYS = (3, 5)
MAX_ATTEMPTS = len(RETRY_AFTER_DAYS) + 1
RETRY_RULE = (
    "A declined instalment is charged again 3 days later, then 5 days after that; after a third decline it is "
    "marked failed, the plan is paused, and the client and the lawyer are told. Each decline emails the client a "
    "link to pay that instalment by hand, and tells the lawyer. When the card's bank wants the client to confirm "
    "a charge, it is not retried: the client is emailed a link to pay that instalment themselves. Not a decline: "
    "a charge the card processor never answered (it may have taken the money) is asked again at the worker's next "
    "pass with the same key and amount, so it is taken once; and a charge refused before the processor was asked "
    "(the card expired or removed, another payment of the request in progress, no operating account for the fees) "
    "is noted on the instalment and the lawyer told once, the client is not emailed and no retry is used: it is "
    "tried at each pass until it can be charged, or the plan is changed."
)
PLAN_KEY = "form_key"  # the name the set-up form's key is recorded under in `plan.created`
MOST_PAYMENTS = 520  # ten years of weekly payments


# The schedule


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def nth_date(anchor: date, frequency: str, n: int) -> date:
    """The schedule's nth date (0: the anchor itself)."""
    if frequency == PlanFrequency.MONTHLY:
        return add_months(anchor, n)
    return anchor + timedelta(days=(14 if frequency == PlanFrequency.BIWEEKLY else 7) * n)


def first_on_or_after(anchor: date, frequency: str, day: date) -> date:
    """The first date of the schedule on or after `day`."""
    if day <= anchor:
        return anchor
    if frequency == PlanFrequency.MONTHLY:
        n = (day.year - anchor.year) * 12 + day.month - anchor.month
        return add_months(anchor, n) if add_months(anchor, n) >= day else add_months(anchor, n + 1)
    step = 14 if frequency == PlanFrequency.BIWEEKLY else 7
    return anchor + timedelta(days=-(-(day - anchor).days // step) * step)


def following(plan: PaymentPlan, day: date) -> date:
    """The schedule's date after `day`."""
    return first_on_or_after(plan.start_on, plan.frequency, day + timedelta(days=1))


# Reading plans


def payable_of(plan: PaymentPlan) -> Payable | None:
    """The request or invoice the plan pays; None for a plan into the client's funds on a matter."""
    return plan.request if plan.trust_request_id is not None else plan.invoice


def succeeded(plan: PaymentPlan) -> int:
    """How many of its instalments were paid."""
    return (
        db.session.scalar(
            select(func.count(PlanInstalment.id)).where(
                PlanInstalment.plan_id == plan.id, PlanInstalment.status == InstalmentStatus.SUCCEEDED
            )
        )
        or 0
    )


def lock(plan: PaymentPlan) -> PaymentPlan:
    """The plan's row, locked and read afresh: every change of a plan, the worker's included, goes through here.
    FOR NO KEY UPDATE: no key changes, and an instalment inserted meanwhile (its foreign key's KEY SHARE) goes on."""
    return db.session.execute(
        select(PaymentPlan)
        .where(PaymentPlan.id == plan.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one()


def plans_of(contact: Contact, *statuses: str) -> list[PaymentPlan]:
    """The contact's plans (of these statuses, or all), newest first, with what a list of them shows."""
    return list(
        db.session.scalars(
            select(PaymentPlan)
            .where(PaymentPlan.contact_id == contact.id, *([PaymentPlan.status.in_(statuses)] if statuses else []))
            .options(
                joinedload(PaymentPlan.method),
                joinedload(PaymentPlan.bank_account),
                joinedload(PaymentPlan.request),
                joinedload(PaymentPlan.invoice),
                joinedload(PaymentPlan.matter),
            )
            .order_by(PaymentPlan.id.desc())
        )
    )


def current_plans(contact: Contact) -> list[PaymentPlan]:
    """What the client sees in the portal: their active and paused plans."""
    return plans_of(contact, PlanStatus.ACTIVE, PlanStatus.PAUSED)


def describe(plan: PaymentPlan) -> str:
    """ "Visa ending 4242 is charged $250.00 every month; next on December 1, 2026." """
    every: dict[str, str] = {PlanFrequency.WEEKLY: "every week", PlanFrequency.BIWEEKLY: "every two weeks"}
    amount = format_cents(plan.amount_cents, currency_of(plan.bank_account))
    text = f"{plan.method.label.split(',')[0]} is charged {amount} {every.get(plan.frequency, 'every month')}"
    if plan.status == PlanStatus.ACTIVE and plan.next_due_on is not None:
        return f"{text}; next on {plan.next_due_on.strftime('%B %-d, %Y')}."
    return f"{text}; {plan.status_label.lower()}."


# Staff actions


@dataclass(frozen=True)
class Target:
    """What a plan pays: a request, an invoice, or a matter's client funds."""

    request: TrustRequest | None = None
    invoice: Invoice | None = None
    matter: Matter | None = None

    @property
    def payable(self) -> Payable | None:
        return self.request if self.request is not None else self.invoice


def _check_target(contact: Contact, target: Target, ends: str, method: SavedMethod | None) -> Any:
    """The account the plan pays into, once the target is checked to be open and the contact's."""
    from trustweb.services.replenishment import account_of

    payable = target.payable
    if payable is not None:
        if payable.contact_id != contact.id:
            raise ServiceError(f"{payable.number} is not {contact.name}'s.")
        if payable.is_invoice and not payable.is_open:
            raise ServiceError(f"{payable.number} is {payable.status_label.lower()}; a plan pays a sent invoice.")
        if not payable.is_invoice and payable.status not in OUTSTANDING:
            raise ServiceError(f"{payable.number} is {payable.status_label.lower()}; a plan pays a sent request.")
        if ends not in (PlanEnd.PAID, PlanEnd.COUNT):
            raise ServiceError("A plan on a request or invoice runs until it is paid, or for a number of payments.")
        # Under the payable's lock (create() takes it): two plans set up at once see each other here.
        taken = db.session.scalar(
            select(PaymentPlan.id).where(
                (PaymentPlan.trust_request_id == payable.id)
                if not payable.is_invoice
                else (PaymentPlan.invoice_id == payable.id),
                PaymentPlan.status.in_((PlanStatus.ACTIVE, PlanStatus.PAUSED)),
            )
        )
        if taken is not None:
            raise ServiceError(f"{payable.number} already has a payment plan; change that one instead.")
        return payable.bank_account
    matter = target.matter
    if matter is None:
        raise ServiceError("Choose what the plan pays: a request, an invoice, or a matter's funds in trust.")
    if matter.client_id != contact.id:
        raise ServiceError(f"Matter {matter.number} is not {contact.name}'s.")
    if matter.status != MatterStatus.OPEN:
        raise ServiceError(f"Matter {matter.number} is closed.")
    if ends not in (PlanEnd.COUNT, PlanEnd.ONGOING):
        raise ServiceError("A plan into a matter's funds runs for a number of payments, or until it is stopped.")
    if not contact.email:
        raise ServiceError(f"{contact.name} has no email address for the plan's receipts.")
    account = account_of(matter)
    if account is None and method is not None and method.bank_account.kind == "trust" and method.bank_account.active:
        account = method.bank_account  # the trust account the card was saved through
    if account is None:
        raise ServiceError("The firm has no trust account for the plan to pay into.")
    return account


def _check_may_charge(user: User, what: str) -> None:
    """A plan charges the client's card with nobody approving each charge: a user whose requests wait for a lawyer's
    approval (requests.waits_for_approval) may not start or raise one, as a desk deposit is refused them."""
    from trustweb.services.requests import waits_for_approval

    if waits_for_approval(user):
        raise ServiceError(
            f"The firm asks a lawyer to approve what staff ask clients for: ask a lawyer or an administrator to {what}."
        )


def _check_method(contact: Contact, method: SavedMethod | None, account: Any) -> SavedMethod:
    if method is None or method.contact_id != contact.id:
        raise ServiceError(f"Choose one of {contact.name}'s saved payment methods.")
    if not method.active:
        raise ServiceError(f"{method.label} was removed; choose another.")
    if method.expired_on(firm_today()):
        raise ServiceError(f"{method.label} has expired; ask the client for a new one.")
    if not usable_for(method, account):
        raise ServiceError(f"{method.label} was saved with another processor than {account.name}'s; it cannot pay it.")
    return method


def _check_terms(payable: Payable | None, amount_cents: int, frequency: str, ends: str, total: int | None) -> None:
    if amount_cents is None or amount_cents <= 0:
        raise ServiceError("Enter an amount greater than zero.")
    if frequency not in PLAN_FREQUENCIES:
        raise ServiceError("Choose how often the plan charges.")
    if ends == PlanEnd.COUNT and not (total and 0 < total <= MOST_PAYMENTS):
        raise ServiceError(f"Enter the number of payments, 1 to {MOST_PAYMENTS}.")
    if payable is not None and amount_cents < payable.payable_cents:
        if not payable.allow_partial:
            raise ServiceError(f"{payable.number} takes only its full amount; allow partial payments on it first.")
        if payable.minimum_cents and amount_cents < payable.minimum_cents:
            smallest = format_cents(payable.minimum_cents, currency_of(payable.bank_account))
            raise ServiceError(f"{payable.number}'s smallest payment is {smallest}.")


def create(
    contact: Contact,
    method: SavedMethod | None,
    target: Target,
    *,
    amount_cents: int,
    frequency: str,
    start_on: date,
    ends: str,
    payments_total: int | None,
    user: User,
    key: str | None = None,
) -> PaymentPlan:
    """A new plan, active from its start date; audited. The form's `key` is recorded in the `plan.created` event,
    and the form posted again (a double click) returns the plan it made."""
    target = _locked(target)
    if key is not None:
        earlier = _plan_made_with(contact, key)
        if earlier is not None:
            return earlier
    _check_may_charge(user, "set up a payment plan")
    account = _check_target(contact, target, ends, method)
    method = _check_method(contact, method, account)
    _check_terms(target.payable, amount_cents, frequency, ends, payments_total)
    if start_on is None or start_on < firm_today():
        raise ServiceError("The first payment cannot be before today.")
    payable = target.payable
    plan = PaymentPlan(
        contact_id=contact.id,
        matter_id=payable.matter_id if payable is not None else target.matter.id,  # type: ignore[union-attr]
        trust_request_id=target.request.id if target.request is not None else None,
        invoice_id=target.invoice.id if target.invoice is not None else None,
        bank_account_id=account.id,
        method_id=method.id,
        amount_cents=amount_cents,
        frequency=frequency,
        start_on=start_on,
        ends=ends,
        payments_total=payments_total if ends == PlanEnd.COUNT else None,
        next_due_on=start_on,
        status=PlanStatus.ACTIVE,
        failed_attempts=0,
        created_by_id=user.id,
    )
    db.session.add(plan)
    db.session.flush()
    noted = {PLAN_KEY: key} if key is not None else {}
    audit.record("plan.created", plan, after=audit.snapshot(plan, PLAN_FIELDS) | noted, user=user)
    db.session.commit()
    return plan


def _locked(target: Target) -> Target:
    """The target's row locked, FOR NO KEY UPDATE (rows that refer to it go on), and read afresh: the request or
    invoice, or the matter. Two plans set up at once for it wait here for each other."""
    if target.request is not None:
        return Target(request=_lock_row(target.request))
    if target.invoice is not None:
        return Target(invoice=_lock_row(target.invoice))
    return Target(matter=_lock_row(target.matter)) if target.matter is not None else target


def _lock_row(row: Any) -> Any:
    model = type(row)
    return db.session.execute(
        select(model)
        .where(model.id == row.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one()


def _plan_made_with(contact: Contact, key: str) -> PaymentPlan | None:
    """The plan this form's key made for the contact (within the day), if any."""
    made = select(PaymentPlan).where(
        PaymentPlan.contact_id == contact.id, PaymentPlan.created_at >= utcnow() - timedelta(days=1)
    )
    return audit.made_with(made, "plan.created", PLAN_KEY, key)


def _open(plan: PaymentPlan) -> PaymentPlan:
    plan = lock(plan)
    if plan.status not in (PlanStatus.ACTIVE, PlanStatus.PAUSED):
        raise ServiceError(f"This plan is {plan.status_label.lower()}; it can no longer be changed.")
    return plan


def _cancel_waiting(plan: PaymentPlan, why: str) -> list[str]:
    """Instalments waiting for a retry, cancelled (the plan stopped, or its next date moved): their dates. One whose
    bank payment is on its way stays pending: the worker records what the bank says (`plan_runs`)."""
    waiting = list(
        db.session.scalars(
            select(PlanInstalment).where(
                PlanInstalment.plan_id == plan.id,
                PlanInstalment.status == InstalmentStatus.PENDING,
                PlanInstalment.payment_id.is_(None),
            )
        )
    )
    for instalment in waiting:
        instalment.status, instalment.next_attempt_on, instalment.failure_message = (
            InstalmentStatus.CANCELLED,
            None,
            why,
        )
    return [instalment.due_on.isoformat() for instalment in waiting]


def edit(
    plan: PaymentPlan,
    *,
    amount_cents: int,
    frequency: str,
    next_due_on: date,
    method: SavedMethod | None,
    user: User,
) -> PaymentPlan:
    """Change the amount, frequency, next date or method; audited with before and after."""
    plan = _open(plan)
    if amount_cents is not None and amount_cents > plan.amount_cents:
        _check_may_charge(user, "raise this plan's amount")
    before = audit.snapshot(plan, PLAN_FIELDS)
    contact = plan.contact
    method = _check_method(contact, method, plan.bank_account)
    _check_terms(payable_of(plan), amount_cents, frequency, plan.ends, plan.payments_total)
    if next_due_on is None or next_due_on < firm_today():
        raise ServiceError("The next payment cannot be before today.")
    cancelled: list[str] = []
    if next_due_on != plan.next_due_on or frequency != plan.frequency:
        used = db.session.scalar(
            select(PlanInstalment.id).where(
                PlanInstalment.plan_id == plan.id,
                PlanInstalment.due_on == next_due_on,
                PlanInstalment.status != InstalmentStatus.PENDING,
            )
        )
        if used is not None:
            raise ServiceError(f"The plan already had an instalment on {next_due_on:%B %-d, %Y}; choose another date.")
        cancelled = _cancel_waiting(plan, "Moved by an edit of the plan.") if next_due_on != plan.next_due_on else []
        plan.start_on, plan.next_due_on = next_due_on, next_due_on  # the schedule is counted from here now
    plan.amount_cents, plan.frequency, plan.method_id = amount_cents, frequency, method.id
    return _audited(plan, "plan.edited", before, user, cancelled)


def pause(plan: PaymentPlan, user: User) -> PaymentPlan:
    """Nothing is charged until it is resumed (a retry waiting stays waiting); audited."""
    plan = _open(plan)
    if plan.status == PlanStatus.PAUSED:
        raise ServiceError("This plan is already paused.")
    return _set_status(plan, PlanStatus.PAUSED, user)


def resume(plan: PaymentPlan, user: User) -> PaymentPlan:
    """Charge again from the next date of the schedule that has not passed; audited. Dates missed while paused are
    not charged."""
    plan = _open(plan)
    if plan.status == PlanStatus.ACTIVE:
        raise ServiceError("This plan is already active.")
    _check_may_charge(user, "resume this plan")
    _check_method(plan.contact, plan.method, plan.bank_account)
    payable = payable_of(plan)
    if payable is not None and payable.status in (payable.Status.PAID, payable.Status.VOID):
        raise ServiceError(f"{payable.number} is {payable.status_label.lower()}; the plan has nothing left to pay.")
    today = firm_today()
    before = audit.snapshot(plan, PLAN_FIELDS)
    cancelled: list[str] = []
    if plan.next_due_on is None or plan.next_due_on < today:
        cancelled = _cancel_waiting(plan, "Missed while the plan was paused.")
        plan.next_due_on = first_on_or_after(plan.start_on, plan.frequency, today)
    plan.status = PlanStatus.ACTIVE
    if cancelled:
        plan.failed_attempts = 0
    return _audited(plan, "plan.resumed", before, user, cancelled)


def stop(plan: PaymentPlan, user: User) -> PaymentPlan:
    """The plan ends: nothing more is charged, a retry waiting is cancelled; audited."""
    plan = _open(plan)
    before = audit.snapshot(plan, PLAN_FIELDS)
    cancelled = _cancel_waiting(plan, "The plan was stopped.")
    plan.status, plan.next_due_on = PlanStatus.STOPPED, None
    return _audited(plan, "plan.stopped", before, user, cancelled)


def _set_status(plan: PaymentPlan, status: str, user: User) -> PaymentPlan:
    before = audit.snapshot(plan, PLAN_FIELDS)
    plan.status = status
    return _audited(plan, f"plan.{status}", before, user, [])


def _audited(plan: PaymentPlan, action: str, before: dict[str, Any], user: User, cancelled: list[str]) -> PaymentPlan:
    """The change recorded with its before and after (and the waiting instalments it cancelled), committed."""
    db.session.flush()
    after = audit.snapshot(plan, PLAN_FIELDS) | ({"instalments_cancelled": cancelled} if cancelled else {})
    audit.record(action, plan, before=before, after=after, user=user)
    db.session.commit()
    return plan


def active_plan_exists_for_request() -> Any:
    """A correlated EXISTS on TrustRequest: an active plan pays it (its reminders pause)."""
    return (
        select(PaymentPlan.id)
        .where(PaymentPlan.trust_request_id == TrustRequest.id, PaymentPlan.status == PlanStatus.ACTIVE)
        .exists()
    )
