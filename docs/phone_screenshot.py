"""Make docs/bills-phone.png: the Bills tab on a 390-pixel phone (each trust request a card), for the README.

Loads the demo firm into a throwaway SQLite file, serves the app on loopback, and in Chromium (Playwright, as the
browser tests) signs in as the demo lawyer through the login form and takes the screenshot at twice the phone's
pixels.

    .venv/bin/python docs/phone_screenshot.py [--out docs/bills-phone.png]
"""

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect  # noqa: E402

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
from trustweb.demo import DEMO_PASSWORD, load_demo  # noqa: E402
from trustweb.extensions import db  # noqa: E402

LAWYER = "ehartwell@hartwell-law.example.com"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "bills-phone.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, loopback_listener() as listener:
        app = create_app({"DATABASE_URI": f"sqlite:///{folder}/demo.sqlite3", "BASE_URL": listener_url(listener)})
        with app.app_context():
            db.create_all()
            load_demo()
        with (
            launched_chromium() as browser,
            serving(app, listener) as base_url,
            browser_context(browser, device_scale_factor=2, **PHONE) as phone,
        ):
            page = phone.new_page()
            sign_in(page, base_url, LAWYER, DEMO_PASSWORD)
            page.goto(f"{base_url}/bills/")
            expect(page.locator("#requests-table tbody tr").first).to_be_visible()
            # From the top (the Menu button) down to the end of the second request's card.
            bottom = page.locator("#requests-table tbody tr").nth(1).bounding_box()
            height = bottom["y"] + bottom["height"] + 16
            page.screenshot(path=args.out, full_page=True, clip={"x": 0, "y": 0, "width": 390, "height": height})
        with app.app_context():
            db.engine.dispose()
    print(f"{args.out}: the Bills tab on a phone")


if __name__ == "__main__":
    main()
