"""A long report printed from Chromium to PDF: each printed page carries the column heads, its rows and their
subtotal, however long the names in them."""

import io
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from tests.browser_support import PHONE, assert_accessible, assert_fits_phone, browser_context, serving, sign_in
from tests.dates import days_ago, iso
from tests.factories import gen_contact, gen_matter, gen_trust_setup, gen_user
from trustweb.demo import DEMO_PASSWORD, load_demo
from trustweb.extensions import db
from trustweb.ledger.money import format_cents
from trustweb.models import BankAccount, Matter, User
from trustweb.services import requests as request_service
from trustweb.services.trust import Holder, record_deposit

pytestmark = pytest.mark.browser

LONG_NAME = "Archer, Bellweather, Castellanos & Dunmore-Featherstonehaugh Family Holdings Trust No. 2"


def deposits(setup, n, first_day):
    """n deposits on successive days from first_day, amounts $1,000.07, $2,000.14, ...; every seventh payer's name
    takes two lines on paper. Returns the amounts in the journal's order."""
    account = db.session.get(BankAccount, setup.account)
    ada = Holder(setup.client_a, setup.matter_a1)
    amounts = [100_007 * i for i in range(1, n + 1)]
    for i, amount in enumerate(amounts):
        record_deposit(
            account=account,
            holder=ada,
            amount_cents=amount,
            entry_date=first_day + timedelta(days=i),
            method="wire",
            payer=LONG_NAME if i % 7 == 3 else "Ada Archer",
        )
    return amounts


@pytest.mark.parametrize("paper", ["Letter", "A4"])
def test_a_printed_journal_has_a_subtotal_on_every_page(app, chromium, live_server, paper):
    first_day = days_ago(120)
    with app.app_context():
        setup = gen_trust_setup()
        amounts = deposits(setup, 60, first_day)
        email = gen_user("bookkeeper").email
    with browser_context(chromium) as context:
        page = context.new_page()
        sign_in(page, live_server, email)
        page.goto(f"{live_server}/reports/journal?from={iso(first_day)}&to={iso(first_day + timedelta(days=60))}")
        pdf = page.pdf(format=paper, margin={"top": "12mm", "bottom": "12mm", "left": "10mm", "right": "10mm"})
    pages = [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages]
    assert "Trust account journal: Client Trust (IOLTA)" in pages[0] and "Filters:" in pages[0]
    blocks = [(1, 15), (16, 40), (41, 60)]
    assert len(pages) == len(blocks), [text[:80] for text in pages]
    for text, (first, last) in zip(pages, blocks, strict=True):
        # The page's subtotal, under the column heads repeated on the page, with all its rows and no others.
        subtotal = format_cents(sum(amounts[first - 1 : last]), "USD")
        assert f"Rows {first}–{last} {subtotal}" in text, text
        assert "DATE ENTRY KIND DESCRIPTION" in text  # the column heads (in capitals)
        shown = sorted(int(number) for number in re.findall(r"JE-0*(\d+)", text))
        assert shown == list(range(first, last + 1))
    # The summary (the journal's totals) once, on the first page; a long name is cut to two lines on paper.
    assert [f"Deposits {format_cents(sum(amounts), 'USD')}" in text for text in pages] == [True, False, False]
    assert "Featherstonehaugh" not in "".join(pages) and "Archer, Bellweather,…" in pages[0]


# Printable width in CSS pixels (96 per inch) of A4 (the narrower) with 10 mm margins; Letter (the shorter) across.
PORTRAIT_PX, LANDSCAPE_PX = 718, 979


def test_every_report_fits_the_paper_it_prints_on(app, chromium):
    """The demo firm's reports, laid out for print: none is wider than its page, and the twelve-column ones
    print across the page (the CSS page size a browser's print dialog follows)."""
    with app.app_context():
        load_demo()
        # An open matter's ledger: the first 24 open matters took a retainer in the demo.
        number = db.session.scalar(select(Matter.number).where(Matter.status == "open").order_by(Matter.id))
    reports = {
        "/reports/journal": PORTRAIT_PX,
        "/reports/balances": PORTRAIT_PX,
        f"/reports/client-ledger?matter={number}": PORTRAIT_PX,
        "/reports/open-requests": LANDSCAPE_PX,
        "/reports/payments": LANDSCAPE_PX,
    }
    with serving(app) as url, browser_context(chromium) as context:
        page = context.new_page()
        sign_in(page, url, "books@hartwell-law.example.com", DEMO_PASSWORD)
        for path, width in reports.items():
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(url + path)
            page.emulate_media(media="print")
            assert page.locator("#report-table tbody tr").count() > 0, path
            assert page.evaluate("document.documentElement.scrollWidth") <= width, path
            pdf = PdfReader(io.BytesIO(page.pdf(prefer_css_page_size=True)))
            box = pdf.pages[0].mediabox
            assert (box.width > box.height) == (width == LANDSCAPE_PX), path
            page.emulate_media(media="screen")


