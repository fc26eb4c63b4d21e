"""Every page a person can open, in Chromium at 1280 and at 390 pixels: axe-core finds no serious or critical
problem, the page loads without a console error or a CSP violation, and on a phone it is no wider than the phone.

The pages are the app's own GET routes, read from its URL map: a new page is visited here without anyone adding it,
and a route that is not a page (a PDF, a CSV, a redirect) must be named in NOT_PAGES with the reason. The data is
the demo firm's (`trustweb demo`), in a throwaway SQLite file, so every list, ledger and chart has something in it;
staff pages are seen by the demo's administrator, the client's pages by the demo client signed in to the portal.
"""

import re
import tempfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.browser_support import (
    PHONE,
    Watched,
    axe_violations,
    browser_context,
    describe,
    listener_url,
    loopback_listener,
    serving,
)
from trustweb import create_app
from trustweb.demo import DEMO_PASSWORD, DEMO_USERS, demo_pay_links, demo_portal_link, load_demo
from trustweb.extensions import db
from trustweb.models.requests import OUTSTANDING
from trustweb.services.trust import firm_today

# Routes that answer GET but are no page to look at, each with the reason.
NOT_PAGES = {
    "static": "files, not pages",
    "main.login": "redirects to auth.login",
    "bills.invoice_pdf": "a PDF",
    "bills.request_pdf": "a PDF",
    "bills.receipt_pdf": "a PDF",
    "pay.receipt_pdf": "a PDF",
    "portal.invoice_pdf": "a PDF",
    "portal.receipt_pdf": "a PDF",
    "portal.request_pdf": "a PDF",
    "portal.statement_pdf": "a PDF",
    "portal.logo": "an image",
    "reports.books_csv": "a CSV download",
    "trust.register_csv": "a CSV download (tests/trust/test_register.py)",
    "audit.export": "a CSV download",
    "reports.books_beancount": "a text download",
    "outbox.html": "an email's own HTML, shown inside the outbox page's sandboxed frame",
    "pay.returned": "the processor's return address: settles and redirects",
    "pay.desk_return": "the processor's return address: settles and redirects",
    "methods.returned": "the processor's return address: settles and redirects",
    "portal.method_returned": "the processor's return address: settles and redirects",
    "portal.pay_both_return": "the processor's return address: settles and redirects",
    "portal.confirm": "a one-time sign-in link: used by the portal session below",
    "auth.accept": "a one-time invitation link (tests/auth)",
    "bills.desk_checkout": "only for a payment taken through Stripe at the desk (tests/payments)",
    "pay.receipt": "needs a payment made through that link (tests/pay)",
    "methods.saved": "shown once a method is saved from the link (tests/methods)",
    "portal.pay_both_summary": "needs a Pay-both checkout (tests/portal/test_pay_both*.py)",
    "notices.show": "a one-time notice link (tests/plans)",
    "trust.matter_numbers": "an htmx fragment of matter numbers, not a page",
    "bills.search_clients": "an htmx fragment: the request form's client options (tests/requests/test_form*.py)",
}
# Pages that need a query string to say what they are for: the URL arguments they take there.
QUERY_ARGUMENTS = {"bills.choose_payable": ("matter_id",), "plans.create": ("contact_id",)}
# Pages a signed-in client sees; everything else is a staff page.
CLIENT_PAGES = ("portal.", "pay.", "methods.")
WIDTHS = {"desktop": {"viewport": {"width": 1280, "height": 900}}, "phone": PHONE}


