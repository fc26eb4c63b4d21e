"""A client saves a card in real Chromium, on a phone, from the link the lawyer emails; sees it in the portal; the
lawyer sees its brand, last four and expiry on the contact page. Every client page is checked for accessibility,
the Content-Security-Policy, no script and a phone's width."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser_support import (
    GOOD_CARD,
    PHONE,
    Watched,
    assert_accessible,
    assert_fits_phone,
    assert_no_script,
    browser_context,
    sign_in,
    wait_for_email,
)
from tests.dates import card_expiry
from tests.portal.steps import ADA, PORTAL_LINK
from tests.requests.steps import gen_firm
from trustweb.extensions import db
from trustweb.models import BankAccount, Contact, User
from trustweb.services import method_setup

pytestmark = pytest.mark.browser

DESK = {"viewport": {"width": 1280, "height": 900}}
METHOD_LINK = re.compile(r"https?://[^\s\"<>]+/methods/[A-Za-z0-9_-]+")


@pytest.fixture
def app(emailing_app):
    return emailing_app


@pytest.fixture
def firm(app):
    with app.app_context():
        setup = gen_firm()
        db.session.get(BankAccount, setup.account).is_default = True
        db.session.get(Contact, setup.client_a).email = ADA
        db.session.commit()
        return setup


def check_page(client):
    page = client.page
    assert_accessible(page)
    client.note_csp()
    assert_no_script(page)
    assert_fits_phone(page)


def test_a_client_saves_a_card_from_the_emailed_link_and_both_sides_see_it(chromium, live_server, app, firm, mailbox):
    with app.app_context():
        lawyer_email = db.session.get(User, firm.lawyer).email
        consent = method_setup.consent_text()
    expires = f"12/20{card_expiry()[-2:]}"

    with browser_context(chromium, **DESK) as desk, browser_context(chromium, **PHONE) as phone:
        lawyer, client = Watched(desk), Watched(phone)
        office, page = lawyer.page, client.page

        # At the desk, the lawyer gives Ada the portal and asks her for a payment method.
        sign_in(office, live_server, lawyer_email)
        office.goto(f"{live_server}/contacts/{firm.client_a}")
        expect(office.locator("#contact-methods")).to_contain_text("Ada Archer has no saved card or bank account.")
        office.locator("#contact-portal").get_by_role("button", name="Invite to the portal").click()
        office.locator("#contact-methods").get_by_role("button", name="Request a payment method").click()
        expect(office.locator("#messages")).to_contain_text(f"A link to save a payment method was queued for {ADA}")
        lawyer.assert_clean()

        emails = wait_for_email(mailbox, ADA, count=2)
        [asked] = [m for m in emails if METHOD_LINK.search(mailbox.text(m))]
        link = METHOD_LINK.search(mailbox.text(asked)).group(0)
        assert link.startswith(f"{live_server}/methods/"), link

        # On her phone: who asks, the consent beside the button, the card form.
        page.goto(link)
        expect(page.get_by_role("heading", level=1)).to_have_text("Save a card for future payments")
        expect(page.locator("#consent")).to_have_text(consent)
        check_page(client)
        page.get_by_label("Name on card").fill("Ada Archer")
        page.get_by_label("Card number").press_sequentially(GOOD_CARD)
        page.get_by_label("Expiry (MM/YY)").fill(card_expiry())
        page.get_by_label("Security code (CVC)").fill("123")
        page.get_by_role("button", name="Save this card").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Payment method saved")
        expect(page.locator("#saved-method")).to_contain_text(f"Visa ending 4242, expires {expires}")
        check_page(client)

        # The link worked once.
        response = page.goto(link)
        assert response.status == 410
        expect(page.get_by_role("heading", level=1)).to_have_text("This link has already been used")
        check_page(client)

        # In the portal, her payment methods list the card.
        [invitation] = [m for m in emails if PORTAL_LINK.search(mailbox.text(m))]
        page.goto(PORTAL_LINK.search(mailbox.text(invitation)).group(0))
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("navigation", name="Portal").get_by_role("link", name="Payment methods").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Payment methods")
        expect(page.locator("#methods tbody tr")).to_have_count(1)
        expect(page.locator("#methods tbody tr")).to_contain_text(f"Visa ending 4242, expires {expires}")
        check_page(client)
        client.assert_clean(expected=["status of 410"])

        # The lawyer sees it on the contact page, with the consent she gave.
        office.reload()
        row = office.locator("#contact-methods tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(f"Visa ending 4242, expires {expires}")
        expect(row).to_contain_text("The client")
        row.get_by_text("Read").click()
        expect(row).to_contain_text(consent)
        lawyer.assert_clean()
