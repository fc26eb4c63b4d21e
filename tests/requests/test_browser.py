"""A trust request in real browsers: the lawyer at a desk, the client on a phone, the email between them.

The app runs on a real WSGI server on loopback with BASE_URL set to that server, and sends its email
through a real SMTP server (aiosmtpd), so the link the client taps is the one the email carried.
"""

import pytest
from playwright.sync_api import expect

from tests.browser_support import (
    GOOD_CARD,
    PHONE,
    Watched,
    assert_fits_phone,
    assert_no_script,
    browser_context,
    describe,
    pay_by_card,
    sign_in,
    wait_for_email,
    watch_errors,
)
from tests.factories import gen_account, gen_trust_setup, gen_user
from trustweb.extensions import db
from trustweb.models import BankAccount, Contact, Matter, TrustRequest, User
from trustweb.services import requests as request_service
from trustweb.services.trust import firm_today

pytestmark = pytest.mark.browser

LAWYER_EMAIL = "amelia@firm.example.com"
CLIENT_EMAIL = "ada@example.com"
RECEIPTS_EMAIL = "ada.receipts@example.com"
DECLINED_CARD = "4000 0000 0000 0002"
POLL_WAIT_MS = 15_000  # the ledger table polls every 5 s


@pytest.fixture
def app(emailing_app):
    return emailing_app


@pytest.fixture
def firm(app):
    """A trust account, an operating account for card fees, and Amelia as the lawyer on Ada's purchase."""
    with app.app_context():
        setup = gen_trust_setup()
        gen_account("Operating", kind="operating", is_default=True)
        lawyer = gen_user("lawyer", email=LAWYER_EMAIL, name="Amelia Hartwell")
        db.session.get(Matter, setup.matter_a1).lawyer_id = lawyer.id
        db.session.commit()
    return setup


def test_a_lawyer_asks_for_a_retainer_and_the_client_pays_it_on_a_phone(chromium, live_server, app, firm, mailbox):
    with (
        browser_context(chromium, viewport={"width": 1280, "height": 900}) as desk,
        browser_context(chromium, **PHONE) as phone,
    ):
        lawyer, client = Watched(desk), Watched(phone)
        office = lawyer.page

        # The lawyer opens the matter and asks for a $5,000 retainer, partial payments allowed.
        sign_in(office, live_server, LAWYER_EMAIL)
        matter_url = f"{live_server}/matters/{firm.matter_a1}"
        office.goto(matter_url)
        assert office.evaluate("typeof window.htmx") == "object", "htmx did not load on the matter page"
        expect(office.locator("#trust-balance")).to_have_text("$0.00")
        lawyer.note_csp()
        office.locator("#matter-requests").get_by_role("link", name="New trust request").click()
        expect(office.get_by_role("heading", level=1)).to_have_text("New trust request")
        expect(office.locator("#contact_id")).to_have_value(str(firm.client_a))
        expect(office.get_by_label("Matter", exact=True)).to_have_value(str(firm.matter_a1))
        office.get_by_label("Amount").fill("5,000.00")
        office.get_by_label("Message to the client").fill("Retainer for the purchase of 12 Elm St.")
        office.get_by_label("Allow partial payments").check()
        office.get_by_label("Email to").fill(CLIENT_EMAIL)
        lawyer.note_csp()
        office.get_by_role("button", name="Save draft").click()
        expect(office.get_by_role("heading", level=1)).to_contain_text("TR-000001 · $5,000.00")
        expect(office.locator("h1 .status")).to_have_text("Draft")
        lawyer.note_csp()
        office.get_by_role("button", name="Send", exact=True).click()
        expect(office.locator("h1 .status")).to_have_text("Sent")
        lawyer.note_csp()

        # The email carries the link to the live server.
        [request_email] = wait_for_email(mailbox, CLIENT_EMAIL)
        assert "TR-000001" in request_email["Subject"]
        link = mailbox.pay_link(request_email)
        assert link.startswith(f"{live_server}/pay/"), link

        # The lawyer leaves the matter page open; it must update itself.
        office.goto(matter_url)
        expect(office.locator("#trust-balance")).to_have_text("$0.00")
        office.evaluate("window.__marker = 1")

        # On the phone: TEST MODE, the amount, and half of it paid by card.
        pay = client.page
        pay.goto(link)
        expect(pay.locator(".testmode")).to_contain_text("TEST MODE")
        expect(pay.locator("#amount-due")).to_have_text("$5,000.00")
        assert_no_script(pay)
        assert_fits_phone(pay)
        client.note_csp()
        pay_by_card(pay, GOOD_CARD, amount="2,500.00", email=RECEIPTS_EMAIL)
        expect(pay.get_by_role("heading", level=1)).to_have_text("Thank you: payment received")
        expect(pay.locator("#receipt-number")).to_have_text("R-000001")
        expect(pay.locator(".receipt .figure")).to_have_text("$2,500.00")
        expect(pay.locator("#still-due")).to_have_text("$2,500.00")
        assert_no_script(pay)
        assert_fits_phone(pay)
        client.note_csp()

        # Meanwhile the matter page polled: new balance and the payment in the ledger, no reload.
        expect(office.locator("#trust-balance")).to_have_text("$2,500.00", timeout=POLL_WAIT_MS)
        first_row = office.locator("#ledger-table tbody tr").first
        expect(first_row).to_contain_text("Payment for TR-000001", timeout=POLL_WAIT_MS)
        expect(first_row).to_contain_text("$2,500.00")
        assert office.evaluate("window.__marker") == 1, "the matter page reloaded instead of polling"

        # The rest, from the receipt's link.
        pay.get_by_role("link", name="Pay the remaining $2,500.00").click()
        expect(pay.locator("#amount-due")).to_have_text("$2,500.00")
        expect(pay.get_by_label("Amount to pay")).to_have_value("2500.00")
        client.note_csp()
        pay_by_card(pay, GOOD_CARD, email=RECEIPTS_EMAIL)
        expect(pay.locator("#receipt-number")).to_have_text("R-000002")
        expect(pay.locator("#still-due")).to_have_text("$0.00")
        expect(pay.get_by_role("link", name="Pay the remaining")).to_have_count(0)
        assert_fits_phone(pay)
        client.note_csp()
        receipts = wait_for_email(mailbox, RECEIPTS_EMAIL, count=2)
        assert [m["Subject"].split(":")[0] for m in receipts] == ["Receipt R-000001", "Receipt R-000002"]

        expect(office.locator("#trust-balance")).to_have_text("$5,000.00", timeout=POLL_WAIT_MS)
        assert office.evaluate("window.__marker") == 1
        lawyer.note_csp()

        # The lawyer opens the request: paid in full.
        office.locator("#matter-requests").get_by_role("link", name="TR-000001").click()
        expect(office.locator("h1 .status")).to_have_text("Paid")
        expect(office.locator("#request-due")).to_have_text("$0.00")
        expect(office.locator("#request-payments tbody tr")).to_have_count(2)

        lawyer.assert_clean()
        client.assert_clean()

    with app.app_context():
        trust_request = db.session.scalar(db.select(TrustRequest))
        assert (trust_request.status, trust_request.paid_cents) == ("paid", 500_000)


