"""A lawyer's day in a real browser: Chromium through Playwright against the app on a real WSGI server.

The demo firm is loaded into a fresh database and served on loopback; the tests sign in through the
login form, search and page through contacts by htmx, and check that nothing breaks without JavaScript
or under the Content-Security-Policy.

Set TRUSTWEB_REQUIRE_BROWSER=1 to turn a missing Chromium into a failure instead of a skip.
"""

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import or_, select

from tests.browser_support import CSP_WATCH, browser_context, describe, serving, watch_errors
from tests.browser_support import sign_in as browser_sign_in
from tests.conftest import built_app
from trustweb.config import HTMX_VERSION
from trustweb.demo import DEMO_PASSWORD, load_demo
from trustweb.extensions import db
from trustweb.ledger.money import format_cents
from trustweb.models import Contact

pytestmark = pytest.mark.browser

LAWYER = "ehartwell@hartwell-law.example.com"
PAGE_SIZE = 25


@pytest.fixture
def demo_app(app):
    """The app (htmx served locally, as in every test) on a fresh database holding the demo firm."""
    with app.app_context():
        load_demo()
    return app


@pytest.fixture
def live_server(demo_app):
    """The demo app served by a real threaded WSGI server on loopback; yields its base URL."""
    with serving(demo_app) as url:
        yield url


@pytest.fixture
def context(chromium):
    with browser_context(chromium) as context:
        yield context


@pytest.fixture
def page(context):
    return context.new_page()


