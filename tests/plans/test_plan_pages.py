"""The lawyer sets up a plan from the contact's page, reads it on its page, and pauses, changes, resumes and stops
it; each change is in the audit trail with its before and after, and bad input is refused in words."""

import json
import re

import pytest
from sqlalchemy import select

from tests.conftest import post, signed_in
from tests.dates import days_ago, days_ahead, iso
from tests.plans.steps import card, firm_with_request, plan, set_up_plan
from trustweb.extensions import db
from trustweb.models import AuditEvent, PaymentPlan


@pytest.fixture
def firm(app):
    with app.app_context():
        return firm_with_request()


def text(response):
    return response.get_data(as_text=True)


def events(action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_without_a_saved_method_the_page_says_so_and_offers_no_form(app, firm):
    setup, _ = firm
    lawyer = signed_in(app, setup.lawyer)
    contact_page = text(lawyer.get(f"/contacts/{setup.client_a}"))
    assert "has none" in contact_page and "/plans/new" not in contact_page
    page = text(lawyer.get(f"/plans/new?contact_id={setup.client_a}"))
    assert 'id="no-saved-method"' in page and '<form method="post" novalidate>' not in page


def test_the_lawyer_sets_up_a_plan_on_the_request_and_reads_it_with_its_retry_rule(app, firm):
    setup, request_id = firm
    with app.app_context():
        method_id = card(setup)
    lawyer = signed_in(app, setup.lawyer)
    assert f"/plans/new?contact_id={setup.client_a}" in text(lawyer.get(f"/contacts/{setup.client_a}"))
    assert "Set up a payment plan" in text(lawyer.get(f"/bills/requests/{request_id}"))
    form = text(lawyer.get(f"/plans/new?contact_id={setup.client_a}&target=request:{request_id}"))
    assert "Visa ending 4242" in form and "3 days later" in form

    response = post(
        lawyer,
        f"/plans/new?contact_id={setup.client_a}",
        {
            "key": "form-key-" + "k" * 24,
            "target": f"request:{request_id}",
            "method_id": method_id,
            "amount": "1,250.00",
            "frequency": "monthly",
            "start_on": iso(days_ahead(3)),
            "ends": "paid",
        },
    )

    assert response.status_code == 303
    page = text(lawyer.get(response.headers["Location"]))
    assert "Visa ending 4242 is charged $1,250.00 every month; next on" in page
    assert 'id="retry-rule"' in page and "5 days after that" in page
    with app.app_context():
        [made] = db.session.scalars(select(PaymentPlan)).all()
        assert (made.amount_cents, made.start_on, made.next_due_on) == (125_000, days_ahead(3), days_ahead(3))
        assert json.loads(events("plan.created")[0].after)["amount_cents"] == 125_000


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"start_on": iso(days_ago(1))}, "cannot be before today"),
        ({"amount": ""}, "Enter the amount"),
        ({"amount": "-5"}, ""),
        ({"target": "request:999999"}, "Not a valid choice"),
        ({"ends": "count", "payments_total": ""}, "number of payments"),
        ({"ends": "ongoing"}, "until it is paid"),
        ({"method_id": "abc"}, "Choose"),
    ],
)
def test_bad_input_is_refused_in_words_with_a_422(app, firm, fields, said):
    setup, request_id = firm
    with app.app_context():
        method_id = card(setup)
    lawyer = signed_in(app, setup.lawyer)
    data = {
        "key": "form-key-" + "k" * 24,
        "target": f"request:{request_id}",
        "method_id": method_id,
        "amount": "100.00",
        "frequency": "weekly",
        "start_on": iso(days_ahead(0)),
        "ends": "paid",
        **fields,
    }
    response = post(lawyer, f"/plans/new?contact_id={setup.client_a}", data)
    assert response.status_code == 422 and said in text(response)
    with app.app_context():
        assert db.session.scalars(select(PaymentPlan)).all() == []


