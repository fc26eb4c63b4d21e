"""Staff pages on a 390-pixel phone and a 1280-pixel desk, in real Chromium: each table row a card with every field
and its actions under its column's name, the navigation behind a "Menu" button (with or without JavaScript), nothing
wider than the screen, axe-core clean; and the client's pay page with its TEST MODE banner inside a landmark."""

import pytest
from playwright.sync_api import expect

from tests.browser_support import (
    PHONE,
    Watched,
    assert_accessible,
    assert_fits_phone,
    axe_source,
    browser_context,
    sign_in,
)
from tests.dates import today, us
from tests.factories import gen_user
from tests.invoices.steps import invoice_for
from tests.reconcile.steps import book_month, chase_csv, day
from tests.reconcile.test_browser import MAPPING
from tests.requests.steps import gen_firm, gen_request, pay_path, send
from trustweb.extensions import db
from trustweb.models import BankAccount, Contact, TrustRequest, User
from trustweb.services import statements
from trustweb.services.payments import record_manual_payment
from trustweb.services.trust import firm_today

pytestmark = pytest.mark.browser

DESK = {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def app(mailing_app):
    return mailing_app


@pytest.fixture
def firm(app, mailbox):
    """A month in the books, client A's request sent and part paid by cheque, an invoice sent, a bank statement
    imported; an admin to see it all. Returns the pages' paths, the admin's email and the pay link's path."""
    with app.app_context():
        setup = gen_firm()
        db.session.get(Contact, setup.client_a).email = "ada@example.com"
        db.session.commit()
        book_month(setup)
        admin = gen_user("admin")
        request_id = gen_request(setup, allow_partial=True)
        send(request_id, setup.lawyer)
        pay_link = pay_path(mailbox)
        record_manual_payment(
            db.session.get(TrustRequest, request_id),
            amount_cents=100_000,
            method="cheque",
            received_on=firm_today(),
            reference="1042",
            payer="Ada Archer",
            idempotency_key="phone-cheque-000000000001",
            user=db.session.get(User, admin.id),
        )
        invoice_id = invoice_for(setup, 150, 30_000)
        statement, _ = statements.import_statement(
            db.session.get(BankAccount, setup.account),
            source="csv",
            filename="month.csv",
            data=chase_csv(
                [(us(day(3)), "WIRE FROM ADA ARCHER", 500_000, None), (us(day(24)), "DEPOSIT", 250_000, None)]
            ),
            user=db.session.get(User, admin.id),
            mapping=MAPPING,
            ending_balance_cents=630_000,
        )
        pages = {
            "Bills": "/bills/",
            "a matter": f"/matters/{setup.matter_a1}",
            "a request": f"/bills/requests/{request_id}",
            "an invoice": f"/bills/invoices/{invoice_id}",
            "contacts": "/contacts/",
            "reconciliation": f"/reconciliations/statements/{statement.id}",
            "invoices": "/bills/invoices",
            "payments": "/bills/payments",
            "outbox": "/outbox/",
            "users": "/settings/users",
        }
        return pages, admin.email, pay_link


LABELS_SHOWN = """() => [...document.querySelectorAll("main table.cards td[data-label]")]
  .filter(td => td.offsetParent !== null)
  .map(td => [td.dataset.label, getComputedStyle(td, "::before").content])"""
CARD_TABLES_HIDDEN_CELLS = """() => [...document.querySelectorAll("main table.cards td")]
  .filter(td => td.textContent.trim() && td.offsetParent === null).length"""
# The elements shown on a desk page that reach past the right edge of <main>, with where they end and their HTML.
WIDER_THAN_CARD = """() => {
  const edge = document.querySelector("main").getBoundingClientRect().right + 1;
  return [...document.querySelectorAll("main *")]
    .filter(el => el.checkVisibility() && el.getBoundingClientRect().right > edge)
    .map(el => Math.round(el.getBoundingClientRect().right) + "px: " + el.outerHTML.slice(0, 120)).slice(0, 5);
}"""


def test_on_a_phone_every_row_is_a_card_with_each_field_and_action_labelled(chromium, live_server, firm):
    pages, email, _ = firm
    with browser_context(chromium, **PHONE) as phone:
        staff = Watched(phone)
        page = staff.page
        sign_in(page, live_server, email)
        for name, path in pages.items():
            page.goto(f"{live_server}{path}")
            assert_fits_phone(page)
            # Each filled cell of a card table is shown, its column's name above it (the ::before of data-label).
            assert page.evaluate(CARD_TABLES_HIDDEN_CELLS) == 0, name
            shown = page.evaluate(LABELS_SHOWN)
            assert shown, f"no card on {name}"
            assert all(content == f'"{label}"' for label, content in shown), (name, shown)
            assert_accessible(page)
            staff.note_csp()

        # Bills: the amount, what is due, the status and the actions of the request are all on its card.
        page.goto(f"{live_server}/bills/")
        card = page.locator("#requests-table tbody tr").first
        for label in ("Amount", "Due now", "Status", "Actions"):
            expect(card.locator(f'td[data-label="{label}"]')).to_be_visible()
        expect(card.locator('td[data-label="Amount"]')).to_contain_text("$5,000.00")
        expect(card.get_by_role("button", name="Send again")).to_be_visible()
        expect(card.get_by_role("link", name="Record payment")).to_be_visible()
        # The header row is only visually hidden: the table keeps its column headers for a screen reader.
        table = page.get_by_role("table")
        expect(table.get_by_role("columnheader", name="Due now")).to_have_count(1)
        expect(table.get_by_role("cell", name="$5,000.00")).to_have_count(1)

        # The invoice's lines: quantity, rate and amount shown.
        page.goto(f"{live_server}{pages['an invoice']}")
        line = page.locator("table.cards", has_text="Review of title").locator("tbody tr").first
        expect(line.locator('td[data-label="Qty"]')).to_have_text("1.50")
        expect(line.locator('td[data-label="Rate"]')).to_have_text("$300.00")
        expect(line.locator('td[data-label="Amount"]')).to_have_text("$450.00")

        # Reconciliation: the match column, with its buttons, is shown and read out.
        page.goto(f"{live_server}{pages['reconciliation']}")
        unmatched = page.locator("#statement-lines tbody tr.unmatched").first
        expect(unmatched.locator('td[data-label="Journal entry"]')).to_be_visible()
        expect(unmatched.get_by_role("button", name="Match").first).to_be_visible()
        expect(page.locator("#statement-lines").get_by_role("columnheader", name="Journal entry")).to_have_count(1)
        staff.assert_clean()


@pytest.mark.parametrize("javascript", [True, False], ids=["script", "no-script"])
def test_the_menu_button_opens_the_navigation_on_a_phone(chromium, live_server, firm, javascript):
    pages, email, _ = firm
    with browser_context(chromium, **PHONE, java_script_enabled=javascript) as phone:
        page = phone.new_page()
        sign_in(page, live_server, email)
        page.goto(f"{live_server}{pages['Bills']}")
        nav = page.get_by_role("navigation", name="Main")
        menu = page.locator("summary", has_text="Menu")
        expect(menu).to_be_visible()
        expect(page.get_by_role("link", name="Contacts")).to_be_hidden()
        expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
        # The navigation no longer takes the top of the page: the heading is near it.
        assert page.get_by_role("heading", level=1).bounding_box()["y"] < 150

        menu.focus()
        page.keyboard.press("Enter")  # a keyboard opens it as a tap does
        expect(nav.get_by_role("link", name="Contacts")).to_be_visible()
        expect(nav.get_by_role("link", name="Bills")).to_have_attribute("aria-current", "page")
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        assert_fits_phone(page)
        nav.get_by_role("link", name="Contacts").click()
        expect(page).to_have_url(f"{live_server}/contacts/")
        expect(page.get_by_role("link", name="Contacts")).to_be_hidden()  # closed again on the next page

        page.locator("summary", has_text="Menu").click()
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(f"{live_server}/auth/login")


def test_on_a_desk_the_navigation_is_inline_and_nothing_overflows(chromium, live_server, firm):
    pages, email, _ = firm
    with browser_context(chromium, **DESK) as desk:
        staff = Watched(desk)
        page = staff.page
        sign_in(page, live_server, email)
        expect(page.locator("summary", has_text="Menu")).to_be_hidden()
        expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Bills")).to_be_visible()
        for name, path in pages.items():
            page.goto(f"{live_server}{path}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 1280, f"{name} is {width}px wide at 1280px"
            assert page.evaluate(WIDER_THAN_CARD) == [], name
            # A table at this width is a table: its header row shown.
            expect(page.locator("main table.cards thead").first).to_be_visible()
            assert_accessible(page)
        # A field without a type (the refund's amount) looks like the other fields, not a bare browser box.
        page.goto(f"{live_server}{pages['a request']}")
        page.locator("summary", has_text="Refund").click()
        looks = "el => [getComputedStyle(el).borderRadius, getComputedStyle(el).paddingLeft]"
        untyped, text_field = page.locator("details.refund input[name=amount]"), page.locator("input#amount[type=text]")
        assert untyped.evaluate(looks) == text_field.evaluate(looks) == ["6px", "9.6px"]
        staff.assert_clean()


REGION_RUN = """async () => {
  const results = await axe.run(document, {runOnly: {type: "rule", values: ["region"]}});
  return results.violations.flatMap(v => v.nodes.map(n => n.target.join(" ") + ": " + n.html));
}"""


def test_the_pay_page_banner_is_in_a_landmark_and_its_card_fields_fill_from_a_phone(chromium, live_server, firm):
    _, _, path = firm
    with browser_context(chromium, **PHONE) as phone:
        page = phone.new_page()
        page.goto(f"{live_server}{path}")
        expect(page.get_by_role("region", name="Test mode")).to_contain_text("TEST MODE: no real money moves.")
        page.evaluate(axe_source())
        assert page.evaluate(REGION_RUN) == []  # axe's "region": all content, the banner too, inside a landmark
        assert_accessible(page)
        assert_fits_phone(page)
        for label, autocomplete, inputmode in [
            ("Name on card", "cc-name", None),
            ("Card number", "cc-number", "numeric"),
            ("Expiry (MM/YY)", "cc-exp", "numeric"),
            ("Security code (CVC)", "cc-csc", "numeric"),
        ]:
            field = page.get_by_label(label)
            expect(field).to_have_attribute("autocomplete", autocomplete)
            if inputmode:
                expect(field).to_have_attribute("inputmode", inputmode)
        # The number pad has no "/": the four digits are taken as MMYY.
        year = today().year + 2
        page.get_by_label("Amount to pay").fill("250.00")
        page.get_by_label("Name on card").fill("Ada Archer")
        page.get_by_label("Card number").press_sequentially("4242424242424242")
        page.get_by_label("Expiry (MM/YY)").press_sequentially(f"12{year % 100:02d}")
        page.get_by_label("Security code (CVC)").fill("123")
        page.locator("form").get_by_role("button", name="Pay").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Thank you")
