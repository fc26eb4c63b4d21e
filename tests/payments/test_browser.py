"""Taking a card on the spot in a real browser: the lawyer at the desk, from the request's page to the receipt."""

import pytest
from playwright.sync_api import expect

from tests.browser_support import GOOD_CARD, Watched, assert_accessible, browser_context, sign_in, wait_for_email
from tests.dates import card_expiry
from tests.factories import gen_account, gen_trust_setup, gen_user
from tests.requests.steps import gen_request, send
from trustweb.extensions import db
from trustweb.models import Matter

pytestmark = pytest.mark.browser

LAWYER_EMAIL = "amelia@firm.example.com"


@pytest.fixture
def app(emailing_app):
    return emailing_app


def test_a_lawyer_takes_a_card_at_the_desk_from_the_request_page_to_the_receipt(chromium, live_server, app, mailbox):
    with app.app_context():
        firm = gen_trust_setup()
        gen_account("Operating", kind="operating", is_default=True)
        lawyer = gen_user("lawyer", email=LAWYER_EMAIL, name="Amelia Hartwell")
        db.session.get(Matter, firm.matter_a1).lawyer_id = lawyer.id
        db.session.commit()
        request_id = gen_request(firm, amount_cents=120_000, by=lawyer.id)
        send(request_id, lawyer.id)
    with browser_context(chromium, viewport={"width": 1280, "height": 900}) as desk:
        watched = Watched(desk)
        page = watched.page
        sign_in(page, live_server, LAWYER_EMAIL)
        page.goto(f"{live_server}/bills/requests/{request_id}")
        page.get_by_role("link", name="Take a payment").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Take a payment · TR-000001")
        expect(page.locator(".testmode")).to_contain_text("TEST MODE")
        expect(page.get_by_label("Amount to pay")).to_have_value("1200.00")
        expect(page.get_by_label("Name on card")).to_have_value("Ada Archer")
        assert_accessible(page)
        watched.note_csp()
        page.get_by_label("Card number").press_sequentially(GOOD_CARD)
        page.get_by_label("Expiry (MM/YY)").fill(card_expiry())
        page.get_by_label("Security code (CVC)").fill("123")
        page.get_by_role("button", name="Charge the card").click()

        expect(page.get_by_role("heading", level=1)).to_contain_text("Receipt R-000001 · $1,200.00")
        expect(page.locator("#taken-by")).to_contain_text("Amelia Hartwell, on the spot")
        expect(page.locator("#still-due")).to_have_text("$0.00")
        expect(page.locator("#messages")).to_contain_text("Payment R-000001 taken")
        assert_accessible(page)
        page.get_by_role("link", name="Back to TR-000001").click()
        expect(page.locator("h1 .status")).to_have_text("Paid")
        expect(page.get_by_role("link", name="Take a payment")).to_have_count(0)
        watched.assert_clean()
    [receipt] = [m for m in wait_for_email(mailbox, "ada@example.com", 2) if "Receipt" in m["Subject"]]
    assert "R-000001" in receipt["Subject"] and "$1,200.00" in receipt["Subject"]
