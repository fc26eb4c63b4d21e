"""A client's visit to the portal in real Chromium, on a phone: invited by the lawyer at a desk, signed in with the
emailed link, a statement read and downloaded, a request paid, signed out.

The app runs on a real WSGI server on loopback with BASE_URL set to that server and sends its email through a
real SMTP server (aiosmtpd), so the link the client taps is the one the email carried. Every portal page the
client sees is checked with axe-core (no serious or critical accessibility violation), for the
Content-Security-Policy and for fitting a 390-pixel screen.
"""

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser_support import (
    GOOD_CARD,
    PHONE,
    Watched,
    assert_accessible,
    assert_fits_phone,
    assert_no_script,
    axe_violations,
    browser_context,
    pay_by_card,
    sign_in,
    wait_for_email,
    watch_errors,
)
from tests.dates import card_expiry, days_ago
from tests.portal.steps import ADA, PORTAL_LINK, gen_portal_firm, invite
from trustweb.extensions import db
from trustweb.ledger.money import format_cents, plain_cents
from trustweb.models import BankAccount, Invoice, JournalEntry, JournalLine, LedgerAccount, TrustRequest, User
from trustweb.services.trust import Holder, record_deposit

pytestmark = pytest.mark.browser

DESK = {"viewport": {"width": 1280, "height": 900}}
EARLIER_RETAINER = 60_000  # received before the statement's range: its opening balance
RANGE_DAYS = 30
NOT_FOUND = "status of 404"  # Chromium logs a page answered 404 on purpose (a used link, another's ledger)


@pytest.fixture
def app(emailing_app):
    return emailing_app


@pytest.fixture
def firm(app):
    """The portal firm (tests/portal/steps.py), a retainer client A paid into their purchase before the range
    the statement is read over, and their request overdue."""
    with app.app_context():
        firm = gen_portal_firm()
        record_deposit(
            account=db.session.get(BankAccount, firm.account),
            holder=Holder(firm.client_a, firm.matter_a1),
            amount_cents=EARLIER_RETAINER,
            entry_date=days_ago(RANGE_DAYS + 10),
            method="cheque",
            payer="Ada Archer",
            description="First retainer",
        )
        overdue = db.session.get(TrustRequest, firm.request_a)
        overdue.issued_on, overdue.due_on = days_ago(20), days_ago(3)
        db.session.commit()
    return firm


def ledger_of(firm, contact_id, matter_id):
    return db.session.scalar(
        select(LedgerAccount).where(LedgerAccount.key == Holder(contact_id, matter_id).key(firm.account))
    )


def books_figures(ledger_id, date_from):
    """A client ledger's statement over [date_from, today], from its journal lines: (the figures an auditor adds
    up, how many lines) (a client ledger is a liability: money in is a credit, a negative line)."""
    amounts = db.session.execute(
        select(JournalEntry.entry_date, JournalLine.amount_cents)
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalLine.ledger_account_id == ledger_id)
    ).all()
    opening = -sum(amount for day, amount in amounts if day < date_from)
    moves = [-amount for day, amount in amounts if day >= date_from]
    money_in, money_out = sum(m for m in moves if m > 0), -sum(m for m in moves if m < 0)
    figures = {
        "Opening balance": opening,
        "Money in": money_in,
        "Money out": money_out,
        "Closing balance": opening + money_in - money_out,
    }
    return figures, len(moves)


def open_request(firm):
    """Client A's open request: (its number, what is left to pay on it)."""
    trust_request = db.session.get(TrustRequest, firm.request_a)
    return trust_request.number, trust_request.payable_cents


def money(cents):
    return format_cents(cents, "USD")


def statement_summary(page):
    """The statement's figures as the page shows them: {label: text}."""
    summary = page.locator("#statement dl.details")
    return dict(zip(summary.locator("dt").all_inner_texts(), summary.locator("dd").all_inner_texts(), strict=True))


def read_statement(page, figures):
    """The statement page shows the books' figures."""
    shown = statement_summary(page)
    assert {label: shown[label] for label in figures} == {label: money(cents) for label, cents in figures.items()}


