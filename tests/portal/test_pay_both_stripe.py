"""One checkout for a bill and a top-up through Stripe, against the stand-in driven by the real `stripe` library.

The operating account and the trust account each take card payments through a Stripe account of their own (the
firm keeps earned fees and client money apart at Stripe too), so the combined checkout is two Checkout Sessions,
one per account's keys, shown to the client as step 1 of 2 and step 2 of 2, and each settled through the pay link's
settle path exactly once, whether the client's return or Stripe's webhook comes first.
"""

import re

import pytest
from sqlalchemy import func, select

from tests.conftest import built_app
from tests.portal.steps import ADA, gen_portal_firm, signed_in_client
from tests.portal.test_pay_both import INVOICE_CENTS, TRUST_CENTS, hidden, kinds_moved, numbers, text
from tests.stripe_standin import TEST_API_KEY, WEBHOOK_SECRET, deliver
from trustweb.extensions import db
from trustweb.ledger.rules import LedgerKind
from trustweb.models import AuditEvent, BankAccount, Invoice, Payment, TrustRequest
from trustweb.services.books import check_books, shortfalls

OPERATING_KEY = "sk_test_standin_operating_0000000000000"
OPERATING_SECRET = "whsec_standin_operating_secret"


@pytest.fixture
def app(database, pg_schema, mailbox, standin):
    keys = {
        "trust": {"secret_key": TEST_API_KEY, "webhook_secret": WEBHOOK_SECRET},
        "operating": {"secret_key": OPERATING_KEY, "webhook_secret": OPERATING_SECRET},
    }
    config = {"STRIPE_API_BASE": standin.url, "STRIPE_KEYS": keys}
    with (
        built_app(database, pg_schema, BASE_URL="http://localhost", **mailbox.config(), **config) as app,
        mailbox.serve(app),
    ):
        yield app


@pytest.fixture
def firm(app):
    with app.app_context():
        firm = gen_portal_firm()
        for account in db.session.scalars(select(BankAccount)):
            account.processor = "stripe"
        db.session.commit()
    return firm


@pytest.fixture
def ada(app, firm, mailbox):
    return signed_in_client(app, mailbox, firm, firm.client_a, ADA)


def local(url):
    return url.removeprefix("http://localhost")


def session_of(response):
    assert response.status_code == 303, text(response)
    return re.search(r"/pay/(cs_test_\w+)", response.headers["Location"]).group(1)


def step_form(html):
    return {name: hidden(html, name) for name in ("csrf_token", "checkout", "invoice_amount", "trust_amount")}


def start(ada, firm):
    """Client A opens Pay both and presses Continue: sent to Stripe's page for step 1; (session id, checkout key)."""
    page = ada.get(f"/portal/pay-both/{firm.invoice_a}/{firm.request_a}")
    html = text(page)
    assert "Continue to secure payment: step 1 of 2" in html and 'name="number"' not in html  # no card form of ours
    form = step_form(html)
    response = ada.post(f"/portal/pay-both/{firm.invoice_a}/{firm.request_a}", data={**form, "email": ""})
    return session_of(response), form["checkout"]


def succeeded():
    return db.session.scalars(select(Payment).where(Payment.status == "succeeded", Payment.processor == "stripe")).all()


def test_two_stripe_steps_shown_as_one_each_session_on_its_accounts_keys(app, firm, ada, standin, client):
    with app.app_context():
        invoice, request = numbers(firm)
    first, checkout = start(ada, firm)
    [created] = standin.calls("POST", "/v1/checkout/sessions")
    assert created.header("Authorization") == f"Bearer {OPERATING_KEY}"  # the invoice: operating's Stripe account
    assert created.params["line_items"][0]["price_data"]["unit_amount"] == str(INVOICE_CENTS)
    assert created.idempotency_key == f"checkout-{checkout}:invoice"

    # Step 1 paid on Stripe's page; back on our page: the invoice is paid, step 2 is offered.
    standin.complete(first)
    summary = ada.get(local(standin.success_redirect_url(first)))
    assert summary.status_code == 303
    page = text(ada.get(summary.headers["Location"]))
    assert "One of your two payments received" in page and "Step 2 of 2" in page
    with app.app_context():
        [paid_invoice] = succeeded()
        assert f"Paid $600.00 on {invoice} (receipt {paid_invoice.receipt_number})." in page
    assert f'Trust request <span class="nowrap">{request}</span>' in page

    # Step 2: the trust deposit through the trust account's own keys.
    second = session_of(
        ada.post(f"/portal/pay-both/{firm.invoice_a}/{firm.request_a}/{checkout}/next", data=step_form(page))
    )
    [_, created] = standin.calls("POST", "/v1/checkout/sessions")
    assert created.header("Authorization") == f"Bearer {TEST_API_KEY}"
    assert created.params["line_items"][0]["price_data"]["unit_amount"] == str(TRUST_CENTS)
    standin.complete(second)
    # The webhook comes first this time, twice; then the client comes back: booked once.
    for _ in range(2):
        assert deliver(client, standin, standin.checkout_session_completed(second)).status_code == 200
    assert deliver(client, standin, standin.checkout_session_completed(first), secret=OPERATING_SECRET).status_code == (
        200
    )
    back = ada.get(local(standin.success_redirect_url(second)))
    page = text(ada.get(back.headers["Location"]))
    assert "Thank you: both payments received" in page and "Step 2 of 2" not in page
    with app.app_context():
        paid_invoice, paid_trust = sorted(succeeded(), key=lambda p: p.id)
        assert f"Paid $850.00 on {request} (receipt {paid_trust.receipt_number})." in page
        assert (paid_invoice.invoice_id, paid_trust.trust_request_id) == (firm.invoice_a, firm.request_a)
        assert kinds_moved(paid_invoice.journal_entry_id)[1] == "operating"
        moved, account_kind = kinds_moved(paid_trust.journal_entry_id)
        assert account_kind == "trust" and moved[LedgerKind.CLIENT] == -TRUST_CENTS
        assert db.session.get(Invoice, firm.invoice_a).status == "paid"
        assert db.session.get(TrustRequest, firm.request_a).status == "paid"
        named = set(shortfalls())  # Stripe kept its fee from the trust payout: owed by the firm, and named
        assert [problem for problem in check_books() if problem not in named] == []


