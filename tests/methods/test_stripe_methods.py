"""Saved methods through Stripe, against the stand-in driven by the real library: a client saves a card on a
setup-mode Checkout Session (recorded once, by the return or the webhook), it is charged off session (paid with
Stripe's fee, declined, or wanting the cardholder), a bank account's charge is booked when its webhook comes, and
removing a method detaches it at Stripe."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.conftest import post
from tests.requests.steps import (
    count,
    deposits,
    gen_firm,
    gen_request,
    gen_sent_request,
    held_for,
    pay_form,
    payments,
    send,
    text,
)
from tests.stripe_standin import ach_fee, card_fee, deliver
from trustweb.extensions import db
from trustweb.models import (
    AuditEvent,
    BankAccount,
    Contact,
    MethodLink,
    ProcessorEvent,
    SavedMethod,
    TrustRequest,
    User,
)
from trustweb.models.base import utcnow
from trustweb.payments import AuthenticationRequired, Declined
from trustweb.services import method_setup, saved_methods
from trustweb.services.trust import firm_today

METHOD_LINK = re.compile(r"http://localhost(/methods/[A-Za-z0-9_-]+)")
SESSION = re.compile(r"/pay/(cs_test_\w+)")


@pytest.fixture
def app(stripe_app):
    return stripe_app


@pytest.fixture
def firm(app, client, auth):
    """The firm's default trust account on Stripe; client A has an email; the lawyer is signed in."""
    with app.app_context():
        setup = gen_firm()
        account = db.session.get(BankAccount, setup.account)
        account.processor, account.is_default = "stripe", True
        db.session.get(Contact, setup.client_a).email = "ada@example.com"
        db.session.commit()
        lawyer = db.session.get(User, setup.lawyer)
        db.session.expunge(lawyer)
    auth.login_as(lawyer)
    return setup


def emailed_link(client, mailbox, firm):
    response = post(client, f"/contacts/{firm.client_a}/methods/request")
    assert response.status_code == 303
    [message] = [m for m in mailbox.to("ada@example.com") if "/methods/" in mailbox.text(m)]
    return METHOD_LINK.search(mailbox.text(message)).group(1)


def to_stripe(app, path):
    """The client opens the link and presses Continue: sent to Stripe's setup page; (browser, session id)."""
    browser = app.test_client()
    page = browser.get(path)
    assert page.status_code == 200 and "Continue to save a card or bank account" in text(page)
    assert 'name="number"' not in text(page)  # no card form of ours with Stripe
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', text(page)).group(1)
    response = browser.post(path, data={"csrf_token": csrf})
    assert response.status_code == 303, text(response)
    return browser, SESSION.search(response.headers["Location"]).group(1)


def methods():
    return db.session.scalars(select(SavedMethod).order_by(SavedMethod.id)).all()


def stripe_saved(app, standin, firm, number="4242424242424242", kind="card"):
    """Client A saves a method on Stripe's page (started and recorded through the service); its id."""
    with app.app_context():
        contact = db.session.get(Contact, firm.client_a)
        url = method_setup.start_setup(
            contact, return_url="http://localhost/x", cancel_url="http://localhost/y", consent_ip=None, actor="client"
        )
        session_id = SESSION.search(url).group(1)
        standin.complete(session_id, method=kind, card_number=number)
        account = db.session.get(BankAccount, firm.account)
        return method_setup.record_setup(method_setup.read_setup(account, session_id)).id


def test_a_client_saves_a_card_on_stripes_page_from_the_emailed_link_and_it_is_recorded_once(
    app, firm, client, mailbox, standin
):
    path = emailed_link(client, mailbox, firm)
    browser, session_id = to_stripe(app, path)
    session = standin.session(session_id)
    assert (session["mode"], session["currency"]) == ("setup", "usd")
    assert session["customer"].startswith("cus_") and session["metadata"]["contact"] == str(firm.client_a)
    with app.app_context():
        consent = method_setup.consent_text()
    assert session["metadata"]["consent"] == consent
    standin.complete(session_id, card_number="4242424242424242")

    back = browser.get(standin.success_redirect_url(session_id).removeprefix("http://localhost"))
    assert back.status_code == 303 and back.headers["Location"].endswith(f"{path}/saved")
    assert "Visa ending 4242, expires 12/2034" in text(browser.get(f"{path}/saved"))
    for _ in range(2):  # the webhook comes after the return, twice: nothing more is recorded
        answer = deliver(client, standin, standin.checkout_session_completed(session_id))
        assert answer.status_code == 200
    with app.app_context():
        [method] = methods()
        assert (method.processor, method.kind, method.brand, method.last4) == ("stripe", "card", "visa", "4242")
        assert (method.exp_month, method.exp_year, method.contact_id) == (12, 2034, firm.client_a)
        assert method.method_reference.startswith("pm_") and method.customer_reference == session["customer"]
        assert method.consent_text == consent and method.created_by_id is None
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "method.saved"))
        assert event.actor == f"client {firm.client_a}: Ada Archer"
    # Used once: the link now says so.
    assert browser.get(path).status_code == 410
    page = text(client.get(f"/contacts/{firm.client_a}"))
    assert "Visa ending 4242, expires 12/2034" in page and consent in page


