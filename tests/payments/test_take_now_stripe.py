"""Staff take a card on the spot with Stripe: no card number reaches TrustWeb. Stripe's page opens on the firm's
computer or on the client's phone from a QR code; the staff page polls the payment's status and settles it through
the same path as the pay link's return and the webhook, exactly once."""

import hashlib
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from tests.conftest import built_app, post, signed_in
from tests.payments.steps import take_form
from tests.requests.steps import deposits, gen_firm, gen_sent_request, held_for, pay_form, payments, text
from tests.statements import statements
from tests.stripe_standin import TEST_API_KEY, WEBHOOK_SECRET, deliver
from trustweb.extensions import db
from trustweb.models import AuditEvent, BankAccount, BankStatement, Payment, Reconciliation, TrustRequest
from trustweb.services.trust import firm_today

KEYS = {"secret_key": TEST_API_KEY, "webhook_secret": WEBHOOK_SECRET}
HTMX = {"HX-Request": "true"}


@pytest.fixture
def app(database, pg_schema, mailbox, standin):
    config = {"STRIPE_API_BASE": standin.url, "STRIPE_KEYS": {"trust": KEYS, "operating": {}}}
    with (
        built_app(database, pg_schema, BASE_URL="http://localhost", **mailbox.config(), **config) as app,
        mailbox.serve(app),
    ):
        yield app


@pytest.fixture
def firm(app):
    with app.app_context():
        setup = gen_firm()
        db.session.get(BankAccount, setup.account).processor = "stripe"
        db.session.commit()
        return setup


def start(app, firm, mailbox, lawyer, amount="1,500.00", **fields):
    """The lawyer opens Take a payment on a sent request and starts it on Stripe: (request id, payment id)."""
    with app.app_context():
        request_id, _ = gen_sent_request(firm, mailbox, **fields)
    url = f"/bills/requests/{request_id}/take"
    html, csrf, key = take_form(lawyer, url)
    assert 'name="number"' not in html  # no card form of ours (PCI SAQ-A)
    response = lawyer.post(url, data={"csrf_token": csrf, "checkout": key, "amount": amount})
    assert response.status_code == 303, text(response)
    checkout_page = response.headers["Location"]
    payment_id = int(re.search(r"/bills/payments/(\d+)/checkout$", checkout_page).group(1))
    return request_id, payment_id


def session_of(app, payment_id):
    with app.app_context():
        return db.session.get(Payment, payment_id).checkout_reference


def test_the_session_asks_stripe_for_the_amount_and_says_whose_payment_it_is(app, firm, mailbox, standin):
    lawyer = signed_in(app, firm.lawyer)
    request_id, payment_id = start(app, firm, mailbox, lawyer, "1,500.00", allow_partial=True)
    [call] = standin.calls("POST", "/v1/checkout/sessions")
    sent = dict(call.pairs)
    assert sent["line_items[0][price_data][unit_amount]"] == "150000"
    assert sent["line_items[0][price_data][currency]"] == "usd"
    assert sent["metadata[payment]"] == str(payment_id) and sent["metadata[request]"] == "TR-000001"
    assert sent["success_url"] == f"http://localhost/pay/desk/{payment_id}?session_id={{CHECKOUT_SESSION_ID}}"
    assert call.idempotency_key
    with app.app_context():
        payment = db.session.get(Payment, payment_id)
        assert (payment.status, payment.created_by_id) == ("pending", firm.lawyer)
        started = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "payment.checkout_started"))
        assert started.user_id == firm.lawyer
    # The staff page: a button opening Stripe's page here, its QR code for the client's phone, and the status.
    page = text(lawyer.get(f"/bills/payments/{payment_id}/checkout"))
    session = standin.session(session_of(app, payment_id))
    assert f'href="{session["url"]}"' in page and "Open Stripe's payment page" in page
    assert re.search(r'<svg role="img" aria-label="QR code of Stripe&#39;s payment page for TR-000001', page)
    assert f'hx-get="/bills/payments/{payment_id}/checkout"' in page and "Check now" in page


def test_the_client_pays_on_the_phone_and_the_polled_status_settles_it_once(app, firm, mailbox, standin):
    lawyer = signed_in(app, firm.lawyer)
    request_id, payment_id = start(app, firm, mailbox, lawyer, "5,000.00")
    status_url = f"/bills/payments/{payment_id}/checkout"
    waiting = lawyer.get(status_url, headers=HTMX)
    assert waiting.status_code == 200 and "Waiting for the payment" in text(waiting)
    assert "<html" not in text(waiting)  # the partial only
    with app.app_context():
        assert deposits() == 0
    session_id = session_of(app, payment_id)
    standin.complete(session_id)
    # The phone lands on the return page: thanked, told nothing else, and the payment is booked.
    phone = app.test_client()
    thanked = phone.get(urlsplit(standin.success_redirect_url(session_id)).path + f"?session_id={session_id}")
    assert thanked.status_code == 200 and "Thank you: payment received" in text(thanked)
    assert "$5,000.00" not in text(thanked)
    for _ in range(2):  # the next polls find it booked and go on to the payment's page
        done = lawyer.get(status_url, headers=HTMX)
        assert done.headers["HX-Redirect"] == f"/bills/payments/{payment_id}"
    assert lawyer.get(status_url).headers["Location"] == f"/bills/payments/{payment_id}"  # without JavaScript
    with app.app_context():
        [payment] = payments()
        assert (payment.status, payment.created_by_id, payment.fee_cents) == ("succeeded", firm.lawyer, 14_530)
        assert deposits() == 1 and held_for(firm) == (500_000, 500_000)
        assert db.session.get(TrustRequest, request_id).status == "paid"
        received = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "payment.received"))
        assert received.user_id == firm.lawyer
    assert "on the spot" in text(lawyer.get(f"/bills/payments/{payment_id}"))