def test_the_pay_page_works_on_a_phone_without_javascript(chromium, live_server, app, firm, mailbox):
    """A declined card says so; another card then pays, all by plain form posts."""
    with app.app_context():
        lawyer = db.session.scalar(db.select(User).where(User.email == LAWYER_EMAIL))
        values = {
            "contact": db.session.get(Contact, firm.client_a),
            "matter": db.session.get(Matter, firm.matter_a1),
            "account": db.session.get(BankAccount, firm.account),
            "template": None,
            "amount_cents": 120_000,
            "issued_on": firm_today(),
            "due_on": None,
            "message": "",
            "allow_partial": False,
            "minimum_cents": None,
            "recipients": [CLIENT_EMAIL],
            "cc": [],
        }
        trust_request = request_service.create_request(values, lawyer)
        link = request_service.copy_link(trust_request, lawyer)
    assert link.startswith(f"{live_server}/pay/")

    with browser_context(chromium, java_script_enabled=False, **PHONE) as phone:
        pay = phone.new_page()
        errors = watch_errors(pay)
        pay.goto(link)
        expect(pay.locator(".testmode")).to_contain_text("TEST MODE")
        expect(pay.locator("#amount-due")).to_have_text("$1,200.00")
        assert_no_script(pay)
        assert_fits_phone(pay)

        pay_by_card(pay, DECLINED_CARD)
        expect(pay.get_by_role("alert")).to_contain_text("Your card was declined.")
        expect(pay.locator("#amount-due")).to_have_text("$1,200.00")
        # The card number is cleared for the next try; the name stays.
        expect(pay.get_by_label("Card number")).to_have_value("")
        expect(pay.get_by_label("Name on card")).to_have_value("Ada Archer")
        assert_fits_phone(pay)

        pay_by_card(pay, GOOD_CARD)
        expect(pay.get_by_role("heading", level=1)).to_have_text("Thank you: payment received")
        expect(pay.locator(".receipt .figure")).to_have_text("$1,200.00")
        expect(pay.locator("#still-due")).to_have_text("$0.00")
        assert_fits_phone(pay)

        # The link now says it is paid.
        pay.goto(link)
        expect(pay.get_by_role("heading", level=1)).to_have_text("Paid in full")
        # The declined attempt is answered 402 on purpose, which Chromium logs; nothing else may be.
        logged = [describe(e) for e in errors]
        assert [line for line in logged if "status of 402 (PAYMENT REQUIRED)" not in line] == []

    with app.app_context():
        trust_request = db.session.scalar(db.select(TrustRequest))
        assert (trust_request.status, trust_request.paid_cents) == ("paid", 120_000)
        assert [p.status for p in trust_request.payments] == ["failed", "succeeded"]