def test_pause_edit_resume_and_stop_are_each_audited_with_before_and_after(app, firm):
    setup, request_id = firm
    with app.app_context():
        method_id = card(setup)
        plan_id = set_up_plan(setup, method_id, request_id=request_id, start_on=days_ahead(2))
    lawyer = signed_in(app, setup.lawyer)

    assert post(lawyer, f"/plans/{plan_id}/pause").status_code == 303
    edited = post(
        lawyer,
        f"/plans/{plan_id}/edit",
        {"method_id": method_id, "amount": "300.00", "frequency": "biweekly", "start_on": iso(days_ahead(5))},
    )
    assert edited.status_code == 303
    assert post(lawyer, f"/plans/{plan_id}/resume").status_code == 303
    assert post(lawyer, f"/plans/{plan_id}/stop").status_code == 303
    again = post(lawyer, f"/plans/{plan_id}/pause", follow_redirects=True)
    assert "can no longer be changed" in text(again)

    with app.app_context():
        done = plan(plan_id)
        assert (done.status, done.amount_cents, done.frequency, done.next_due_on) == (
            "stopped",
            30_000,
            "biweekly",
            None,
        )
        paused, change, resumed, stopped = (
            events(name)[0] for name in ("plan.paused", "plan.edited", "plan.resumed", "plan.stopped")
        )
        assert json.loads(paused.before)["status"] == "active" and json.loads(paused.after)["status"] == "paused"
        before, after = json.loads(change.before), json.loads(change.after)
        assert (before["amount_cents"], after["amount_cents"]) == (200_000, 30_000)
        assert (before["next_due_on"], after["next_due_on"]) == (iso(days_ahead(2)), iso(days_ahead(5)))
        assert json.loads(resumed.after)["status"] == "active"
        assert json.loads(stopped.after)["status"] == "stopped"
        assert {event.user_id for event in (paused, change, resumed, stopped)} == {setup.lawyer}


def test_the_client_sees_their_plan_read_only_on_the_portals_home(app, firm, mailbox):
    from tests.portal.steps import signed_in_client

    setup, request_id = firm
    with app.app_context():
        set_up_plan(setup, card(setup), request_id=request_id, amount_cents=25_000, start_on=days_ahead(1))
    browser = signed_in_client(app, mailbox, setup, setup.client_a, "ada@example.com")
    home = text(browser.get("/portal/"))
    assert "Visa ending 4242 is charged $250.00 every month; next on" in home
    assert "/plans/" not in home


def test_the_plan_page_lists_each_instalment_with_its_receipt_or_why_it_failed(app, firm):
    from tests.plans.steps import DECLINES, worker_on

    setup, request_id = firm
    with app.app_context():
        good = set_up_plan(setup, card(setup), request_id=request_id, amount_cents=100_000)
        worker_on(days_ahead(0))
        receipt = plan(good).instalments[0].payment.receipt_number
        _, other_request = firm_with_request_for_b(setup)
        bad = set_up_plan_for_b(setup, card_for_b(setup, DECLINES), other_request)
        worker_on(days_ahead(0))
    lawyer = signed_in(app, setup.lawyer)
    page = text(lawyer.get(f"/plans/{good}"))
    assert receipt in page and "$1,000.00" in page and "Succeeded" in page
    declined = text(lawyer.get(f"/plans/{bad}"))
    assert "declined" in declined and f"next try {iso(days_ahead(3))}" in declined


def firm_with_request_for_b(setup):
    from tests.requests.steps import gen_request, send

    request_id = gen_request(
        setup, contact_id=setup.client_b, matter_id=setup.matter_b1, allow_partial=True, recipients=("ben@example.com",)
    )
    send(request_id, setup.lawyer)
    return setup, request_id


def card_for_b(setup, number):
    from tests.methods.test_charge_saved import saved

    return saved(setup, number, contact_id=setup.client_b)