def test_the_webhook_first_records_the_method_and_the_return_finds_it(app, firm, client, mailbox, standin):
    path = emailed_link(client, mailbox, firm)
    browser, session_id = to_stripe(app, path)
    standin.complete(session_id, method="us_bank_account")
    answer = deliver(client, standin, standin.checkout_session_completed(session_id))
    assert answer.status_code == 200 and answer.json["outcome"].startswith("saved method")
    back = browser.get(standin.success_redirect_url(session_id).removeprefix("http://localhost"))
    assert back.status_code == 303
    with app.app_context():
        [method] = methods()
        assert (method.kind, method.brand, method.last4, method.exp_month) == (
            "us_bank_account",
            "STRIPE TEST BANK",
            "6789",
            None,
        )
        assert db.session.query(ProcessorEvent).count() == 1


def test_a_return_with_another_clients_session_records_nothing(app, firm, client, mailbox, standin):
    path = emailed_link(client, mailbox, firm)
    with app.app_context():  # a session started for client B, its id put on client A's link
        url = method_setup.start_setup(
            db.session.get(Contact, firm.client_b),
            return_url="http://localhost/x",
            cancel_url="http://localhost/y",
            consent_ip=None,
            actor="client",
        )
    session_id = SESSION.search(url).group(1)
    standin.complete(session_id)
    browser = app.test_client()
    assert browser.get(f"{path}/return?session_id={session_id}").status_code == 404
    for made_up in ("", "cs_test_nothing", "x" * 300):  # an address typed by hand is refused in words, never a 500
        assert browser.get(f"{path}/return?session_id={made_up}").status_code == 404
    assert browser.get(f"{path}/saved").status_code == 303  # nothing saved yet: back to the page
    with app.app_context():
        assert methods() == []


def charge(app, firm, method_id, request_id, key="plan:1:1", amount=100_000):
    with app.app_context():
        return saved_methods.charge(
            db.session.get(TrustRequest, request_id),
            db.session.get(SavedMethod, method_id),
            amount,
            key,
            user=None,
            why="instalment",
        ).id


@pytest.fixture
def sent_request(app, firm):
    with app.app_context():
        request_id = gen_request(firm, amount_cents=300_000, allow_partial=True)
        send(request_id, firm.lawyer)
        return request_id


def test_a_saved_card_is_charged_off_session_once_with_stripes_fee(app, firm, standin, sent_request):
    method_id = stripe_saved(app, standin, firm)
    first = charge(app, firm, method_id, sent_request)
    again = charge(app, firm, method_id, sent_request)
    assert first == again
    [call] = standin.calls("POST", "/v1/payment_intents")
    params = call.params
    assert (params["off_session"], params["confirm"], params["amount"]) == ("true", "true", "100000")
    assert params["customer"].startswith("cus_") and call.idempotency_key == "saved-plan:1:1"
    with app.app_context():
        [payment] = payments()
        assert (payment.status, payment.fee_cents, payment.card_last4) == ("succeeded", card_fee(100_000), "4242")
        assert payment.processor_reference.startswith("pi_")
        assert deposits() == 1 and held_for(firm) == (100_000, 100_000)


@pytest.mark.parametrize(
    ("number", "error"), [("4000000000000341", Declined), ("4000002760003184", AuthenticationRequired)]
)
def test_a_declined_or_authentication_wanting_card_books_nothing(app, firm, standin, sent_request, number, error):
    method_id = stripe_saved(app, standin, firm, number)
    with pytest.raises(error):
        charge(app, firm, method_id, sent_request)
    with app.app_context():
        [failed] = payments()
        assert failed.status == "failed" and failed.journal_entry_id is None and deposits() == 0
        if error is AuthenticationRequired:
            assert "confirm this payment" in failed.failure_message


def test_a_saved_bank_account_is_pending_until_its_webhook_books_it_once(app, firm, client, standin, sent_request):
    method_id = stripe_saved(app, standin, firm, kind="us_bank_account")
    payment_id = charge(app, firm, method_id, sent_request)
    with app.app_context():
        [payment] = payments()
        assert (payment.id, payment.status, payment.method) == (payment_id, "pending", "ach")
        assert deposits() == 0
        reference = payment.processor_reference
    standin.settle_intent(reference)
    event = standin.payment_intent_succeeded(reference)
    for _ in range(3):
        assert deliver(client, standin, event).status_code == 200
    again = deliver(client, standin, standin.payment_intent_succeeded(reference))  # another event, same payment
    assert again.json["outcome"] == f"payment {payment_id} is succeeded"
    with app.app_context():
        [payment] = payments()
        assert (payment.status, payment.fee_cents) == ("succeeded", ach_fee(100_000))
        assert payment.clears_on == firm_today() + timedelta(days=5)
        assert deposits() == 1 and held_for(firm) == (100_000, 0)
        assert db.session.get(TrustRequest, sent_request).paid_cents == 100_000


