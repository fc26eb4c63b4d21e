"""In real Chromium, the forms a lawyer fills in all day: a trust request for a client found by typing part of her
name (the combobox, by keyboard), her matter, the email previewed, then Save and send; and an invoice whose lines
are added and removed in place while the total follows. Each page is checked with axe, for console errors and for
the Content-Security-Policy."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser_support import Watched, assert_accessible, browser_context, sign_in
from tests.factories import gen_account, gen_contact, gen_trust_setup, gen_user
from trustweb.extensions import db
from trustweb.models import Contact, Matter, OutboxMessage, TrustRequest
from trustweb.services.trust import firm_today

pytestmark = pytest.mark.browser

LAWYER_EMAIL = "amelia@firm.example.com"
DESK = {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def app(emailing_app):
    return emailing_app


@pytest.fixture
def firm(app):
    """Ada Archer (two matters) and Ben Baker, Amelia their lawyer, among other contacts whose names look alike."""
    with app.app_context():
        setup = gen_trust_setup()
        gen_account("Operating", kind="operating", is_default=True)
        lawyer = gen_user("lawyer", email=LAWYER_EMAIL, name="Amelia Hartwell")
        for matter in db.session.scalars(select(Matter)):
            matter.lawyer_id = lawyer.id
        for name in ("Adams Holdings", "Adele Quinn", "Bada Stores"):
            gen_contact(name)
        db.session.commit()
        return setup, firm_today()


def test_a_lawyer_finds_the_client_previews_the_email_and_saves_and_sends(chromium, live_server, app, firm):
    setup, today = firm
    with app.app_context():
        ada_email = db.session.get(Contact, setup.client_a).email
    with browser_context(chromium, **DESK) as desk:
        lawyer = Watched(desk)
        page = lawyer.page
        sign_in(page, live_server, LAWYER_EMAIL)
        page.goto(f"{live_server}/bills/requests/new")
        expect(page.get_by_role("heading", level=1)).to_have_text("New trust request")
        assert_accessible(page)

        # She types part of the name; the listbox offers what starts so; the arrow keys and Enter choose Ada.
        client = page.get_by_role("combobox", name="Client")
        client.press_sequentially("arch", delay=40)
        options = page.get_by_role("listbox", name="Clients matching the name typed").get_by_role("option")
        expect(options).to_have_count(1)
        expect(options.first).to_contain_text("Ada Archer")
        expect(client).to_have_attribute("aria-expanded", "true")
        assert_accessible(page)
        client.press("ArrowDown")
        expect(options.first).to_have_attribute("aria-selected", "true")
        client.press("Enter")

        # The form comes back for Ada: her matters, her email, the matter field focused.
        matter = page.get_by_label("Matter", exact=True)
        expect(page.get_by_role("combobox", name="Client")).to_have_value("Ada Archer")
        expect(page.locator("#contact_id")).to_have_value(str(setup.client_a))
        expect(matter).to_be_focused()
        expect(matter.locator("option")).to_have_count(3)  # no matter, and her two
        expect(page.get_by_label("Email to")).to_have_value(ada_email)
        matter.select_option(value=str(setup.matter_a2))
        expect(page.get_by_label("Due date")).not_to_have_value("")
        page.get_by_label("Amount").fill("2,500.00")
        page.get_by_label("Message to the client").fill("For the estate's filing fees.")

        # The preview: the email as Ada will get it, nothing saved.
        page.get_by_role("button", name="Preview email").click()
        preview = page.locator("#email-preview")
        expect(preview).to_contain_text("The email the client will get")
        expect(preview).to_contain_text("$2,500.00")
        expect(preview).to_contain_text("Estate of H. Archer")
        expect(preview).to_contain_text("For the estate's filing fees.")
        assert_accessible(page)
        with app.app_context():
            assert db.session.scalar(select(TrustRequest.id)) is None

        page.get_by_role("button", name="Save and send").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("TR-000001 · $2,500.00")
        expect(page.locator(".flash")).to_contain_text("saved and sent")
        expect(page.locator("h1 .status")).to_have_text("Sent")
        with app.app_context():
            [made] = db.session.scalars(select(TrustRequest)).all()
            assert (made.contact_id, made.matter_id, made.status) == (setup.client_a, setup.matter_a2, "sent")
            assert made.due_on is not None and made.due_on > today
            assert db.session.scalar(select(OutboxMessage.kind)) == "request"
        lawyer.assert_clean()


def test_a_lawyer_adds_and_removes_invoice_lines_and_the_total_follows(chromium, live_server, app, firm):
    setup, today = firm
    with browser_context(chromium, **DESK) as desk:
        lawyer = Watched(desk)
        page = lawyer.page
        sign_in(page, live_server, LAWYER_EMAIL)
        page.goto(f"{live_server}/bills/invoices/new?matter_id={setup.matter_a1}")
        expect(page.get_by_role("heading", level=1)).to_have_text("New invoice")
        expect(page.get_by_label("Date of line 1")).to_have_value(today.isoformat())
        assert_accessible(page)
        total = page.locator("#invoice-total")

        page.get_by_label("Description of line 1").fill("Title review")
        page.get_by_label("Quantity of line 1").fill("2.5")
        page.get_by_label("Rate of line 1").fill("300.00")
        page.get_by_label("Rate of line 1").press("Tab")
        expect(total).to_have_text("Total: $750.00")

        page.get_by_role("button", name="Add line").click()
        expect(page.get_by_label("Description of line 2")).to_be_focused()
        expect(page.get_by_label("Date of line 2")).to_have_value(today.isoformat())
        expect(page.get_by_label("Description of line 1")).to_have_value("Title review")
        page.get_by_label("Description of line 2").fill("Courier")
        page.get_by_label("Kind of line 2").select_option("expense")
        page.get_by_label("Quantity of line 2").fill("1")
        page.get_by_label("Rate of line 2").fill("40.00")
        page.get_by_label("Rate of line 2").press("Tab")
        expect(total).to_have_text("Total: $790.00")

        page.get_by_role("button", name="Add line").click()
        page.get_by_label("Description of line 3").fill("Recording fee")
        page.get_by_label("Quantity of line 3").fill("1")
        page.get_by_label("Rate of line 3").fill("85.00")
        page.get_by_label("Rate of line 3").press("Tab")
        expect(total).to_have_text("Total: $875.00")
        assert_accessible(page)

        page.get_by_role("button", name="Remove line 2").click()
        expect(page.locator("input[name$='-description']")).to_have_count(2)
        expect(total).to_have_text("Total: $835.00")
        expect(page.get_by_label("Description of line 2")).to_have_value("Recording fee")

        page.get_by_role("button", name="Save draft").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("INV-000001")
        with app.app_context():
            from trustweb.models import Invoice

            invoice = db.session.scalar(select(Invoice))
            assert (invoice.total_cents, [line.description for line in invoice.lines]) == (
                83_500,
                ["Title review", "Recording fee"],
            )
        lawyer.assert_clean()


def test_without_script_a_typed_name_finds_the_client_and_the_matters_follow(chromium, live_server, app, firm):
    setup, _ = firm
    with browser_context(chromium, java_script_enabled=False, **DESK) as desk:
        page = desk.new_page()
        sign_in(page, live_server, LAWYER_EMAIL)
        page.goto(f"{live_server}/bills/requests/new")
        page.get_by_label("Amount").fill("900.00")
        page.get_by_role("combobox", name="Client").fill("ada")
        page.get_by_role("button", name="Find client").click()
        # Two clients' names start "ada": the form asks which, keeping what was typed.
        expect(page.locator(".field.combobox .error")).to_have_text("2 clients match “ada”: choose one.")
        expect(page.get_by_label("Amount")).to_have_value("900.00")
        page.get_by_role("radio", name="Ada Archer").check()
        page.get_by_role("button", name="Use this client").click()
        expect(page.get_by_role("combobox", name="Client")).to_have_value("Ada Archer")
        expect(page.get_by_label("Matter", exact=True).locator("option")).to_have_count(3)
        page.get_by_label("Matter", exact=True).select_option(value=str(setup.matter_a1))
        page.get_by_role("button", name="Save draft").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("TR-000001 · $900.00")