def downloaded_statement(page):
    """Press Download CSV: (the file's name, {first cell: second cell} of its rows)."""
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    data = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = {row[0]: row[1] for row in csv.reader(io.StringIO(data)) if len(row) > 1}
    return download.value.suggested_filename, rows


def check_page(client, phone_width=True):
    """What every page of the client's visit is checked for: accessibility, CSP, no script, and a phone's width."""
    page = client.page
    assert_accessible(page)
    client.note_csp()
    assert_no_script(page)
    if phone_width:
        assert_fits_phone(page)


def test_a_client_invited_by_the_lawyer_reads_a_statement_pays_and_signs_out_on_a_phone(
    chromium, live_server, app, firm, mailbox
):
    with app.app_context():
        lawyer_email = db.session.get(User, firm.lawyer).email
        request_number, due = open_request(firm)
        invoice_number = db.session.get(Invoice, firm.invoice_a).number
        purchase = ledger_of(firm, firm.client_a, firm.matter_a1)
        purchase_id, purchase_number = purchase.id, purchase.matter.number
        held_before = purchase.balance_cents
        other_clients_ledger = ledger_of(firm, firm.client_b, firm.matter_b1).id
        date_from = days_ago(RANGE_DAYS)
        figures, lines = books_figures(purchase_id, date_from)
    assert figures["Opening balance"] == EARLIER_RETAINER and figures["Closing balance"] == held_before

    with browser_context(chromium, **DESK) as desk, browser_context(chromium, **PHONE) as phone:
        lawyer, client = Watched(desk), Watched(phone)
        office, page = lawyer.page, client.page

        # At the desk, the lawyer invites Ada from her contact page.
        sign_in(office, live_server, lawyer_email)
        office.goto(f"{live_server}/contacts/{firm.client_a}")
        office.locator("#contact-portal").get_by_role("button", name="Invite to the portal").click()
        expect(office.locator("#messages")).to_contain_text(f"Portal invitation to {ADA} queued")
        expect(office.locator("#contact-portal")).to_contain_text("Has access")
        lawyer.assert_clean()

        [invitation] = [
            m for m in wait_for_email(mailbox, ADA, count=2) if m["Subject"].startswith("Your secure client portal")
        ]
        link = PORTAL_LINK.search(mailbox.text(invitation)).group(0)
        assert link.startswith(f"{live_server}/portal/sign-in/"), link

        # On her phone, the link asks her to press Sign in.
        page.goto(link)
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to your client portal")
        expect(page.locator("main")).to_contain_text("You are signing in as Ada Archer")
        check_page(client)
        page.get_by_role("button", name="Sign in").click()

        # Home: what she owes and what is held for her.
        expect(page).to_have_url(f"{live_server}/portal/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada Archer")
        expect(page.locator("#in-trust .figure")).to_have_text(money(held_before))
        expect(page.locator("#to-pay li")).to_have_count(2)
        asked = page.locator("#to-pay li").filter(has_text=request_number)
        expect(asked).to_contain_text(f"{money(due)} due")
        expect(asked.locator(".status")).to_have_text("Overdue")
        expect(page.locator("#to-pay li").filter(has_text=invoice_number)).to_be_visible()
        check_page(client)

        # The purchase's statement over the last 30 days: the figures the books give.
        page.locator("#in-trust").get_by_role("link", name=purchase_number).click()
        expect(page).to_have_url(f"{live_server}/portal/ledgers/{purchase_id}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Trust statement")
        check_page(client)
        page.get_by_label("From").fill(date_from.isoformat())
        page.get_by_role("button", name="Show").click()
        expect(page).to_have_url(f"{live_server}/portal/ledgers/{purchase_id}?from={date_from.isoformat()}&to=")
        read_statement(page, figures)
        expect(page.locator("#statement-lines tbody tr")).to_have_count(lines)  # the earlier retainer is before it
        expect(page.locator("#statement-lines")).not_to_contain_text("First retainer")
        check_page(client)
        filename, rows = downloaded_statement(page)
        assert filename.startswith(f"trust-statement-{purchase_id}-") and filename.endswith(".csv")
        assert {label: rows[label] for label in figures} == {label: plain_cents(c) for label, c in figures.items()}

        # She pays the request with a card on the pay page, and gets her receipt.
        page.get_by_role("link", name="Back to your account").click()
        page.get_by_role("button", name=f"Pay {money(due)} on {request_number}").click()
        expect(page).to_have_url(re.compile(re.escape(f"{live_server}/pay/")))
        expect(page.locator("#amount-due")).to_have_text(money(due))
        check_page(client)
        pay_by_card(page, GOOD_CARD)
        expect(page.get_by_role("heading", level=1)).to_have_text("Thank you: payment received")
        expect(page.locator("#still-due")).to_have_text("$0.00")
        receipt = page.locator("#receipt-number").inner_text()
        check_page(client)

        # Back in the portal from the receipt: the invoice left to pay, the money held, the receipt in her documents.
        page.get_by_role("link", name="Your client portal").click()
        expect(page).to_have_url(f"{live_server}/portal/")
        expect(page.locator("#to-pay li")).to_have_count(1)
        expect(page.locator("#to-pay li")).to_contain_text(invoice_number)
        expect(page.locator("#in-trust .figure")).to_have_text(money(held_before + due))
        check_page(client)
        page.get_by_role("navigation", name="Portal").get_by_role("link", name="Documents").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Documents and payments")
        payment_row = page.locator("#payments tbody tr").filter(has_text=receipt)
        expect(payment_row).to_contain_text(money(due))
        expect(payment_row).to_contain_text(request_number)
        expect(page.locator("#requests tbody tr").filter(has_text=request_number)).to_contain_text("Paid")
        check_page(client)

        # Another client's statement is not found, on the portal's own page.
        response = page.goto(f"{live_server}/portal/ledgers/{other_clients_ledger}")
        assert response.status == 404
        expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
        check_page(client)

        # She signs out; going back, or opening the portal again, asks her to sign in.
        page.goto(f"{live_server}/portal/documents")
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(f"{live_server}/portal/sign-in")
        expect(page.locator("#messages")).to_contain_text("You are signed out.")
        check_page(client)
        page.go_back()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your client portal")
        assert page.url.startswith(f"{live_server}/portal/sign-in"), page.url
        page.goto(f"{live_server}/portal/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Your client portal")
        assert page.url.startswith(f"{live_server}/portal/sign-in"), page.url
        check_page(client)

        # The invitation's link was used: it says so, and asks for a new one.
        response = page.goto(link)
        assert response.status == 404
        expect(page.get_by_role("heading", level=1)).to_have_text("This sign-in link no longer works")
        check_page(client)
        page.get_by_label("Your email address").fill(ADA)
        page.get_by_role("button", name="Email me a sign-in link").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
        check_page(client)
        assert any(m["Subject"].startswith("Your sign-in link") for m in wait_for_email(mailbox, ADA, count=3))

        client.assert_clean(expected=[NOT_FOUND])

    with app.app_context():
        assert db.session.get(TrustRequest, firm.request_a).status == "paid"
        assert ledger_of(firm, firm.client_a, firm.matter_a1).balance_cents == held_before + due


