"""A lawyer pays an invoice from the client's trust in a real browser: status, balance and ledger change in place."""

import pytest
from playwright.sync_api import expect

from tests.browser_support import (
    CSP_WATCH,
    GOOD_CARD,
    PHONE,
    assert_fits_phone,
    browser_context,
    csp_violations,
    describe,
    pay_by_card,
    sign_in,
    watch_errors,
)
from tests.factories import gen_account, gen_trust_setup
from tests.invoices.steps import apply, invoice_for, retainer
from trustweb.extensions import db
from trustweb.models import Invoice, User
from trustweb.services import requests as request_service

pytestmark = pytest.mark.browser


def test_apply_trust_funds_updates_the_invoice_in_place(app, chromium, live_server):
    with app.app_context():
        firm = gen_trust_setup()
        gen_account("Operating", kind="operating", is_default=True)
        retainer(firm, 500_000)
        invoice_id = invoice_for(firm, 1_000, 30_000)  # 10 hours at $300.00
        email = db.session.get(User, firm.lawyer).email
    with browser_context(chromium) as context:
        context.add_init_script(CSP_WATCH)
        page = context.new_page()
        errors = watch_errors(page)
        sign_in(page, live_server, email)
        page.goto(f"{live_server}/bills/invoices/{invoice_id}")
        expect(page.locator("#invoice-status")).to_have_text("Sent")
        expect(page.locator("#invoice-trust")).to_have_text("$5,000.00")
        page.evaluate("window.__marker = 1")

        page.locator("#invoice-panel form").first.get_by_label("Amount").fill("3,000.00")
        page.get_by_role("button", name="Apply trust funds").click()

        expect(page.locator("#invoice-status")).to_have_text("Paid")
        expect(page.locator("#invoice-due")).to_have_text("$0.00")
        expect(page.locator("#invoice-trust")).to_have_text("$2,000.00")
        expect(page.locator("#invoice-ledger tbody tr").first).to_contain_text("Earned fees paid to the firm")
        expect(page.locator("#invoice-ledger tbody tr").first).to_contain_text("$2,000.00")
        assert page.evaluate("window.__marker") == 1  # no page load: htmx swapped the panel
        assert csp_violations(page) == [] and [describe(e) for e in errors] == []
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).status == "paid"


def test_the_client_pays_the_rest_of_an_invoice_on_a_phone(app, chromium, live_server):
    """Part paid from trust, the rest by card from the invoice's own link at 390 px; the receipt says it went to
    the firm, and the lawyer's invoice page shows it paid."""
    with app.app_context():
        firm = gen_trust_setup()
        gen_account("Operating", kind="operating", is_default=True)
        retainer(firm, 100_000)
        invoice_id = invoice_for(firm, 1_000, 15_000)  # $1,500.00
        apply(firm, invoice_id, 100_000)
        link = request_service.new_link(db.session.get(Invoice, invoice_id))
        db.session.commit()
    path = link.split("/pay/", 1)[1]
    with browser_context(chromium, **PHONE) as context:
        context.add_init_script(CSP_WATCH)
        page = context.new_page()
        errors = watch_errors(page)
        page.goto(f"{live_server}/pay/{path}")
        expect(page.locator("h1")).to_have_text("Invoice INV-000001")
        expect(page.locator("#amount-due")).to_have_text("$500.00")
        expect(page.locator("#invoice-lines")).to_contain_text("Review of title and closing")
        assert_fits_phone(page)
        pay_by_card(page, GOOD_CARD)
        expect(page.locator("h1")).to_have_text("Thank you: payment received")
        expect(page.locator("#still-due")).to_have_text("$0.00")
        expect(page.locator(".receipt")).to_contain_text("for invoice INV-000001")
        assert_fits_phone(page)
        assert csp_violations(page) == [] and [describe(e) for e in errors] == []
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        assert (invoice.status, invoice.paid_cents) == ("paid", 150_000)