def sign_in(page, base_url):
    """Sign in as the demo lawyer through the login form and land on the dashboard."""
    browser_sign_in(page, base_url, LAWYER, DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def go_to_contacts(page, base_url):
    menu = page.locator("summary", has_text="Menu")
    if menu.is_visible():  # on a phone the navigation is behind the Menu button
        menu.click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()
    expect(page).to_have_url(f"{base_url}/contacts/")
    expect(page.get_by_role("heading", name="Contacts", exact=True)).to_be_visible()


def contact_names(page):
    return [name.strip() for name in page.locator("#contacts-table tbody tr td:first-child a").all_inner_texts()]


def contacts_matching(app, needle):
    """Names (in list order) of the contacts a search for needle should show, read from the database."""
    like = f"%{needle}%"
    with app.app_context():
        statement = (
            select(Contact.name)
            .where(
                or_(
                    Contact.name.ilike(like),
                    Contact.email.ilike(like),
                    Contact.other_email.ilike(like),
                    Contact.phone.ilike(like),
                )
            )
            .order_by(Contact.name, Contact.id)
        )
        return list(db.session.scalars(statement))


def first_contact(app):
    """The first contact by name, with the numbers of its matters (newest first, as its page lists them)."""
    with app.app_context():
        contact = db.session.scalars(select(Contact).order_by(Contact.name, Contact.id).limit(1)).one()
        return contact.name, [m.number for m in contact.matters]


def search_term(name):
    """Part of a contact's name: its last word, which also picks out other contacts sharing it."""
    return name.split()[-1]


def test_lawyer_searches_contacts_without_a_reload_and_opens_a_matter(page, live_server, demo_app):
    name, matter_numbers = first_contact(demo_app)
    assert matter_numbers, f"demo contact {name} has no matter to open"
    needle = search_term(name)
    expected = contacts_matching(demo_app, needle)
    assert name in expected and 0 < len(expected) < PAGE_SIZE

    sign_in(page, live_server)
    go_to_contacts(page, live_server)
    rows = page.locator("#contacts-table tbody tr")
    expect(rows).to_have_count(PAGE_SIZE)

    page.evaluate("window.__noReload = true")
    page.locator("#contact-search").press_sequentially(needle, delay=20)
    expect(rows).to_have_count(len(expected))
    assert contact_names(page) == expected

    assert page.evaluate("window.__noReload") is True, "the search reloaded the page instead of swapping the rows"
    expect(page).to_have_url(re.compile(r"[?&]q="))
    assert parse_qs(urlsplit(page.url).query)["q"] == [needle]

    page.locator("#contacts-table").get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    page.locator("#contact-matters").get_by_role("link", name=matter_numbers[0], exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(matter_numbers[0])
    client = page.locator("dl.details dt", has_text="Client").locator("xpath=following-sibling::dd[1]")
    expect(client).to_have_text(name)


def test_contacts_page_through_in_place(page, live_server, demo_app):
    with demo_app.app_context():
        names = list(db.session.scalars(select(Contact.name).order_by(Contact.name, Contact.id)))
    total, second_page = len(names), names[PAGE_SIZE:]
    assert total == 30 and len(second_page) == 5

    sign_in(page, live_server)
    go_to_contacts(page, live_server)
    rows = page.locator("#contacts-table tbody tr")
    expect(rows).to_have_count(PAGE_SIZE)
    expect(page.locator(".pager")).to_contain_text(f"Page 1 of 2 · {total} in all")

    page.evaluate("window.__noReload = true")
    page.get_by_role("link", name="Next ›").click()
    expect(rows).to_have_count(len(second_page))
    assert contact_names(page) == second_page
    expect(page.locator(".pager")).to_contain_text(f"Page 2 of 2 · {total} in all")
    assert page.evaluate("window.__noReload") is True, "paging reloaded the page instead of swapping the rows"
    assert parse_qs(urlsplit(page.url).query)["page"] == ["2"]

    page.get_by_role("link", name="‹ Previous").click()
    expect(rows).to_have_count(PAGE_SIZE)
    assert page.evaluate("window.__noReload") is True


def test_contacts_search_on_a_phone_without_javascript(chromium, live_server, demo_app):
    name, _ = first_contact(demo_app)
    needle = search_term(name)
    expected = contacts_matching(demo_app, needle)
    with browser_context(chromium, java_script_enabled=False, viewport={"width": 390, "height": 844}) as context:
        page = context.new_page()
        sign_in(page, live_server)
        go_to_contacts(page, live_server)
        expect(page.locator("#contacts-table tbody tr")).to_have_count(PAGE_SIZE)
        # Without JavaScript the <noscript> submit button is there to press.
        expect(page.locator("form.search").get_by_role("button", name="Search")).to_be_visible()

        search = page.locator("#contact-search")
        search.fill(needle)
        with page.expect_navigation():
            search.press("Enter")

        assert parse_qs(urlsplit(page.url).query)["q"] == [needle]
        expect(page.locator("#contacts-table tbody tr")).to_have_count(len(expected))
        assert contact_names(page) == expected
        expect(search).to_have_value(needle)
        box = page.locator("form.search").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box

        # The list fits the phone without sideways scrolling.
        scroll_width, client_width = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert scroll_width <= client_width, f"the page is {scroll_width}px wide on a {client_width}px screen"


def test_no_console_errors_or_csp_violations(page, live_server, demo_app):
    errors = watch_errors(page)
    page.context.add_init_script(CSP_WATCH)
    needle = search_term(first_contact(demo_app)[0])

    sign_in(page, live_server)
    for path, heading in (("/", "Dashboard"), ("/contacts/", "Contacts"), ("/matters/", "Matters")):
        page.goto(f"{live_server}{path}")
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        page.wait_for_load_state("networkidle")
        # htmx loaded from our own origin and is active (a CSP block would leave it undefined).
        assert page.evaluate("typeof window.htmx") == "object", f"htmx did not load on {path}"
        assert page.evaluate("window.__cspViolations") == [], f"CSP violations on {path}"

    # An htmx swap too: the rows partial must not trip the policy either.
    page.goto(f"{live_server}/contacts/")
    page.locator("#contact-search").fill(needle)
    expect(page.locator("#contacts-table tbody tr")).to_have_count(len(contacts_matching(demo_app, needle)))
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__cspViolations") == []

    assert [describe(e) for e in errors] == []


def test_a_deposit_and_a_payment_update_the_matter_panel_in_place(page, live_server, demo_app):
    """The lawyer records money in and out on a matter; balance and ledger change without a reload."""
    from trustweb.models import LedgerAccount, Matter

    with demo_app.app_context():
        matter = db.session.scalars(
            select(Matter).where(Matter.lawyer.has(email=LAWYER), Matter.status == "open")
        ).first()
        ledger = db.session.scalar(select(LedgerAccount).where(LedgerAccount.matter_id == matter.id))
        before = ledger.balance_cents if ledger else 0
        matter_id = matter.id

    sign_in(page, live_server)
    page.goto(f"{live_server}/matters/{matter_id}")
    page.evaluate("window.__noReload = true")
    panel = page.locator("#trust-panel")

    panel.locator("summary", has_text="Record a deposit").click()
    form = panel.locator("form[hx-post*='/deposit']")
    form.get_by_label("Amount").fill("1,234.56")
    form.get_by_label("Received from").fill("Client by wire")
    form.get_by_label("The bank has cleared these funds").check()
    form.get_by_role("button", name="Record deposit").click()
    expected = format_cents(before + 123_456, "USD")
    expect(page.locator("#trust-balance")).to_have_text(expected)
    expect(page.locator("#trust-available")).to_have_text(expected)
    expect(page.locator("#ledger-table tbody tr").first).to_contain_text("$1,234.56")

    panel = page.locator("#trust-panel")
    panel.locator("summary", has_text="Pay out").click()
    form = panel.locator("form[hx-post*='/disburse']")
    form.get_by_label("Amount").fill("34.56")
    form.get_by_label("Cheque number").fill("777001")
    form.get_by_label("Paid to").fill("County Recorder")
    form.get_by_label("Purpose").fill("Recording fee")
    form.get_by_role("button", name="Pay out").click()
    expect(page.locator("#trust-balance")).to_have_text(format_cents(before + 120_000, "USD"))
    expect(page.locator("#ledger-table tbody tr").first).to_contain_text("Cheque 777001")

    # Too much: the refusal shows in the form, the balance stays.
    panel = page.locator("#trust-panel")
    panel.locator("summary", has_text="Pay out").click()
    form = panel.locator("form[hx-post*='/disburse']")
    form.get_by_label("Amount").fill("999,999")
    form.get_by_label("Cheque number").fill("777002")
    form.get_by_label("Paid to").fill("Someone")
    form.get_by_label("Purpose").fill("Too much")
    form.get_by_role("button", name="Pay out").click()
    expect(page.locator("#trust-panel .flash-error")).to_contain_text("cannot be taken from it")
    expect(page.locator("#trust-balance")).to_have_text(format_cents(before + 120_000, "USD"))
    assert page.evaluate("window.__noReload") is True


def test_a_double_click_on_record_deposit_records_it_once(page, live_server, demo_app):
    from trustweb.models import JournalEntry, Matter

    with demo_app.app_context():
        matter_id = db.session.scalars(select(Matter.id).where(Matter.status == "open")).first()
        entries = db.session.query(JournalEntry).count()
    sign_in(page, live_server)
    page.goto(f"{live_server}/matters/{matter_id}")
    panel = page.locator("#trust-panel")
    panel.locator("summary", has_text="Record a deposit").click()
    form = panel.locator("form[hx-post*='/deposit']")
    form.get_by_label("Amount").fill("50")
    form.get_by_label("Received from").fill("Client")
    form.get_by_role("button", name="Record deposit").dblclick()
    expect(page.locator("#trust-panel .flash-success")).to_contain_text("recorded")
    page.wait_for_load_state("networkidle")
    with demo_app.app_context():
        assert db.session.query(JournalEntry).count() == entries + 1


@pytest.fixture
def cdn_app(database, pg_schema):
    """The demo firm on an app set to load htmx from the CDN, as an install is by default."""
    with built_app(database, pg_schema, HTMX_SOURCE="cdn") as app:
        with app.app_context():
            load_demo()
        yield app


@pytest.mark.parametrize("cdn_up", [False, True], ids=["cdn-unreachable", "cdn-up"])
def test_on_an_intranet_without_the_cdn_htmx_comes_from_our_own_copy(chromium, cdn_app, cdn_up):
    """The CDN cannot be reached: the page loads htmx from static/vendor instead, and searching still swaps
    the rows in place (not a full page load), under the same Content-Security-Policy. When the CDN answers
    (here with the same bytes, as it serves them), our copy is never asked for."""
    needle = search_term(first_contact(cdn_app)[0])
    expected = contacts_matching(cdn_app, needle)
    asked_cdn = []
    pinned = (Path(cdn_app.static_folder) / f"vendor/htmx-{HTMX_VERSION}.min.js").read_bytes()

    def cdn(route):
        asked_cdn.append(route.request.url)
        if not cdn_up:
            route.abort("internetdisconnected")
            return
        cors = {"Access-Control-Allow-Origin": "*"}
        route.fulfill(status=200, body=pinned, content_type="application/javascript", headers=cors)

    with serving(cdn_app) as live_server, browser_context(chromium) as context:
        context.route("https://cdn.jsdelivr.net/**", cdn)
        context.add_init_script(CSP_WATCH)
        page = context.new_page()
        local_copies = []
        page.on("response", lambda r: local_copies.append(r.status) if "/static/vendor/htmx-" in r.url else None)
        sign_in(page, live_server)
        go_to_contacts(page, live_server)
        page.wait_for_load_state("networkidle")
        assert asked_cdn, "the page did not ask the CDN"
        if cdn_up:
            assert local_copies == [], "our copy was loaded although the CDN answered"
        else:
            assert local_copies and set(local_copies) == {200}, "the page did not turn to our own copy"
        assert page.evaluate("typeof window.htmx") == "object", "htmx did not load"
        # htmx initialised itself: it read its settings from the page's htmx-config.
        assert page.evaluate("[htmx.config.allowEval, htmx.config.includeIndicatorStyles]") == [False, False]

        page.evaluate("window.__noReload = true")
        page.locator("#contact-search").press_sequentially(needle, delay=20)
        expect(page.locator("#contacts-table tbody tr")).to_have_count(len(expected))
        assert contact_names(page) == expected
        assert page.evaluate("window.__noReload") is True, "the search reloaded the page instead of swapping the rows"
        assert page.evaluate("window.__cspViolations") == []
