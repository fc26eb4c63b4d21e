"""The bookkeeper matches a statement line by hand in a real browser: the three-way totals change in place."""

import pytest
from playwright.sync_api import expect

from tests.browser_support import (
    CSP_WATCH,
    browser_context,
    csp_violations,
    describe,
    sign_in,
    watch_errors,
)
from tests.dates import us
from tests.factories import gen_account, gen_trust_setup, gen_user
from tests.reconcile.steps import book_month, chase_csv, day
from trustweb.extensions import db
from trustweb.models import BankAccount, StatementLine, User
from trustweb.services import statements

pytestmark = pytest.mark.browser

MAPPING = {
    "date": "Posting Date",
    "amount": "Amount",
    "description": "Description",
    "reference": "Check or Slip #",
    "date_format": "%m/%d/%Y",
}


def test_matching_a_line_by_hand_updates_the_totals_in_place(app, chromium, live_server):
    with app.app_context():
        setup = gen_trust_setup()
        gen_account("Operating", kind="operating", is_default=True)
        book_month(setup)
        bookkeeper = gen_user("bookkeeper")
        late_deposit = [
            (us(day(3)), "WIRE FROM ADA ARCHER", 500_000, None),
            (us(day(24)), "DEPOSIT", 250_000, None),  # posted two weeks late: left for a person
            (us(day(16)), "CHECK 1001", -120_000, "1001"),
        ]
        statement, matched = statements.import_statement(
            db.session.get(BankAccount, setup.account),
            source="csv",
            filename="month.csv",
            data=chase_csv(late_deposit),
            user=db.session.get(User, bookkeeper.id),
            mapping=MAPPING,
            ending_balance_cents=630_000,
        )
        assert matched == 2
        statement_id, email = statement.id, bookkeeper.email
        line_id = db.session.scalar(db.select(StatementLine.id).where(StatementLine.entry_id.is_(None)))
    with browser_context(chromium) as context:
        context.add_init_script(CSP_WATCH)
        page = context.new_page()
        errors = watch_errors(page)
        sign_in(page, live_server, email)
        page.goto(f"{live_server}/reconciliations/statements/{statement_id}")
        expect(page.locator("#t-transit")).to_have_text("$2,500.00")
        # The bank's balance already holds the deposit, the journal's "in transit" holds it again: not agreed.
        expect(page.locator("#t-diff-bank")).to_have_text("$2,500.00")
        expect(page.locator("#t-verdict")).to_contain_text("do not agree")
        expect(page.locator(f"#line-{line_id}")).to_have_class("unmatched")
        page.evaluate("window.__marker = 1")

        page.locator(f"#line-{line_id}").get_by_role("button", name="Match").click()

        expect(page.locator(f"#line-{line_id}")).to_have_class("matched")
        expect(page.locator("#t-transit")).to_have_text("$0.00")
        expect(page.locator("#t-adjusted")).to_have_text("$6,300.00")
        expect(page.locator("#t-diff-bank")).to_have_text("$0.00")
        expect(page.locator("#t-verdict")).to_contain_text("The three balances agree")
        assert page.evaluate("window.__marker") == 1  # htmx swapped the workspace: no page load
        assert csp_violations(page) == [] and [describe(e) for e in errors] == []