def test_a_saved_bank_accounts_failed_payment_is_kept_failed(app, firm, client, standin, sent_request):
    method_id = stripe_saved(app, standin, firm, kind="us_bank_account")
    charge(app, firm, method_id, sent_request)
    with app.app_context():
        reference = payments()[0].processor_reference
    standin.settle_intent(reference, succeeded=False)
    assert deliver(client, standin, standin.payment_intent_payment_failed(reference)).status_code == 200
    with app.app_context():
        [payment] = payments()
        assert payment.status == "failed" and deposits() == 0


def test_staff_remove_a_method_and_it_is_detached_at_stripe(app, firm, client, standin):
    method_id = stripe_saved(app, standin, firm)
    with app.app_context():
        reference = db.session.get(SavedMethod, method_id).method_reference
    assert standin.get(reference)["customer"] is not None
    response = post(client, f"/contacts/{firm.client_a}/methods/{method_id}/remove")
    assert response.status_code == 303
    assert standin.get(reference)["customer"] is None
    assert standin.calls("POST", f"/v1/payment_methods/{reference}/detach")
    with app.app_context():
        method = db.session.get(SavedMethod, method_id)
        assert method.removed_at is not None and method.removed_by_id == firm.lawyer
        assert count(AuditEvent, AuditEvent.action == "method.removed") == 1
    page = text(client.get(f"/contacts/{firm.client_a}"))
    assert "is removed" in page and "Ada Archer has no saved card or bank account." in page
    # Another client's method is not removed through this contact's address.
    other = stripe_saved(app, standin, firm)
    assert post(client, f"/contacts/{firm.client_b}/methods/{other}/remove").status_code == 404


def test_a_second_setup_reuses_the_clients_stripe_customer(app, firm, standin):
    first = stripe_saved(app, standin, firm)
    second = stripe_saved(app, standin, firm, "5555555555554444")
    assert len(standin.calls("POST", "/v1/customers")) == 1
    with app.app_context():
        a, b = db.session.get(SavedMethod, first), db.session.get(SavedMethod, second)
        assert a.customer_reference == b.customer_reference and b.brand == "mastercard"


def test_a_stripe_receipt_offers_no_saving_and_its_link_starts_no_setup(app, firm, mailbox, standin):
    """Whoever paid holds the link (a parent, a company, anyone it was forwarded to), and a paid link still opens
    its receipts: saving a method for the client goes through the portal or the link staff email them."""
    with app.app_context():
        _, path = gen_sent_request(firm, mailbox, allow_partial=True)
    payer = app.test_client()
    html, csrf, key = pay_form(payer, path)
    paid = payer.post(path, data={"csrf_token": csrf, "checkout": key, "amount": "100.00"})
    session_id = SESSION.search(paid.headers["Location"]).group(1)
    standin.complete(session_id)
    receipt = payer.get(f"{path}/return?session_id={session_id}").headers["Location"]
    page = text(payer.get(receipt))
    assert "Save a card" not in page and "save-card" not in page
    tried = payer.post(f"{receipt.removeprefix('http://localhost')}/save-card", data={"csrf_token": csrf})
    assert tried.status_code == 404
    assert standin.calls("POST", "/v1/customers") == []
    with app.app_context():
        assert methods() == []


def test_one_link_saves_one_method_even_from_two_tabs(app, firm, client, mailbox, standin):
    path = emailed_link(client, mailbox, firm)
    first_tab, first = to_stripe(app, path)
    second_tab, second = to_stripe(app, path)  # both started while the link was unused
    standin.complete(first, card_number="4242424242424242")
    standin.complete(second, card_number="5555555555554444")
    back = first_tab.get(standin.success_redirect_url(first).removeprefix("http://localhost"))
    assert back.status_code == 303 and back.headers["Location"].endswith(f"{path}/saved")
    refused = second_tab.get(standin.success_redirect_url(second).removeprefix("http://localhost"))
    assert refused.status_code == 410 and method_setup.LINK_SPENT in text(refused)
    answer = deliver(client, standin, standin.checkout_session_completed(second))
    assert answer.status_code == 200 and answer.get_json()["outcome"].startswith("refused")
    assert deliver(client, standin, standin.checkout_session_completed(first)).status_code == 200
    with app.app_context():
        [method] = methods()
        assert method.brand == "visa"  # the first stands
    assert "Visa ending 4242" in text(first_tab.get(f"{path}/saved"))


def test_a_setup_finished_after_the_link_expired_is_not_recorded(app, firm, client, mailbox, standin):
    path = emailed_link(client, mailbox, firm)
    browser, session_id = to_stripe(app, path)
    with app.app_context():
        db.session.execute(update(MethodLink).values(expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    standin.complete(session_id)
    refused = browser.get(standin.success_redirect_url(session_id).removeprefix("http://localhost"))
    assert refused.status_code == 410 and method_setup.LINK_EXPIRED in text(refused)
    assert deliver(client, standin, standin.checkout_session_completed(session_id)).status_code == 200
    with app.app_context():
        assert methods() == []