def test_a_client_signs_in_pays_and_reads_a_statement_without_javascript(chromium, live_server, app, firm, mailbox):
    """Every step a plain link or form post: the same pages work with JavaScript off."""
    with app.app_context():
        link = invite(firm.client_a, firm.lawyer)
        request_number, due = open_request(firm)
        purchase = ledger_of(firm, firm.client_a, firm.matter_a1)
        purchase_id, purchase_number, held_before = purchase.id, purchase.matter.number, purchase.balance_cents
    assert link.startswith(f"{live_server}/portal/sign-in/")

    with browser_context(chromium, java_script_enabled=False, **PHONE) as phone:
        page = phone.new_page()
        errors = watch_errors(page)
        page.goto(link)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{live_server}/portal/")
        expect(page.locator("#in-trust .figure")).to_have_text(money(held_before))
        assert_fits_phone(page)

        page.get_by_role("button", name=f"Pay {money(due)} on {request_number}").click()
        expect(page).to_have_url(re.compile(re.escape(f"{live_server}/pay/")))
        pay_by_card(page, GOOD_CARD)
        expect(page.get_by_role("heading", level=1)).to_have_text("Thank you: payment received")
        expect(page.locator("#still-due")).to_have_text("$0.00")

        page.get_by_role("link", name="Your client portal").click()
        expect(page.locator("#in-trust .figure")).to_have_text(money(held_before + due))
        page.locator("#in-trust").get_by_role("link", name=purchase_number).click()
        date_from = days_ago(RANGE_DAYS)
        page.get_by_label("From").fill(date_from.isoformat())
        page.get_by_role("button", name="Show").click()
        with app.app_context():
            figures, lines = books_figures(purchase_id, date_from)
        assert figures["Closing balance"] == held_before + due
        read_statement(page, figures)
        expect(page.locator("#statement-lines tbody tr")).to_have_count(lines)
        assert_fits_phone(page)
        _, rows = downloaded_statement(page)
        assert rows["Closing balance"] == plain_cents(held_before + due)
        assert [str(e) for e in errors] == []