def set_up_plan_for_b(setup, method_id, request_id):
    from trustweb.models import Contact, SavedMethod, TrustRequest, User
    from trustweb.services import plans as plan_service
    from trustweb.services.trust import firm_today

    return plan_service.create(
        db.session.get(Contact, setup.client_b),
        db.session.get(SavedMethod, method_id),
        plan_service.Target(request=db.session.get(TrustRequest, request_id)),
        amount_cents=100_000,
        frequency="monthly",
        start_on=firm_today(),
        ends="paid",
        payments_total=None,
        user=db.session.get(User, setup.lawyer),
    ).id


def test_set_up_a_payment_plan_pressed_twice_makes_one_plan(app, firm):
    setup, request_id = firm
    with app.app_context():
        method_id = card(setup)
    lawyer = signed_in(app, setup.lawyer)
    page = text(lawyer.get(f"/plans/new?contact_id={setup.client_a}&target=request:{request_id}"))
    key = re.search(r'name="key" type="hidden" value="([^"]+)"', page).group(1)
    data = {
        "key": key,
        "target": f"request:{request_id}",
        "method_id": method_id,
        "amount": "1,250.00",
        "frequency": "monthly",
        "start_on": iso(days_ahead(3)),
        "ends": "paid",
    }

    first, second = (post(lawyer, f"/plans/new?contact_id={setup.client_a}", data) for _ in range(2))

    assert first.status_code == second.status_code == 303 and first.headers["Location"] == second.headers["Location"]
    with app.app_context():
        assert len(db.session.scalars(select(PaymentPlan)).all()) == 1
    another = post(lawyer, f"/plans/new?contact_id={setup.client_a}", data | {"key": "x" * 32})
    assert another.status_code == 422 and "already has a payment plan" in text(another)


def test_staff_whose_requests_wait_for_approval_may_not_set_up_raise_or_resume_a_plan(app, firm):
    """A plan charges the client's card with no lawyer approving each charge: with the firm asking for approval, a
    staff member may not start one, raise its amount or resume it (a lawyer or an admin may)."""
    from tests.factories import gen_user
    from trustweb.models import FirmSettings
    from trustweb.models.firm import DEFAULTS

    setup, request_id = firm
    with app.app_context():
        db.session.add(FirmSettings(id=1, **{**DEFAULTS, "require_approval": True}))
        db.session.commit()
        method_id = card(setup)
        paralegal = gen_user("staff", name="Pat Paralegal").id
        plan_id = set_up_plan(setup, method_id, matter_id=setup.matter_a2, amount_cents=10_000)
        plans_before = len(db.session.scalars(select(PaymentPlan)).all())
    office = signed_in(app, paralegal)
    data = {
        "key": "form-key-" + "p" * 24,
        "target": f"request:{request_id}",
        "method_id": method_id,
        "amount": "100.00",
        "frequency": "monthly",
        "start_on": iso(days_ahead(1)),
        "ends": "paid",
    }
    made = post(office, f"/plans/new?contact_id={setup.client_a}", data)
    assert made.status_code == 422 and "ask a lawyer or an administrator to set up a payment plan" in text(made)
    raised = post(
        office,
        f"/plans/{plan_id}/edit",
        {"method_id": method_id, "amount": "500.00", "frequency": "monthly", "start_on": iso(days_ahead(1))},
    )
    assert raised.status_code == 422 and "raise this plan" in text(raised)
    lowered = post(
        office,
        f"/plans/{plan_id}/edit",
        {"method_id": method_id, "amount": "50.00", "frequency": "monthly", "start_on": iso(days_ahead(1))},
    )
    assert lowered.status_code == 303  # charging less asks nothing more of the client
    assert post(office, f"/plans/{plan_id}/pause").status_code == 303
    resumed = post(office, f"/plans/{plan_id}/resume")
    assert "ask a lawyer or an administrator to resume this plan" in text(office.get(resumed.headers["Location"]))
    with app.app_context():
        assert len(db.session.scalars(select(PaymentPlan)).all()) == plans_before
        assert plan(plan_id).status == "paused" and plan(plan_id).amount_cents == 5_000