class DemoSite:
    """The demo firm served on loopback, and the address of each page to visit, by endpoint."""

    def __init__(self, folder, listener):
        self.base = listener_url(listener)
        self.app = create_app({"DATABASE_URI": f"sqlite:///{folder}/demo.sqlite3", "BASE_URL": self.base})
        with self.app.app_context():
            db.create_all()
            load_demo()
            self._add_a_plan_and_a_signed_month()
            self.pay_links = [url for _, url in demo_pay_links()]
            self.urls = self._page_urls()

    def portal_link(self):
        """A fresh one-time sign-in link for the demo client (each is used once)."""
        with self.app.app_context():
            return demo_portal_link()[1]

    def _add_a_plan_and_a_signed_month(self):
        """What the demo lacks: the portal client's card and a plan on their open request, and a trust statement
        imported and signed off (with the difference explained)."""
        from trustweb.models import BankAccount, PortalAccess, TrustRequest, User
        from trustweb.payments.base import CardDetails
        from trustweb.services import method_setup, plans, reconciliation, statements

        admin = db.session.scalar(select(User).where(User.email == DEMO_USERS[0][0]))
        client = db.session.scalar(select(PortalAccess).order_by(PortalAccess.id).limit(1)).contact
        today = firm_today()
        card = CardDetails(number="4242424242424242", exp_month=12, exp_year=today.year + 3, cvc="123", name="A Client")
        method = method_setup.save_card(client, card, consent_ip="203.0.113.9", actor="client")
        owed = db.session.scalar(
            select(TrustRequest).where(TrustRequest.contact_id == client.id, TrustRequest.status.in_(OUTSTANDING))
        )
        plans.create(
            client,
            method,
            plans.Target(request=owed),
            amount_cents=10_000,
            frequency="monthly",
            start_on=today + timedelta(days=7),
            ends="paid",
            payments_total=None,
            user=admin,
        )
        account = db.session.scalar(select(BankAccount).where(BankAccount.kind == "trust"))
        day = today - timedelta(days=1)
        csv = f"Date,Description,Amount\n{day:%m/%d/%Y},DEPOSIT,100.00\n".encode()
        mapping = {"date": "Date", "description": "Description", "amount": "Amount", "date_format": "%m/%d/%Y"}
        statement, _ = statements.import_statement(
            account,
            source="csv",
            filename="demo.csv",
            data=csv,
            user=admin,
            mapping=mapping,
            ending_balance_cents=10_000,
        )
        reconciliation.sign(statement, "A demo statement: its one deposit stands for the month.", admin)

    def _page_urls(self):
        values = self._argument_values()
        urls, missing = {}, []
        for rule in self.app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint in NOT_PAGES:
                continue
            arguments = {name: _value(values, rule, name) for name in rule.arguments - set(rule.defaults or ())}
            if any(value is None for value in arguments.values()):
                missing.append(f"{rule.rule} ({rule.endpoint})")
                continue
            path = rule.build(arguments, append_unknown=False)[1]
            query = "&".join(f"{name}={values[name]}" for name in QUERY_ARGUMENTS.get(rule.endpoint, ()))
            path += f"?{query}" if query else ""
            urls[f"{rule.endpoint} {rule.rule}"] = path
        assert missing == [], (
            "no demo object to open these pages with; add one or name them in NOT_PAGES: " + ", ".join(missing)
        )
        return urls

    def _argument_values(self):
        """A demo object's id for each URL argument name (and per endpoint where one name means several things)."""
        from trustweb.models import (
            AuditEvent,
            BankAccount,
            BankStatement,
            Contact,
            EmailTemplate,
            Invoice,
            JournalEntry,
            Matter,
            OutboxMessage,
            Payment,
            PaymentPlan,
            PortalAccess,
            Reconciliation,
            TrustRequest,
            User,
        )
        from trustweb.services import method_setup

        def first(column, *where):
            return db.session.scalar(select(column).where(*where).order_by(column).limit(1))

        client = first(PortalAccess.contact_id)
        trust = first(BankAccount.id, BankAccount.kind == "trust")
        admin = db.session.scalar(select(User).where(User.email == DEMO_USERS[0][0]))
        method_link = method_setup.request_method(db.session.get(Contact, client), admin)
        db.session.commit()
        values = {
            "invoice_id": first(Invoice.id),
            "payment_id": first(Payment.id),
            "request_id": first(TrustRequest.id),
            "contact_id": client,
            "matter_id": first(Matter.id, Matter.client_id == client),
            "message_id": first(OutboxMessage.id),
            "plan_id": first(PaymentPlan.id),
            "reconciliation_id": first(Reconciliation.id),
            "statement_id": first(BankStatement.id),
            "account_id": trust,
            "template_id": first(EmailTemplate.id),
            "user_id": first(User.id, User.role == "lawyer"),
            "entry_id": first(JournalEntry.id),
            "event_id": first(AuditEvent.id, AuditEvent.before.is_not(None)),
            "token": method_link.rsplit("/", 1)[1],
            "number": None,
            "checkout": None,
            ("pay.show", "token"): self.pay_links[0].rsplit("/", 1)[1],
            ("portal.statement", "ledger_id"): None,
            ("portal.top_up", "ledger_id"): None,
            ("portal.pay_both", "invoice_id"): first(Invoice.id, Invoice.contact_id == client),
            ("portal.pay_both", "request_id"): first(TrustRequest.id, TrustRequest.contact_id == client),
        }
        values.update(self._ledger_values(client, trust))
        return values

    def _ledger_values(self, client, trust):
        from trustweb.models import LedgerAccount

        ledger = db.session.scalar(
            select(LedgerAccount.id)
            .where(LedgerAccount.contact_id == client, LedgerAccount.matter_id.is_not(None))
            .order_by(LedgerAccount.id)
            .limit(1)
        )
        matter = db.session.scalar(select(LedgerAccount.matter_id).where(LedgerAccount.id == ledger))
        return {
            ("portal.statement", "ledger_id"): ledger,
            ("portal.top_up", "ledger_id"): ledger,
            # One endpoint, three rules: the firm's ledger of an account, a client's and a matter's.
            ("/trust/accounts/<int:ident>/firm", "ident"): trust,
            ("/trust/clients/<int:ident>", "ident"): client,
            ("/trust/matters/<int:ident>", "ident"): matter,
        }


