"""In real Chromium: a lawyer sets up a payment plan from a sent request for a client with a saved card, reads its
page with the schedule and the first instalment the worker charged, then pauses and resumes it. Each page is checked
for accessibility (axe), console errors and the Content-Security-Policy."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser_support import Watched, assert_accessible, browser_context, sign_in
from tests.plans.steps import card, firm_with_request
from trustweb.extensions import db
from trustweb.models import PaymentPlan, TrustRequest, User
from trustweb.services import plan_runs
from trustweb.services.plans import add_months
from trustweb.services.trust import firm_today

pytestmark = pytest.mark.browser

DESK = {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def firm(app):
    """Client A's $5,000.00 request, sent; a Visa ending 4242 she saved (test processor)."""
    with app.app_context():
        setup, request_id = firm_with_request()
        card(setup)
        lawyer_email = db.session.get(User, setup.lawyer).email
        return setup, request_id, lawyer_email, db.session.get(TrustRequest, request_id).number, firm_today()


def long_date(day):
    return day.strftime("%B %-d, %Y")


def test_a_lawyer_sets_up_a_plan_from_the_request_then_pauses_and_resumes_it(chromium, live_server, app, firm):
    _, request_id, lawyer_email, number, today = firm

    with browser_context(chromium, **DESK) as desk:
        lawyer = Watched(desk)
        page = lawyer.page
        sign_in(page, live_server, lawyer_email)

        # From the request's page, to the plan form with the request chosen.
        page.goto(f"{live_server}/bills/requests/{request_id}")
        page.get_by_role("link", name="Set up a payment plan").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Set up a payment plan for Ada Archer")
        expect(page.get_by_label("Pays")).to_have_value(f"request:{request_id}")
        assert_accessible(page)
        lawyer.note_csp()
        page.get_by_label("Charge").select_option(label="Visa ending 4242, expires 12/" + str(today.year + 3))
        page.get_by_label("Each payment").fill("2,000.00")
        page.get_by_label("How often").select_option(label="Every month")
        expect(page.get_by_label("First payment")).to_have_value(today.isoformat())
        expect(page.get_by_label("Ends")).to_have_value("paid")
        page.get_by_role("button", name="Set up the plan").click()

        # The plan's page: its terms and schedule; nothing charged yet.
        heading = page.get_by_role("heading", level=1)
        expect(heading).to_contain_text("Payment plan")
        expect(heading).to_contain_text("Active")
        expect(page.locator(".figure")).to_have_text(
            f"Visa ending 4242 is charged $2,000.00 every month; next on {long_date(today)}."
        )
        expect(page.locator("#plan-instalments")).to_contain_text(f"the first payment is on {today.isoformat()}")
        expect(page.locator("#retry-rule")).to_contain_text("If a payment is declined")
        assert_accessible(page)
        lawyer.note_csp()
        with app.app_context():
            plan_id = db.session.scalar(select(PaymentPlan.id).where(PaymentPlan.trust_request_id == request_id))
            assert page.url == f"{live_server}/plans/{plan_id}"

            # The worker's pass charges the first instalment.
            done, refused = plan_runs.run_due()
            assert refused == [] and len(done) == 1
        page.reload()
        row = page.locator("#plan-instalments tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(today.isoformat())
        expect(row).to_contain_text("$2,000.00")
        expect(row).to_contain_text("Succeeded")
        expect(row).to_contain_text("R-000001")
        next_date = add_months(today, 1)
        expect(page.locator(".details")).to_contain_text(f"Next payment{next_date.isoformat()}")
        expect(page.locator(".details")).to_contain_text(f"{number}: $3,000.00 still due")
        assert_accessible(page)
        lawyer.note_csp()

        # Paused: nothing is charged, and the page offers to resume it.
        page.get_by_role("button", name="Pause").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Paused")
        expect(page.locator(".figure")).to_have_text("Visa ending 4242 is charged $2,000.00 every month; paused.")
        expect(page.get_by_role("button", name="Pause")).to_have_count(0)
        assert_accessible(page)
        lawyer.note_csp()
        with app.app_context():
            assert plan_runs.run_due(next_date + timedelta(days=1)) == ([], [])

        # Resumed from the next date of the schedule that has not passed.
        page.get_by_role("button", name="Resume").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Active")
        expect(page.locator(".figure")).to_have_text(
            f"Visa ending 4242 is charged $2,000.00 every month; next on {long_date(next_date)}."
        )
        expect(page.get_by_role("button", name="Pause")).to_be_visible()
        assert_accessible(page)
        lawyer.assert_clean()