def test_the_accessibility_check_names_each_problem_it_finds(chromium, live_server):
    """axe-core runs under the portal's Content-Security-Policy, and a failure says which rule, where and why."""
    with browser_context(chromium, **PHONE) as phone:
        page = phone.new_page()
        page.goto(f"{live_server}/portal/sign-in")
        assert axe_violations(page) == []
        page.evaluate(
            """() => {
              const faint = Object.assign(document.createElement("p"), {id: "faint", textContent: "Small print"});
              faint.style.color = "#d0d0d0";
              const bare = Object.assign(document.createElement("input"), {id: "bare"});
              document.querySelector("main").append(faint, bare);
            }"""
        )
        found = axe_violations(page)
    assert len(found) == 2, found
    faint, bare = sorted(found)
    assert "color-contrast (serious): Elements must meet minimum color contrast ratio thresholds, at #faint" in faint
    assert "insufficient color contrast" in faint
    assert "label (critical): Form elements must have labels, at #bare" in bare


def test_a_client_pays_an_invoice_and_a_top_up_in_one_checkout_on_a_phone(chromium, live_server, app, firm):
    """Pay both with the test processor: one card form, two payments, a summary of each (issue 17)."""
    with app.app_context():
        link = invite(firm.client_a, firm.lawyer)
        request_number, due = open_request(firm)
        invoice = db.session.get(Invoice, firm.invoice_a)
        invoice_number, invoice_due = invoice.number, invoice.payable_cents
    with browser_context(chromium, **PHONE) as phone:
        client = Watched(phone)
        page = client.page
        page.goto(link)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#pay-both")).to_contain_text(f"Pay invoice {invoice_number} ({money(invoice_due)})")
        check_page(client)
        page.locator("#pay-both").get_by_role("link", name="Pay both").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Pay your invoice and trust request")
        expect(page.locator("#pay-both-invoice")).to_contain_text("operating account")
        expect(page.locator("#pay-both-trust")).to_contain_text("trust account for you")
        expect(page.locator("#pay-both-total")).to_have_text(money(invoice_due + due))
        check_page(client)
        page.get_by_label("Name on card").fill("Ada Archer")
        page.get_by_label("Card number").press_sequentially(GOOD_CARD)
        page.get_by_label("Expiry (MM/YY)").fill(card_expiry())
        page.get_by_label("Security code (CVC)").fill("123")
        page.get_by_role("button", name=f"Pay both ({money(invoice_due + due)})").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Thank you: both payments received")
        expect(page.locator("#outcome-invoice")).to_contain_text(f"Paid {money(invoice_due)} on {invoice_number}")
        expect(page.locator("#outcome-trust")).to_contain_text(f"Paid {money(due)} on {request_number}")
        check_page(client)
        page.get_by_role("link", name="Back to your account").click()
        expect(page.locator("#to-pay")).to_contain_text("Nothing to pay right now.")
        check_page(client)
        client.assert_clean()
    with app.app_context():
        assert db.session.get(TrustRequest, firm.request_a).status == "paid"
        assert db.session.get(Invoice, firm.invoice_a).status == "paid"
