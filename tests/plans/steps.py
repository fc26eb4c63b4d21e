"""Steps the payment plan tests share: a firm with a sent request, a card the client saved, a plan set up by the
lawyer, and the worker run on a day of the firm's calendar (the clock moved there)."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import select, update

from tests.methods.test_charge_saved import saved
from tests.requests.steps import gen_firm, gen_request, send
from trustweb.extensions import db
from trustweb.models import (
    Contact,
    FirmSettings,
    Invoice,
    Matter,
    OutboxMessage,
    PaymentPlan,
    PlanInstalment,
    SavedMethod,
    TrustRequest,
    User,
)
from trustweb.services import plan_runs, plans
from trustweb.services.trust import firm_today

GOOD = "4242424242424242"
DECLINES = "4000000000000341"  # saved fine, every later charge declined
AUTHENTICATES = "4000002760003184"  # saved fine, every later charge wants the cardholder


def firm_with_request(amount_cents=500_000, allow_partial=True):
    """Client A's request, sent; (setup, request id)."""
    setup = gen_firm()
    db.session.get(Contact, setup.client_a).email = "ada@example.com"
    db.session.commit()
    request_id = gen_request(setup, amount_cents=amount_cents, allow_partial=allow_partial)
    send(request_id, setup.lawyer)
    return setup, request_id


def card(setup, number=GOOD):
    """A card client A saved; its id."""
    return saved(setup, number)


def set_up_plan(setup, method_id, *, request_id=None, invoice_id=None, matter_id=None, **terms):
    """The lawyer sets up a plan; its id."""
    values = {
        "amount_cents": 200_000,
        "frequency": "monthly",
        "start_on": firm_today(),
        "ends": "paid" if matter_id is None else "ongoing",
        "payments_total": None,
        **terms,
    }
    target = plans.Target(
        request=db.session.get(TrustRequest, request_id) if request_id else None,
        invoice=db.session.get(Invoice, invoice_id) if invoice_id else None,
        matter=db.session.get(Matter, matter_id) if matter_id else None,
    )
    plan = plans.create(
        db.session.get(Contact, setup.client_a),
        db.session.get(SavedMethod, method_id),
        target,
        user=db.session.get(User, setup.lawyer),
        **values,
    )
    return plan.id


def noon(day):
    """Midday of a day on the firm's clock."""
    return datetime.combine(day, time(12), ZoneInfo(FirmSettings.get().timezone))


def worker_on(day):
    """The worker's plan pass with the clock moved to that day; (done, refused)."""
    with time_machine.travel(noon(day), tick=False):
        db.session.expire_all()
        return plan_runs.run_due()


def run_days(first, last):
    """The worker once a day from `first` to `last`, both included; every line it said."""
    said, day = [], first
    while day <= last:
        done, refused = worker_on(day)
        assert refused == []
        said += done
        day += timedelta(days=1)
    return said


def with_evergreen(setup, minimum_cents=200_000, target_cents=500_000):
    """Client A's first matter kept between a minimum and a target (the caller commits)."""
    db.session.execute(
        update(Matter)
        .where(Matter.id == setup.matter_a1)
        .values(evergreen_minimum_cents=minimum_cents, evergreen_target_cents=target_cents)
    )


def instalments(plan_id):
    return db.session.scalars(
        select(PlanInstalment).where(PlanInstalment.plan_id == plan_id).order_by(PlanInstalment.due_on)
    ).all()


def plan(plan_id):
    db.session.expire_all()
    return db.session.get(PaymentPlan, plan_id)


def outbox(kind, to=None):
    messages = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id))
    return [m for m in messages if to is None or to in m.recipients]
