"""Two workers at once on PostgreSQL, each its own thread and session, charging the same due plan: the instalment's
row is made once, the card charged under one key, and one payment booked."""

import time

import pytest
from sqlalchemy import func, select

from tests.conftest import ON_POSTGRES
from tests.factories import trust_ledger
from tests.ledger.test_races import at_once, failures
from tests.plans.steps import card, firm_with_request, instalments, set_up_plan
from tests.requests.steps import payments
from trustweb.extensions import db
from trustweb.models import TrustRequest
from trustweb.payments import TestProcessor as Processor
from trustweb.services import plan_runs
from trustweb.services.trust import Holder, firm_today

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="SQLite has one writer at a time: no two workers overlap")


@pytest.fixture
def slow_processor(monkeypatch):
    """The processor takes a moment to answer, as a real one does: the second worker arrives while it charges."""
    charge_saved = Processor.charge_saved

    def slow(self, *args, **kwargs):
        time.sleep(0.3)
        return charge_saved(self, *args, **kwargs)

    monkeypatch.setattr(Processor, "charge_saved", slow)


@pytest.mark.parametrize("target", ["request", "matter"])
def test_two_workers_charging_the_same_due_plan_book_one_payment(app, slow_processor, target):
    with app.app_context():
        setup, request_id = firm_with_request()
        method_id = card(setup)
        if target == "request":
            plan_id = set_up_plan(setup, method_id, request_id=request_id, amount_cents=100_000)
            holder = Holder(setup.client_a, setup.matter_a1)
        else:
            plan_id = set_up_plan(setup, method_id, matter_id=setup.matter_a2, amount_cents=100_000)
            holder = Holder(setup.client_a, setup.matter_a2)
        requests_before = db.session.scalar(select(func.count(TrustRequest.id)))

    outcomes = at_once(app, [plan_runs.run_due, plan_runs.run_due, plan_runs.run_due])

    assert failures(outcomes) == []
    assert all(refused == [] for _, refused in outcomes)
    with app.app_context():
        [made] = instalments(plan_id)
        [payment] = payments()
        assert made.status == "succeeded" and made.payment_id == payment.id and made.attempts == 1
        assert payment.idempotency_key == f"plan-{plan_id}-{firm_today().isoformat()}-1"
        assert trust_ledger(setup.account, holder).balance_cents == 100_000
        made_requests = db.session.scalar(select(func.count(TrustRequest.id))) - requests_before
        assert made_requests == (1 if target == "matter" else 0)


@pytest.mark.parametrize("same_form", [True, False])
def test_set_up_a_payment_plan_pressed_twice_at_once_makes_one_plan(app, same_form):
    """The same form posted twice (a double click) returns the plan it made; two forms for one request: one plan,
    the other refused in words."""
    from trustweb.models import Contact, PaymentPlan, SavedMethod, User
    from trustweb.refusals import ServiceError
    from trustweb.services import plans

    with app.app_context():
        setup, request_id = firm_with_request()
        method_id = card(setup)

    def press(key):
        def action():
            return plans.create(
                db.session.get(Contact, setup.client_a),
                db.session.get(SavedMethod, method_id),
                plans.Target(request=db.session.get(TrustRequest, request_id)),
                amount_cents=100_000,
                frequency="monthly",
                start_on=firm_today(),
                ends="paid",
                payments_total=None,
                user=db.session.get(User, setup.lawyer),
                key=key,
            ).id

        return action

    keys = ["k" * 32, "k" * 32] if same_form else ["a" * 32, "b" * 32]
    outcomes = at_once(app, [press(key) for key in keys])

    with app.app_context():
        [made] = db.session.scalars(select(PaymentPlan)).all()
    if same_form:
        assert outcomes == [made.id, made.id]
    else:
        refused = failures(outcomes)
        assert len(refused) == 1 and isinstance(refused[0], ServiceError) and "already has" in str(refused[0])


def test_a_plan_held_by_its_lock_does_not_hold_up_an_instalment_inserted_for_it(app):
    """plans.lock is FOR NO KEY UPDATE: another transaction inserting a row that refers to the plan (its foreign key
    takes FOR KEY SHARE) goes on at once instead of waiting, or deadlocking, behind it."""
    from datetime import timedelta

    from sqlalchemy import insert, text

    from trustweb.models import PaymentPlan, PlanInstalment
    from trustweb.services import plans

    with app.app_context():
        setup, _ = firm_with_request()
        plan_id = set_up_plan(setup, card(setup), matter_id=setup.matter_a2, amount_cents=10_000)
        plans.lock(db.session.get(PaymentPlan, plan_id))  # held by this session until its rollback
        with db.engine.connect() as other:
            other.execute(text("SET LOCAL lock_timeout = '2s'"))
            other.execute(
                insert(PlanInstalment).values(
                    plan_id=plan_id,
                    due_on=firm_today() + timedelta(days=40),
                    amount_cents=10_000,
                    status="pending",
                    attempts=0,
                )
            )
            other.rollback()
        db.session.rollback()