def test_the_client_abandons_step_2_and_is_told_what_was_paid(app, firm, ada, standin):
    with app.app_context():
        invoice, request = numbers(firm)
    first, checkout = start(ada, firm)
    standin.complete(first)
    ada.get(local(standin.success_redirect_url(first)))
    summary_url = f"/portal/pay-both/{firm.invoice_a}/{firm.request_a}/{checkout}"
    second = session_of(ada.post(f"{summary_url}/next", data=step_form(text(ada.get(summary_url)))))
    # On Stripe's page of step 2 the client presses Back: the session's cancel address is the summary.
    assert local(standin.session(second)["cancel_url"]) == summary_url
    page = re.sub(r"\s+", " ", text(ada.get(summary_url)))
    with app.app_context():
        [paid_invoice] = succeeded()
        assert f"Paid $600.00 on {invoice} (receipt {paid_invoice.receipt_number})." in page
        assert f"The trust deposit of $850.00 on {request} is not finished: nothing has been taken for it." in page
        assert db.session.get(TrustRequest, firm.request_a).paid_cents == 15_000  # the cheque only
    # The portal: the invoice paid and its receipt among the documents; the request still to pay.
    home = text(ada.get("/portal/"))
    assert request in home.split('id="in-trust"')[0] and invoice not in home.split('id="in-trust"')[0]
    assert paid_invoice.receipt_number in text(ada.get("/portal/documents"))
    # Continuing later goes back to the same step-2 session, not a second one.
    again = session_of(ada.post(f"{summary_url}/next", data=step_form(page)))
    assert again == second and len(standin.calls("POST", "/v1/checkout/sessions")) == 2


def test_a_return_for_another_checkout_settles_nothing(app, firm, ada, standin):
    """The return address settles only a session of its own checkout, for the signed-in client's own items."""
    first, checkout = start(ada, firm)
    standin.complete(first)
    other = "k" * 32
    response = ada.get(f"/portal/pay-both/{firm.invoice_a}/{firm.request_a}/{other}/return?session_id={first}")
    assert response.status_code == 303
    with app.app_context():
        assert succeeded() == []


def test_step_1_paid_by_bank_goes_on_to_step_2_and_is_recorded_once(app, firm, ada, standin, client):
    with app.app_context():
        invoice, request = numbers(firm)
    first, checkout = start(ada, firm)
    standin.complete(first, method="us_bank_account")  # the invoice paid from a US bank account: days to clear
    for _ in range(3):  # back from Stripe's page, then the page reloaded twice
        back = ada.get(local(standin.success_redirect_url(first)))
        assert back.status_code == 303
    page = re.sub(r"\s+", " ", text(ada.get(back.headers["Location"])))
    assert f"Your bank payment of $600.00 on {invoice} is on its way." in page
    assert "Thank you: your payment is on its way" in page and "Nothing has been paid" not in page
    assert "Step 2 of 2" in page and "step 1 of 2" not in page
    with app.app_context():
        pending = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "payment.pending")
        assert db.session.scalar(pending) == 1
    # Step 2: the trust deposit on the trust account's own keys, paid by card.
    summary = back.headers["Location"]
    second = session_of(ada.post(f"{summary}/next", data=step_form(page)))
    [_, created] = standin.calls("POST", "/v1/checkout/sessions")
    assert created.header("Authorization") == f"Bearer {TEST_API_KEY}"
    assert created.params["line_items"][0]["price_data"]["unit_amount"] == str(TRUST_CENTS)
    standin.complete(second)
    page = re.sub(r"\s+", " ", text(ada.get(ada.get(local(standin.success_redirect_url(second))).headers["Location"])))
    assert "One of your two payments received" in page and f"on {invoice} is on its way" in page
    assert f"Paid $850.00 on {request}" in page and "Step" not in page
    # The bank confirms step 1: booked by the webhook.
    standin.settle_ach(first)
    event = standin.checkout_session_async_payment_succeeded(first)
    assert deliver(client, standin, event, secret=OPERATING_SECRET).status_code == 200
    assert "Thank you: both payments received" in text(ada.get(summary))


def test_a_return_stripe_could_not_confirm_says_on_its_way_not_nothing_taken(app, firm, ada, standin, client):
    with app.app_context():
        invoice, _ = numbers(firm)
    first, checkout = start(ada, firm)
    standin.complete(first)
    standin.fail_next(f"/v1/checkout/sessions/{first}", method="GET", status=503)  # Stripe unreachable on return
    back = ada.get(local(standin.success_redirect_url(first)))
    page = re.sub(r"\s+", " ", text(ada.get(back.headers["Location"])))
    assert f"Your invoice payment of $600.00 on {invoice} is on its way." in page
    assert "we will email your receipt as soon as it is confirmed" in page
    assert "nothing has been taken" not in page.lower() and "Nothing has been paid" not in page
    assert "Continue to secure payment" not in page  # not sent back to the session just paid
    # The webhook books it; the same summary then offers step 2.
    assert deliver(client, standin, standin.checkout_session_completed(first), secret=OPERATING_SECRET).json
    page = text(ada.get(back.headers["Location"]))
    assert "One of your two payments received" in page and "Step 2 of 2" in page