def test_polling_books_it_when_stripe_says_paid_and_the_webhook_then_finds_it_done(app, firm, mailbox, standin):
    lawyer = signed_in(app, firm.lawyer)
    _, payment_id = start(app, firm, mailbox, lawyer)
    session_id = session_of(app, payment_id)
    standin.complete(session_id)
    assert "HX-Redirect" in lawyer.get(f"/bills/payments/{payment_id}/checkout", headers=HTMX).headers
    for _ in range(2):
        assert deliver(app.test_client(), standin, standin.checkout_session_completed(session_id)).status_code == 200
    with app.app_context():
        assert len(payments("succeeded")) == 1 and deposits() == 1 and held_for(firm) == (150_000, 150_000)


def test_the_return_on_the_firms_computer_and_the_webhook_book_once(app, firm, mailbox, standin):
    lawyer = signed_in(app, firm.lawyer)
    _, payment_id = start(app, firm, mailbox, lawyer)
    session_id = session_of(app, payment_id)
    standin.complete(session_id)
    back = lawyer.get(f"/pay/desk/{payment_id}?session_id={session_id}")
    assert back.status_code == 303 and back.headers["Location"] == f"/bills/payments/{payment_id}"
    assert deliver(app.test_client(), standin, standin.checkout_session_completed(session_id)).status_code == 200
    again = lawyer.get(f"/pay/desk/{payment_id}?session_id={session_id}")
    assert again.headers["Location"] == f"/bills/payments/{payment_id}"
    with app.app_context():
        assert len(payments("succeeded")) == 1 and deposits() == 1
    # Another session's id, or none, settles nothing and tells a stranger nothing.
    assert "No payment was taken here" in text(app.test_client().get(f"/pay/desk/{payment_id}?session_id=cs_other"))
    assert "No payment was taken here" in text(app.test_client().get(f"/pay/desk/{payment_id}"))


def test_the_desk_return_answers_alike_for_every_number_without_its_session(app, firm, mailbox, standin):
    """Counting through /pay/desk/<n> must not tell a stranger which payments were taken at the desk."""
    lawyer = signed_in(app, firm.lawyer)
    _, desk_id = start(app, firm, mailbox, lawyer)
    with app.app_context():
        _, path = gen_sent_request(firm, mailbox)
    payer = app.test_client()
    _, csrf, key = pay_form(payer, path)
    assert payer.post(path, data={"csrf_token": csrf, "checkout": key, "amount": "5,000.00"}).status_code == 303
    with app.app_context():
        [link_id] = [p.id for p in payments() if p.created_by_id is None]  # the client's own, by pay link
    stranger = app.test_client()
    answers = [
        stranger.get(url)
        for url in (
            f"/pay/desk/{desk_id}",
            f"/pay/desk/{desk_id}?session_id=cs_test_guess",
            f"/pay/desk/{link_id}",
            f"/pay/desk/{link_id}?session_id={session_of(app, link_id)}",
            f"/pay/desk/{link_id + 100}",
        )
    ]
    assert [answer.status_code for answer in answers] == [200] * 5
    assert len({text(answer) for answer in answers}) == 1 and "No payment was taken here" in text(answers[0])
    with app.app_context():
        assert [p.status for p in payments()] == ["pending", "pending"]


def test_staff_cancel_a_checkout_the_client_did_not_finish(app, firm, mailbox, standin):
    lawyer = signed_in(app, firm.lawyer)
    request_id, payment_id = start(app, firm, mailbox, lawyer)
    cancelled = post(lawyer, f"/bills/payments/{payment_id}/checkout/cancel")
    assert cancelled.status_code == 303 and cancelled.headers["Location"] == f"/bills/requests/{request_id}"
    assert standin.session(session_of(app, payment_id))["status"] == "expired"
    with app.app_context():
        payment = db.session.get(Payment, payment_id)
        assert payment.status == "failed" and "Cancelled by" in payment.failure_message
        assert deposits() == 0
    page = text(lawyer.get(f"/bills/payments/{payment_id}/checkout"))
    assert "Cancelled by" in page and "hx-get" not in page and "Take a payment again" in page
    # A new one can start at once: the cancelled one holds nothing back.
    assert start_again(lawyer, request_id).status_code == 303


