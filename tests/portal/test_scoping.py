"""Every portal address is the signed-in client's own: client A trying client B's ids (requests, invoices, ledgers,
receipts, their PDFs and CSVs) gets the same 404 as for an id that does not exist, and nothing is made for B.

The addresses come from the app's own URL map, so a portal route added later is tried here without editing this file.
"""

import re

import pytest
from sqlalchemy import func, select

from tests.conftest import post
from tests.portal.steps import ADA, signed_in_client
from trustweb import create_app
from trustweb.extensions import db
from trustweb.models import AuditEvent, LedgerAccount, PayLink, SavedMethod
from trustweb.views import MAX_ID

_APP = create_app({"DATABASE_URI": "sqlite://"})
CLIENT_RULES = [
    rule for rule in _APP.url_map.iter_rules() if getattr(_APP.view_functions[rule.endpoint], "client", False)
]
PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
# A combined checkout's key (portal/pay_both.py): not a row of anyone's; the invoice and request beside it are.
CHECKOUT_KEY = "k" * 32


def ledger_of(contact_id, matter_id):
    return db.session.scalar(
        select(LedgerAccount.id).where(LedgerAccount.contact_id == contact_id, LedgerAccount.matter_id == matter_id)
    )


def ids_of_client_b(firm):
    """What each id in a portal address names, for client B (never client A's)."""
    return {
        "request_id": firm.request_b,
        "invoice_id": firm.invoice_b,
        "ledger_id": ledger_of(firm.client_b, firm.matter_b1),
        "payment_id": firm.payment_b,
        "checkout": CHECKOUT_KEY,
        "method_id": firm.method_b,
    }


def ids_of_client_a(firm):
    """Client A's own: the same addresses answer."""
    return {
        "request_id": firm.request_a,
        "invoice_id": firm.invoice_a,
        "ledger_id": ledger_of(firm.client_a, firm.matter_a1),
        "payment_id": firm.payment_a,
        "checkout": CHECKOUT_KEY,
        "method_id": firm.method_a,
    }


def addresses(ids):
    """(method, url) of every portal address that names an id, with the given ids filled in."""
    for rule in CLIENT_RULES:
        names = PARAM.findall(rule.rule)
        if not names:
            continue
        missing = set(names) - set(ids)
        assert not missing, f"{rule.rule}: say in this test which of client B's rows {missing} names"
        url = PARAM.sub(lambda match: str(ids[match.group(1)]), rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, url


def fetch(browser, method, url):
    return browser.get(url) if method == "GET" else post(browser, url)


def test_every_portal_address_names_something_and_the_list_is_not_empty():
    assert len([rule for rule in CLIENT_RULES if PARAM.search(rule.rule)]) >= 7


def test_client_a_gets_404_for_each_of_client_bs_rows(app, firm, mailbox):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    with app.app_context():
        theirs = list(addresses(ids_of_client_b(firm)))
        links_before = db.session.scalar(select(func.count(PayLink.id)))
    assert theirs
    for method, url in theirs:
        response = fetch(browser, method, url)
        assert response.status_code == 404, (method, url, response.status_code)
        assert "Ben Baker" not in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(PayLink.id))) == links_before
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "portal.viewed")) == 0
        assert db.session.get(SavedMethod, firm.method_b).removed_at is None


def test_the_same_addresses_with_client_as_own_ids_answer(app, firm, mailbox):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    with app.app_context():
        own = list(addresses(ids_of_client_a(firm)))
    for method, url in own:
        response = fetch(browser, method, url)
        # 422: a form posted empty (Pay both's) answers with its page again, saying what is missing.
        assert response.status_code in (200, 303, 422), (method, url, response.status_code)


@pytest.mark.parametrize("ident", [0, MAX_ID, 999_999])
def test_ids_that_do_not_exist_are_404(app, firm, mailbox, ident):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    names = ("request_id", "invoice_id", "ledger_id", "payment_id", "method_id")
    ids = {**dict.fromkeys(names, ident), "checkout": CHECKOUT_KEY}
    for method, url in addresses(ids):
        assert fetch(browser, method, url).status_code == 404, (method, url)


def test_a_draft_request_not_yet_sent_is_not_the_clients_to_see(app, firm, mailbox):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    with app.app_context():
        own = list(addresses({**ids_of_client_a(firm), "request_id": firm.draft_a}))
    for method, url in own:
        if "/requests/" in url:
            assert fetch(browser, method, url).status_code == 404, (method, url)


def test_staff_signed_in_are_not_clients(app, firm, admin, client):
    with app.app_context():
        ids = ids_of_client_a(firm)
    for rule in CLIENT_RULES:
        url = PARAM.sub(lambda match: str(ids[match.group(1)]), rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = fetch(client, method, url)
            assert response.status_code == 302 and "/portal/sign-in" in response.headers["Location"], (method, url)


def test_a_portal_address_that_does_not_exist_answers_in_the_portals_own_layout(app, firm, mailbox):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    response = browser.get("/portal/nothing-here")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and "Back to your portal" in html and "/static/js/app.js" not in html