# The elements of the report card reaching past its content (into its padding or beyond), and by how many pixels.
OVERFLOW = """() => {
  const card = document.querySelector("#report-results").closest(".card");
  const edge = card.getBoundingClientRect().right - parseFloat(getComputedStyle(card).paddingRight);
  return Array.from(card.querySelectorAll("*"))
    .filter((el) => el.getBoundingClientRect().right > edge + 0.5)
    .map((el) => el.tagName + (el.id ? "#" + el.id : "") + " " + Math.round(el.getBoundingClientRect().right - edge));
}"""


def long_figures(app):
    """A deposit and an open request of the widest kind: millions, a long name, a long unbroken reference."""
    account = db.session.scalar(select(BankAccount).where(BankAccount.kind == "trust").order_by(BankAccount.id))
    lawyer = db.session.scalar(select(User).where(User.role == "lawyer").order_by(User.id))
    contact = gen_contact(LONG_NAME, email="holdings@example.com")
    matter = gen_matter(contact, lawyer, description="Acquisition of the Featherstonehaugh-Castellanos portfolio")
    record_deposit(
        account=account,
        holder=Holder(contact.id, matter.id),
        amount_cents=987_654_321_00,
        entry_date=days_ago(0),
        method="wire",
        payer=LONG_NAME,
        reference="WIRE-REF-20261130-0000000123456789",
    )
    request = request_service.create_request(
        {
            "contact": contact,
            "matter": matter,
            "account": account,
            "template": None,
            "amount_cents": 123_456_789_00,
            "issued_on": days_ago(90),
            "due_on": days_ago(60),
            "message": None,
            "allow_partial": True,
            "minimum_cents": None,
            "recipients": ["holdings@example.com"],
            "cc": [],
        },
        lawyer,
    )
    request_service.send_request(request, lawyer)
    db.session.commit()


def test_the_journal_and_open_requests_fit_their_card_on_a_laptop(app, chromium):
    """At 1280 px the demo firm's journal and open requests fit the page and their card, with a client of a long
    name, a long reference and amounts in the millions among them."""
    with app.app_context():
        load_demo()
        long_figures(app)
    with serving(app) as url, browser_context(chromium, viewport={"width": 1280, "height": 900}) as context:
        page = context.new_page()
        sign_in(page, url, "books@hartwell-law.example.com", DEMO_PASSWORD)
        for path in ("/reports/journal", "/reports/open-requests"):
            page.goto(url + path)
            assert page.locator("#report-table tbody tr").count() > 1, path
            assert page.evaluate("document.documentElement.scrollWidth") <= 1280, path
            assert page.evaluate(OVERFLOW) == [], path
            assert_accessible(page)


@pytest.mark.parametrize("javascript", [True, False])
def test_on_a_phone_the_client_ledger_is_chosen_by_the_clients_name(app, chromium, live_server, javascript):
    """At 390 px the bookkeeper types part of the client's name and picks the matter (as typed with JavaScript,
    with the Show button without), and sees that matter's ledger."""
    with app.app_context():
        setup = gen_trust_setup()
        deposits(setup, 2, days_ago(5))
        number = db.session.get(Matter, setup.matter_a1).number
        email = gen_user("bookkeeper").email
    with browser_context(chromium, java_script_enabled=javascript, **PHONE) as context:
        page = context.new_page()
        sign_in(page, live_server, email)
        page.goto(f"{live_server}/reports/client-ledger")
        page.get_by_label("Matter", exact=True).fill("archer")
        if not javascript:
            page.get_by_role("button", name="Show").click()
        choice = page.locator("#matter-choices").get_by_role("link", name=f"{number} · Ada Archer")
        expect(choice).to_be_visible()
        assert_fits_phone(page)
        if javascript:  # axe-core is a script: it runs where scripts do
            assert_accessible(page)
        choice.click()
        expect(page.locator("#chosen-matter")).to_contain_text(f"Showing {number} · Ada Archer")
        expect(page.locator("#report-table tbody tr")).to_have_count(2)
        assert_fits_phone(page)
        if javascript:
            assert_accessible(page)
