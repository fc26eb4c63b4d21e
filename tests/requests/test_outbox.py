"""The outbox: a request is never lost when the mail server is down, and a sent message keeps no live link."""

import pytest

from tests.conftest import post
from tests.dates import card_expiry
from tests.requests.steps import BASE_URL, gen_firm, gen_request, outbox, pay_form, pay_path, text
from trustweb.extensions import db
from trustweb.models import TrustRequest, User


@pytest.fixture
def firm(app, client, auth):
    """The firm, with its lawyer signed in at the office."""
    with app.app_context():
        setup = gen_firm()
        lawyer = db.session.get(User, setup.lawyer)
        db.session.expunge(lawyer)
    auth.login_as(lawyer)
    return setup


def token_of(path):
    return path.removeprefix("/pay/")


def test_a_request_sent_while_the_mail_server_is_down_goes_out_with_send_mail(app, firm, client, mailbox, runner):
    with app.app_context():
        request_id = gen_request(firm)
    mailbox.stop()

    # The lawyer presses Send: the request is sent as far as the firm is concerned, the email waits.
    response = post(client, f"/bills/requests/{request_id}/send", follow_redirects=True)
    assert response.status_code == 200
    page = text(response)
    assert "could not be sent now and stay queued" in page
    assert "Not sent (1 tries): ConnectionRefusedError" in page
    assert "Resend queued emails" in page
    with app.app_context():
        assert db.session.get(TrustRequest, request_id).status == "sent"
        [message] = outbox(request_id)
        assert (message.status, message.attempts, message.kind) == ("queued", 1, "request")
        assert "ConnectionRefusedError" in message.last_error
    assert mailbox.messages == []

    # The cron job runs while the server is still down: it says so and keeps the message.
    result = runner.invoke(args=["trustweb", "send-mail"])
    assert result.exit_code == 1
    assert "Sent 0 email(s); 1 could not be sent and stay queued." in result.output
    with app.app_context():
        [message] = outbox(request_id)
        assert (message.status, message.attempts) == ("queued", 2)

    # The mail server is back; the next run delivers it.
    mailbox.start()
    result = runner.invoke(args=["trustweb", "send-mail"])
    assert result.exit_code == 0, result.output
    assert "Sent 1 email(s); 0 could not be sent" in result.output
    [email] = mailbox.to("ada@example.com")
    assert "TR-000001" in email["Subject"]
    with app.app_context():
        [message] = outbox(request_id)
        assert (message.status, message.last_error) == ("sent", None)
        assert message.sent_at is not None
    page = text(client.get(f"/bills/requests/{request_id}"))
    assert "Not sent" not in page and "Resend queued emails" not in page

    # Once more: nothing is sent twice.
    assert "Sent 0 email(s); 0 could not be sent" in runner.invoke(args=["trustweb", "send-mail"]).output
    assert len(mailbox.messages) == 1


def test_a_sent_message_keeps_no_live_pay_link(app, firm, client, mailbox):
    with app.app_context():
        request_id = gen_request(firm)
    mailbox.stop()
    post(client, f"/bills/requests/{request_id}/send")
    with app.app_context():
        [queued] = outbox(request_id)
        assert "/pay/" in queued.text_body  # the waiting message has to hold the link it will deliver
    mailbox.start()
    assert post(client, f"/bills/requests/{request_id}/resend").status_code == 303

    # The client's email has the working link...
    [email] = mailbox.to("ada@example.com")
    path = pay_path(mailbox)
    token = token_of(path)
    assert len(token) >= 32
    assert f"{BASE_URL}{path}" in mailbox.html(email)
    pay_form(app.test_client(), path)
    # ...and the firm's copy does not.
    with app.app_context():
        [sent] = outbox(request_id)
        assert sent.status == "sent"
        assert token not in sent.text_body and token not in sent.html_body
        assert "/pay/[link sent]" in sent.text_body and "/pay/[link sent]" in sent.html_body
        assert "Retainer for the purchase of 12 Elm St." in sent.text_body  # only the link is cut out


def test_the_resend_button_delivers_what_is_queued(app, firm, client, mailbox):
    with app.app_context():
        request_id = gen_request(firm)
    mailbox.stop()
    post(client, f"/bills/requests/{request_id}/send")
    # A reminder the same day fails too: two messages wait.
    response = post(client, f"/bills/requests/{request_id}/remind", follow_redirects=True)
    assert "could not be sent now" in text(response)
    with app.app_context():
        assert [m.status for m in outbox(request_id)] == ["queued", "queued"]

    mailbox.start()
    response = post(client, f"/bills/requests/{request_id}/resend", follow_redirects=True)
    assert response.status_code == 200
    assert "2 queued email(s) sent." in text(response)
    subjects = sorted(m["Subject"] for m in mailbox.to("ada@example.com"))
    assert len(subjects) == 2 and subjects[0].startswith("Reminder:")
    with app.app_context():
        assert [m.status for m in outbox(request_id)] == ["sent", "sent"]

    # Pressed again: nothing is waiting, nothing is sent twice.
    response = post(client, f"/bills/requests/{request_id}/resend", follow_redirects=True)
    assert "Nothing is waiting to be sent." in text(response)
    assert len(mailbox.messages) == 2


def test_a_payment_while_the_mail_server_is_down_is_booked_and_its_receipt_waits(app, firm, client, mailbox, runner):
    """The client pays; the receipt and the lawyer's notice wait in the outbox, the payment does not."""
    with app.app_context():
        request_id = gen_request(firm)
    post(client, f"/bills/requests/{request_id}/send")
    path = pay_path(mailbox)
    mailbox.stop()

    payer = app.test_client()
    _, csrf, checkout = pay_form(payer, path)
    data = {
        "csrf_token": csrf,
        "checkout": checkout,
        "amount": "5,000.00",
        "name": "Ada Archer",
        "email": "ada.receipts@example.com",
        "number": "4242 4242 4242 4242",
        "expiry": card_expiry(),
        "cvc": "123",
    }
    response = payer.post(path, data=data)
    assert response.status_code == 303
    assert "R-000001" in text(payer.get(response.headers["Location"]))
    with app.app_context():
        assert db.session.get(TrustRequest, request_id).status == "paid"
        assert [(m.kind, m.status) for m in outbox(request_id)] == [
            ("request", "sent"),
            ("receipt", "queued"),
            ("lawyer_notice", "queued"),
        ]

    mailbox.start()
    assert runner.invoke(args=["trustweb", "send-mail"]).exit_code == 0
    [receipt] = mailbox.to("ada.receipts@example.com")
    assert receipt["Subject"].startswith("Receipt R-000001")


def test_a_mail_server_that_answers_and_then_stalls_does_not_hang_the_page(app, firm, client):
    """It accepts the connection and never greets: after MAIL_TIMEOUT the email stays queued with the reason."""
    import socket
    import time

    with socket.create_server(("127.0.0.1", 0)) as stalled:
        app.extensions["mail"].port = stalled.getsockname()[1]  # Flask-Mail read MAIL_PORT when the app was built
        app.config["MAIL_TIMEOUT"] = 1
        with app.app_context():
            request_id = gen_request(firm)
        started = time.monotonic()
        response = post(client, f"/bills/requests/{request_id}/send", follow_redirects=True)
        elapsed = time.monotonic() - started
    assert response.status_code == 200 and elapsed < 5
    assert "could not be sent now and stay queued" in text(response)
    with app.app_context():
        [message] = outbox(request_id)
        assert message.status == "queued" and "timed out" in message.last_error
        assert db.session.get(TrustRequest, request_id).status == "sent"
