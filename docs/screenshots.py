"""Make the README's pictures in docs/ from the demo firm, as a newcomer sees it after `make run`.

Loads the demo firm into a throwaway SQLite file, serves the app on loopback and, in Chromium (Playwright, as the
browser tests), signs in through the login form (or, for the client, a portal sign-in link) and takes each picture:

    docs/screenshot.png      the dashboard at 1280 px: tiles and the three charts
    docs/trust-requests.png  the Bills tab at 1280 px
    docs/trust-ledger.png    a matter's page at 1280 px: its trust ledger
    docs/request-form.png    a new trust request at 1280 px, the client found by typing part of a name
    docs/audit-trail.png     the audit trail at 1280 px: each event with what it changed
    docs/bills-phone.png     the Bills tab on a 390 px phone
    docs/pay-page.png        the client's pay page on a 390 px phone
    docs/portal.png          the client portal's home on a 390 px phone

    .venv/bin/python docs/screenshots.py [--only NAME ...]

docs/reconciliation.png is not made here: it shows a statement with a deposit in transit and a bank fee, which the
demo firm does not have.
"""

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect  # noqa: E402
from sqlalchemy import select  # noqa: E402

from tests.browser_support import (  # noqa: E402
    PHONE,
    browser_context,
    launched_chromium,
    listener_url,
    loopback_listener,
    serving,
    sign_in,
)
from trustweb import create_app  # noqa: E402
from trustweb.demo import DEMO_PASSWORD, DEMO_USERS, demo_pay_links, demo_portal_link, load_demo  # noqa: E402
from trustweb.extensions import db  # noqa: E402
from trustweb.models import Contact  # noqa: E402

DOCS = ROOT / "docs"
ADMIN = DEMO_USERS[0][0]
LAWYER = DEMO_USERS[1][0]
DESK = {"viewport": {"width": 1280, "height": 860}, "device_scale_factor": 1}


def dashboard(page, base, demo):
    page.goto(f"{base}/")
    expect(page.locator("figure svg").first).to_be_visible()
    page.screenshot(path=DOCS / "screenshot.png", full_page=True)


def bills(page, base, demo):
    page.goto(f"{base}/bills/")
    expect(page.locator("#requests-table tbody tr").first).to_be_visible()
    page.screenshot(path=DOCS / "trust-requests.png")


def matter(page, base, demo):
    page.goto(f"{base}/matters/")
    page.locator("#matters-table tbody tr a").first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.screenshot(path=DOCS / "trust-ledger.png")


def request_form(page, base, demo):
    page.goto(f"{base}/bills/requests/new")
    page.get_by_role("combobox", name="Client").press_sequentially(demo["typed"], delay=60)
    expect(page.get_by_role("listbox").get_by_role("option").first).to_be_visible()
    page.screenshot(path=DOCS / "request-form.png")


def audit_trail(page, base, demo):
    page.goto(f"{base}/audit/")
    expect(page.locator("#audit-table tbody tr").first).to_be_visible()
    page.screenshot(path=DOCS / "audit-trail.png")


def bills_phone(page, base):
    page.goto(f"{base}/bills/")
    rows = page.locator("#requests-table tbody tr")
    expect(rows.first).to_be_visible()
    # From the top (the Menu button) down to the end of the second request's card.
    bottom = rows.nth(1).bounding_box()
    height = bottom["y"] + bottom["height"] + 16
    page.screenshot(
        path=DOCS / "bills-phone.png", full_page=True, clip={"x": 0, "y": 0, "width": 390, "height": height}
    )


def pay_page(page, url):
    page.goto(url)
    expect(page.get_by_label("Card number")).to_be_visible()
    page.screenshot(path=DOCS / "pay-page.png", full_page=True)


def portal(page, link):
    page.goto(link)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
    page.screenshot(path=DOCS / "portal.png")


DESK_PICTURES = {
    "screenshot": dashboard,
    "trust-requests": bills,
    "trust-ledger": matter,
    "request-form": request_form,
    "audit-trail": audit_trail,
}
NAMES = [*DESK_PICTURES, "bills-phone", "pay-page", "portal"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=NAMES, default=NAMES)
    wanted = parser.parse_args().only
    with tempfile.TemporaryDirectory() as folder, loopback_listener() as listener:
        app = create_app({"DATABASE_URI": f"sqlite:///{folder}/demo.sqlite3", "BASE_URL": listener_url(listener)})
        with app.app_context():
            db.create_all()
            load_demo()
            pay_url = demo_pay_links()[0][1]
            portal_link = demo_portal_link()[1]
            # The start of a demo client's surname, as a lawyer types it.
            surname = db.session.scalar(select(Contact.name).where(Contact.kind == "person").order_by(Contact.id))
            demo = {"typed": surname.split()[-1][:3]}
        with launched_chromium() as browser, serving(app, listener) as base:
            with browser_context(browser, **DESK) as desk:
                page = desk.new_page()
                sign_in(page, base, ADMIN, DEMO_PASSWORD)
                for name, take in DESK_PICTURES.items():
                    if name in wanted:
                        take(page, base, demo)
            with browser_context(browser, device_scale_factor=2, **PHONE) as phone:
                page = phone.new_page()
                if "bills-phone" in wanted:
                    sign_in(page, base, LAWYER, DEMO_PASSWORD)
                    bills_phone(page, base)
                if "pay-page" in wanted:
                    pay_page(page, pay_url)
            with browser_context(browser, device_scale_factor=2, **PHONE) as phone:
                if "portal" in wanted:
                    portal(phone.new_page(), portal_link)
        with app.app_context():
            db.engine.dispose()
    for name in wanted:
        print(f"docs/{name}.png")


if __name__ == "__main__":
    main()