def start_again(lawyer, request_id):
    url = f"/bills/requests/{request_id}/take"
    _, csrf, key = take_form(lawyer, url)
    return lawyer.post(url, data={"csrf_token": csrf, "checkout": key, "amount": "1,500.00"})


def audited(action):
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def test_staff_cancelling_a_bank_payment_already_sent_are_told_it_is_on_its_way(app, firm, mailbox, standin):
    lawyer = signed_in(app, firm.lawyer)
    request_id, payment_id = start(app, firm, mailbox, lawyer)
    session_id = session_of(app, payment_id)
    standin.complete(session_id, method="us_bank_account")  # the client paid from a US bank account: days to clear
    cancelled = post(lawyer, f"/bills/payments/{payment_id}/checkout/cancel")
    assert cancelled.status_code == 303 and cancelled.headers["Location"] == f"/bills/payments/{payment_id}/checkout"
    page = text(lawyer.get(cancelled.headers["Location"]))
    assert "bank payment is already on its way" in page and "nothing was taken" not in page.lower()
    assert "will be booked when the bank confirms it" in page
    # The status page says so, with nothing to open, scan or cancel, and no more polling.
    assert "$1,500.00 is on its way" in page
    assert "hx-get" not in page and "Open Stripe" not in page and "QR code" not in page and "Cancel this" not in page
    with app.app_context():
        payment = db.session.get(Payment, payment_id)
        assert (payment.status, payment.method) == ("pending", "ach") and deposits() == 0
    # The bank confirms it: booked once, by the webhook, under the lawyer's name.
    standin.settle_ach(session_id)
    assert deliver(app.test_client(), standin, standin.checkout_session_async_payment_succeeded(session_id)).json
    with app.app_context():
        assert [p.status for p in payments()] == ["succeeded"] and deposits() == 1
        assert db.session.get(TrustRequest, request_id).paid_cents == 150_000
        received = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "payment.received"))
        assert received.user_id == firm.lawyer


def test_a_bank_payment_on_its_way_is_recorded_once_and_the_page_stops_polling(app, firm, mailbox, standin):
    lawyer = signed_in(app, firm.lawyer)
    _, payment_id = start(app, firm, mailbox, lawyer)
    session_id = session_of(app, payment_id)
    status_url = f"/bills/payments/{payment_id}/checkout"
    standin.complete(session_id, method="us_bank_account")
    first = text(lawyer.get(status_url, headers=HTMX))
    assert "is on its way" in first and "hx-trigger" not in first
    with statements(app) as seen:  # a page left open, reloaded, or a stray poll: nothing more is written
        for headers in (HTMX, HTMX, {}):
            assert lawyer.get(status_url, headers=headers).status_code == 200
        back = lawyer.get(f"/pay/desk/{payment_id}?session_id={session_id}")  # the return on the firm's computer
        assert back.headers["Location"] == status_url
    writes = [s for s in seen if s.startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == [], "\n".join(writes)
    for _ in range(2):  # Stripe's checkout.session.completed, delivered twice
        assert deliver(app.test_client(), standin, standin.checkout_session_completed(session_id)).status_code == 200
    with app.app_context():
        assert audited("payment.pending") == 1
        assert db.session.get(Payment, payment_id).status == "pending"


def test_the_status_page_shows_why_it_cannot_book_and_never_fails(app, firm, mailbox, standin):
    lawyer = signed_in(app, firm.lawyer)
    _, payment_id = start(app, firm, mailbox, lawyer)
    status_url = f"/bills/payments/{payment_id}/checkout"
    standin.complete(session_of(app, payment_id))
    # The trust account's books are signed off through today: the payment cannot be booked yet.
    with app.app_context():
        statement = BankStatement(
            bank_account_id=firm.account,
            source="typed",
            period_start=firm_today(),
            period_end=firm_today(),
            ending_balance_cents=0,
        )
        db.session.add(statement)
        db.session.flush()
        report = "{}"
        db.session.add(
            Reconciliation(
                bank_account_id=firm.account,
                statement_id=statement.id,
                period_end=firm_today(),
                statement_balance_cents=0,
                adjusted_bank_cents=0,
                journal_cents=0,
                clients_cents=0,
                report_json=report,
                report_sha256=hashlib.sha256(report.encode()).hexdigest(),
                signed_by_id=firm.lawyer,
            )
        )
        db.session.commit()
    polled = lawyer.get(status_url, headers=HTMX)
    assert polled.status_code == 200 and "signed off through" in text(polled) and "hx-trigger" in text(polled)
    page = lawyer.get(status_url)
    assert page.status_code == 409 and "signed off through" in text(page)
    with app.app_context():
        assert db.session.get(Payment, payment_id).status == "pending" and deposits() == 0
    # The account's Stripe keys taken away meanwhile: said so, not a 500.
    app.config["STRIPE_KEYS"] = {"trust": {}, "operating": {}}
    polled = lawyer.get(status_url, headers=HTMX)
    assert polled.status_code == 200 and "Stripe" in text(polled)
    assert lawyer.get(status_url).status_code == 409
