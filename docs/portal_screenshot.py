"""Make docs/portal.png: the client portal's home on a 390-pixel phone, for the README.

Loads the demo firm into a throwaway SQLite file (its client with the open trust request, the open invoice and
money held in trust has portal access), serves the app on loopback, and in Chromium (Playwright, as the browser
tests) opens a sign-in link made for that client, presses Sign in and takes the screenshot at twice the phone's
pixels.

    .venv/bin/python docs/portal_screenshot.py [--out docs/portal.png]
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
)
from trustweb import create_app  # noqa: E402
from trustweb.demo import demo_portal_link, load_demo  # noqa: E402
from trustweb.extensions import db  # noqa: E402


def invited_demo_client(app):
    """The demo's client with portal access: (their name, a one-time sign-in link)."""
    with app.app_context():
        db.create_all()
        load_demo()
        contact, link = demo_portal_link()
        return contact.name, link


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "portal.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, loopback_listener() as listener:
        # The test configuration: htmx from static/, nothing sent by email (the invitation waits in the outbox).
        app = create_app({"DATABASE_URI": f"sqlite:///{folder}/demo.sqlite3", "BASE_URL": listener_url(listener)})
        name, link = invited_demo_client(app)
        with (
            launched_chromium() as browser,
            serving(app, listener),
            browser_context(browser, device_scale_factor=2, **PHONE) as phone,
        ):
            page = phone.new_page()
            page.goto(link)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {name}")
            page.screenshot(path=args.out)
        with app.app_context():
            db.engine.dispose()
    print(f"{args.out}: the portal's home for {name}")


if __name__ == "__main__":
    main()
