"""What the browser tests share: Chromium through Playwright, the app on a real WSGI server, error watching.

Set TRUSTWEB_REQUIRE_BROWSER=1 to turn a missing Chromium into a failure instead of a skip.
"""

import os
import socket
import threading
import time
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from tests.dates import card_expiry
from tests.factories import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
# Collected in the page itself, so a violation that Chromium does not log is still caught.
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def real_clock():
    """The environment without libfaketime: under a moved clock (CI's shifted-clock run) Chromium never finishes
    loading a page, and only the app's clock matters to the dates it shows."""
    return {key: value for key, value in os.environ.items() if key != "LD_PRELOAD" and not key.startswith("FAKETIME")}


@contextmanager
def launched_chromium():
    """One Chromium, or a skip (a failure under TRUSTWEB_REQUIRE_BROWSER=1) when it is not installed."""
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM}"
        if os.environ.get("TRUSTWEB_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{message}, and TRUSTWEB_REQUIRE_BROWSER=1 requires the browser tests to run")
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, env=real_clock())
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def browser_context(browser, **options):
    """A fresh context (its own cookies, viewport, JavaScript on or off), closed afterwards."""
    context = browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()


def loopback_listener():
    """A listening socket on a free loopback port, so an app can be built knowing its own URL before it is served."""
    return socket.create_server(("127.0.0.1", 0))


def listener_url(listener):
    host, port = listener.getsockname()[:2]
    return f"http://{host}:{port}"


@contextmanager
def serving(app, listener=None):
    """Serve app from a real threaded WSGI server on loopback; yields its base URL."""
    listener = listener or loopback_listener()
    with listener:
        host, port = listener.getsockname()[:2]
        server = make_server(host, port, app, threaded=True, fd=listener.fileno())
        thread = threading.Thread(target=server.serve_forever, name="trustweb-live-server", daemon=True)
        thread.start()
        try:
            yield listener_url(listener)
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)


def watch_errors(page):
    """Console errors and uncaught exceptions of a page (and its later navigations), as a list that fills up."""
    errors = []
    page.on("console", lambda message: errors.append(message) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(error))
    return errors


def describe(error):
    """A console message or uncaught exception as one readable line."""
    location = getattr(error, "location", None)
    if location is None:
        return f"uncaught: {error}"
    return f"{error.text} ({location.get('url')}:{location.get('lineNumber')})"


def csp_violations(page):
    """The violations CSP_WATCH saw on the current page (it must be an init script of the context)."""
    return page.evaluate("window.__cspViolations")


class Watched:
    """A page whose console errors, uncaught exceptions and CSP violations are collected."""

    def __init__(self, context):
        context.add_init_script(CSP_WATCH)
        self.page = context.new_page()
        self.errors = watch_errors(self.page)
        self.violations = []

    def note_csp(self):
        """Keep the current page's CSP violations (call before leaving it)."""
        seen = csp_violations(self.page)
        assert isinstance(seen, list), f"the CSP watch did not run on {self.page.url}"
        self.violations += [f"{self.page.url}: {v}" for v in seen]

    def assert_clean(self, expected=()):
        """No CSP violation, and no console error or uncaught exception but those containing an expected text
        (Chromium logs every 4xx answer, such as a page that says "not found" on purpose)."""
        self.note_csp()
        logged = [describe(e) for e in self.errors]
        assert [line for line in logged if not any(text in line for text in expected)] == []
        assert self.violations == []


def wait_for_email(mailbox, address, count=1, seconds=5):
    """The messages to an address, once at least count have arrived (the worker delivers within seconds)."""
    deadline = time.monotonic() + seconds
    while len(mailbox.to(address)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    messages = mailbox.to(address)
    assert len(messages) >= count, f"{len(messages)} emails to {address}, expected {count}"
    return messages


# axe-core (tests/vendor/README.md): the accessibility rules a page is checked against.
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
# Only the violations: the passes and the "incomplete" (needs a person to look) are long and not asserted on.
AXE_RUN = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.map(v => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map(n => ({
      target: n.target.join(" "),
      why: [...n.any, ...n.all, ...n.none].map(check => check.message).filter(Boolean).join("; "),
    })),
  }));
}"""


@cache
def axe_source():
    return AXE.read_text(encoding="utf-8")


def axe_violations(page, impacts=("serious", "critical")):
    """The accessibility violations axe-core finds on the page as it is now, of these impacts, one readable line
    per element: "url: rule (impact): what it asks, at selector: why".

    The page's Content-Security-Policy forbids inline scripts, so axe is not added as a <script> (Playwright's
    add_script_tag would be refused, and log a CSP error): page.evaluate() runs it through the DevTools
    protocol, which the policy does not cover. It needs a context with JavaScript on: axe waits on timers, and
    a page with JavaScript off never runs them (the run would hang).
    """
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    found = []
    for violation in page.evaluate(AXE_RUN):
        if violation["impact"] not in impacts:
            continue
        rule = f"{violation['id']} ({violation['impact']}): {violation['help']}"
        found += [f"{page.url}: {rule}, at {node['target']}: {node['why']}" for node in violation["nodes"]]
    return found


def assert_accessible(page, impacts=("serious", "critical")):
    """No axe-core violation of these impacts on the page; the message lists each one found."""
    found = axe_violations(page, impacts)
    assert found == [], "\n".join(found)


GOOD_CARD = "4242 4242 4242 4242"


def sign_in(page, base_url, email, password=None):
    """Sign in through the login form, as a person does, and land on the dashboard."""
    page.goto(f"{base_url}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password or PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base_url}/")


def assert_fits_phone(page):
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 390, f"{page.url} is {scroll_width}px wide on a 390px phone"


def assert_no_script(page):
    """The client's pages load no script at all."""
    assert page.locator("script").count() == 0, f"{page.url} has a script"


def pay_by_card(page, card, amount=None, name="Ada Archer", email=None):
    """Fill the card form on the pay page and press Pay."""
    if amount is not None:
        page.get_by_label("Amount to pay").fill(amount)
    page.get_by_label("Name on card").fill(name)
    page.get_by_label("Card number").press_sequentially(card)
    page.get_by_label("Expiry (MM/YY)").fill(card_expiry())
    page.get_by_label("Security code (CVC)").fill("123")
    if email:
        page.get_by_label("Email for your receipt").fill(email)
    page.locator("form").get_by_role("button", name="Pay").click()