def _value(values, rule, name):
    """The argument's value for this rule, else for its endpoint, else for any rule."""
    for key in ((rule.rule, name), (rule.endpoint, name), name):
        if key in values:
            return values[key]
    return None


@pytest.fixture(scope="module")
def demo_site():
    with tempfile.TemporaryDirectory() as folder, loopback_listener() as listener:
        site = DemoSite(folder, listener)
        with serving(site.app, listener):
            yield site


def sign_in_staff(page, base):
    page.goto(f"{base}/auth/login")
    page.get_by_label("Email").fill(DEMO_USERS[0][0])
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def sign_in_client(page, link):
    page.goto(link)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/portal/$"))


def test_every_get_route_is_a_page_or_named_as_not_one(demo_site):
    endpoints = {rule.endpoint for rule in demo_site.app.url_map.iter_rules() if "GET" in rule.methods}
    assert set(NOT_PAGES) <= endpoints, f"NOT_PAGES names routes that are gone: {set(NOT_PAGES) - endpoints}"
    visited = {name.split(" ")[0] for name in demo_site.urls}
    assert endpoints - set(NOT_PAGES) == visited


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_is_accessible_and_fits(chromium, demo_site, width):
    problems = []
    for audience in ("staff", "client"):
        with browser_context(chromium, **WIDTHS[width]) as context:
            watched = Watched(context)
            page = watched.page
            if audience == "staff":
                sign_in_staff(page, demo_site.base)
            else:
                sign_in_client(page, demo_site.portal_link())
            for name, path in sorted(demo_site.urls.items()):
                if name.startswith(CLIENT_PAGES) != (audience == "client"):
                    continue
                response = page.goto(demo_site.base + path)
                if response is None or response.status >= 400:
                    problems.append(f"{path}: answered {response.status if response else 'nothing'}")
                    continue
                problems += axe_violations(page)
                if width == "phone":
                    scroll_width = page.evaluate("document.documentElement.scrollWidth")
                    if scroll_width > 390:
                        problems.append(f"{path}: {scroll_width}px wide on a 390px phone")
                watched.note_csp()
            problems += [f"console ({audience}): {describe(error)}" for error in watched.errors]
            problems += watched.violations
    assert problems == [], "\n".join(problems)
