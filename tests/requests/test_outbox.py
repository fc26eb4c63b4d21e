"""The outbox: no page waits on the mail server; the worker delivers, retries, gives up, and says why in words."""

import threading
import time

import pytest
from sqlalchemy import update

from tests.conftest import post
from tests.dates import card_expiry, today
from tests.mailbox import StallingServer
from tests.requests.steps import BASE_URL, gen_firm, gen_request, outbox, pay_form, pay_path, text
from trustweb.extensions import db
from trustweb.models import FirmSettings, OutboxMessage, TrustRequest, User
from trustweb.models.base import utcnow
from trustweb.services import payments as payment_service
from trustweb.services import requests as request_service
from trustweb.services.delivery import Outcome, claim_due, deliver_due
from trustweb.worker import Worker


@pytest.fixture
def firm(app, client, auth):
    """The firm, with its lawyer signed in at the office."""
    with app.app_context():
        setup = gen_firm()
        lawyer = db.session.get(User, setup.lawyer)
        db.session.expunge(lawyer)
    auth.login_as(lawyer)
    return setup


@pytest.fixture
def mail_down(mailbox):
    """The mail server is down for the test (and up again after it, whatever happens)."""
    mailbox.stop()
    yield mailbox
    mailbox.start()


def worker_pass(app):
    """What the worker does with the outbox in one pass."""
    with app.app_context():
        return deliver_due()


def time_passes(app):
    """The backoff has run out: every waiting email is due again."""
    with app.app_context():
        db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
        db.session.commit()


def wait_for(condition, seconds=10):
    """Poll until true. Event.wait, not time.sleep: CI runs these tests under libfaketime, whose sleep fails."""
    deadline, pause = time.monotonic() + seconds, threading.Event()
    while not condition():
        assert time.monotonic() < deadline, "waited too long"
        pause.wait(0.05)


def paid_by_hand(firm, request_id, cents):
    """A wire arrives for the request and the lawyer records it."""
    payment_service.record_manual_payment(
        db.session.get(TrustRequest, request_id),
        amount_cents=cents,
        method="wire",
        received_on=today(),
        reference="W-1",
        payer="Ada Archer",
        cleared=True,
        idempotency_key=f"wire-for-{request_id}-{cents}".ljust(16, "0"),
        user=db.session.get(User, firm.lawyer),
    )


def payment_data(csrf, checkout, email="ada.receipts@example.com"):
    return {
        "csrf_token": csrf,
        "checkout": checkout,
        "amount": "5,000.00",
        "name": "Ada Archer",
        "email": email,
        "number": "4242 4242 4242 4242",
        "expiry": card_expiry(),
        "cvc": "123",
    }


def test_the_send_button_only_queues_and_the_worker_delivers(app, firm, client, mailbox):
    with app.app_context():
        request_id = gen_request(firm)
    response = post(client, f"/bills/requests/{request_id}/send", follow_redirects=True)
    assert "TR-000001 for ada@example.com is queued; no worker has checked in lately" in text(response)
    assert mailbox.messages == []  # the page did not talk to the mail server
    with app.app_context():
        [message] = outbox(request_id)
        assert (message.status, message.attempts) == ("queued", 0)

    assert worker_pass(app)[Outcome.SENT] == 1
    [email] = mailbox.messages
    assert "TR-000001" in email["Subject"]
    assert "Sent" in text(client.get(f"/bills/requests/{request_id}"))
    assert worker_pass(app).handled == 0  # nothing goes twice
    assert len(mailbox.messages) == 1


def test_a_request_sent_while_the_mail_server_is_down_says_so_and_goes_when_it_is_back(
    app, firm, client, mail_down, runner
):
    with app.app_context():
        request_id = gen_request(firm)
    post(client, f"/bills/requests/{request_id}/send")
    assert worker_pass(app)[Outcome.RETRY] == 1

    # The request is sent as far as the firm is concerned; its email says where it is, in words.
    page = text(client.get(f"/bills/requests/{request_id}"))
    assert "Failing" in page and "1 try so far: the mail server refused the connection" in page
    assert "Try the waiting emails again now" in page
    with app.app_context():
        assert db.session.get(TrustRequest, request_id).status == "sent"
        [message] = outbox(request_id)
        assert (message.status, message.attempts) == ("queued", 1)
        assert message.next_attempt_at > utcnow()  # the next try waits its backoff

    # The cron command, run at once, finds nothing due yet: that is not a failure.
    result = runner.invoke(args=["trustweb", "send-mail"])
    assert result.exit_code == 0, result.output
    assert "Sent 0 email(s); 0 failed and will be retried" in result.output

    # The server is back; the lawyer presses Try again: it goes on the worker's next pass.
    mail_down.start()
    response = post(client, f"/bills/requests/{request_id}/resend", follow_redirects=True)
    assert "1 email(s) will be tried again; the worker sends it within seconds." in text(response)  # send-mail ran
    assert worker_pass(app)[Outcome.SENT] == 1
    [email] = mail_down.messages
    assert "TR-000001" in email["Subject"]
    page = text(client.get(f"/bills/requests/{request_id}"))
    assert "Failing" not in page and "Try the waiting emails again now" not in page
    with app.app_context():
        [message] = outbox(request_id)
        assert (message.status, message.last_error, message.attempts) == ("sent", None, 2)
    mail_down.stop()


def test_after_the_last_try_an_email_is_given_up_with_the_reason(app, firm, client, mail_down):
    app.config["MAIL_MAX_ATTEMPTS"] = 3
    with app.app_context():
        request_id = gen_request(firm)
    post(client, f"/bills/requests/{request_id}/send")
    outcomes = []
    for _ in range(3):
        outcomes += [o for o, n in worker_pass(app).counts.items() if n]
        time_passes(app)
    assert outcomes == [Outcome.RETRY, Outcome.RETRY, Outcome.FAILED]
    with app.app_context():
        [message] = outbox(request_id)
        assert message.status == "failed"
        assert message.last_error == "Given up after 3 tries: the mail server refused the connection " + (
            f"(127.0.0.1:{mail_down.port}: nothing is listening there)"
        )
        assert message.link_url  # kept, to be checked again, for when someone retries it
    page = text(client.get(f"/bills/requests/{request_id}"))
    assert "Not delivered" in page and "Given up after 3 tries" in page
    assert worker_pass(app).handled == 0

    # The mail server is put right; the lawyer presses Try again: it goes, with its link, and keeps no live copy.
    mail_down.start()
    response = post(client, f"/bills/requests/{request_id}/resend", follow_redirects=True)
    assert "1 email(s) will be tried again; no worker has checked in lately" in text(response)
    assert worker_pass(app)[Outcome.SENT] == 1
    assert "/pay/" in mail_down.text(mail_down.messages[0])
    with app.app_context():
        [message] = outbox(request_id)
        assert (message.status, message.attempts, message.link_url) == ("sent", 1, None)
        assert "/pay/[link sent]" in message.text_body
    mail_down.stop()


def test_an_address_the_mail_server_refuses_for_good_is_given_up_at_once(app, firm, client, mailbox):
    with app.app_context():
        request_id = gen_request(firm, recipients=["nobody@nowhere.example"])
    post(client, f"/bills/requests/{request_id}/send")
    assert worker_pass(app)[Outcome.FAILED] == 1
    with app.app_context():
        [message] = outbox(request_id)
        assert message.status == "failed" and message.attempts == 1
        assert "refused the recipient(s): nobody@nowhere.example (550 5.1.1 No such user here)" in message.last_error


def test_a_sent_message_keeps_no_live_pay_link(app, firm, client, mailbox):
    with app.app_context():
        request_id = gen_request(firm)
    post(client, f"/bills/requests/{request_id}/send")
    with app.app_context():
        [queued] = outbox(request_id)
        assert "/pay/" in queued.text_body and queued.link_url  # the waiting message holds the link it will deliver

    # The client's email has the working link...
    [email] = mailbox.to("ada@example.com")
    path = pay_path(mailbox)
    token = path.removeprefix("/pay/")
    assert len(token) >= 32
    assert f"{BASE_URL}{path}" in mailbox.html(email)
    pay_form(app.test_client(), path)
    # ...and the firm's copy does not.
    with app.app_context():
        [sent] = outbox(request_id)
        assert sent.status == "sent" and sent.link_url is None
        assert token not in sent.text_body and token not in sent.html_body
        assert "/pay/[link sent]" in sent.text_body and "/pay/[link sent]" in sent.html_body
        assert "Retainer for the purchase of 12 Elm St." in sent.text_body  # only the link is cut out


def test_a_request_paid_before_its_email_went_is_not_sent_and_says_why(app, firm, client, mailbox):
    """The request email waits (the worker is behind); the client pays by wire meanwhile."""
    with app.app_context():
        request_id = gen_request(firm)
    post(client, f"/bills/requests/{request_id}/send")
    with app.app_context():
        paid_by_hand(firm, request_id, 500_000)
    tally = worker_pass(app)
    assert (tally[Outcome.SKIPPED], tally[Outcome.SENT]) == (1, 2)  # the request skipped; receipt, lawyer's notice
    assert [m["Subject"].split(" ")[0] for m in mailbox.messages] == ["Receipt", "Ada"]
    with app.app_context():
        request_email = outbox(request_id, "request")[0]
        assert request_email.status == "skipped"
        assert request_email.last_error == "Not sent: TR-000001 was paid in full before this email went out."
    page = text(client.get(f"/bills/requests/{request_id}"))
    assert "Not sent: TR-000001 was paid in full before this email went out." in page


def test_a_waiting_request_email_goes_with_the_amount_due_when_it_goes(app, firm, client, mailbox):
    with app.app_context():
        request_id = gen_request(firm, allow_partial=True)
    post(client, f"/bills/requests/{request_id}/send")
    with app.app_context():
        assert "$5,000.00" in outbox(request_id)[0].text_body
        paid_by_hand(firm, request_id, 200_000)
    worker_pass(app)
    [email] = [m for m in mailbox.messages if m["Subject"].startswith("Your")]
    assert "$3,000.00" in mailbox.text(email) and "$5,000.00" not in mailbox.text(email)  # what is due when it goes


def test_mail_comes_from_the_firm_and_replies_go_to_the_lawyer(app, firm, client, mailbox):
    with app.app_context():
        settings = FirmSettings.get()
        settings.email = "office@archer-law.example"
        settings.firm_name = "Archer & Bell LLP"
        db.session.merge(settings)
        db.session.commit()
        request_id = gen_request(firm)
        lawyer_email = db.session.get(User, firm.lawyer).email
    post(client, f"/bills/requests/{request_id}/send")
    [email] = mailbox.to("ada@example.com")
    assert email["From"] == "Archer & Bell LLP <office@archer-law.example>"
    assert email["Reply-To"] == lawyer_email
    with app.app_context():
        assert outbox(request_id)[0].sender == "Archer & Bell LLP <office@archer-law.example>"


def test_overlapping_senders_count_what_the_other_took_as_taken_not_failed(app, firm, client, mailbox, runner):
    with app.app_context():
        request_id = gen_request(firm)
    post(client, f"/bills/requests/{request_id}/send")
    with app.app_context():
        [taken] = claim_due(10, "another worker")  # another sender has it, mid-send
    result = runner.invoke(args=["trustweb", "send-mail"])
    assert result.exit_code == 0, result.output
    assert "Sent 0 email(s); 0 failed and will be retried; 0 given up" in result.output
    with app.app_context():
        assert outbox(request_id)[0].status == "sending" and outbox(request_id)[0].id == taken


def test_a_payment_while_the_mail_server_is_down_is_booked_and_its_receipt_waits(app, firm, client, mailbox):
    """The client pays; the receipt and the lawyer's notice wait in the outbox, the payment does not."""
    with app.app_context():
        request_id = gen_request(firm)
    post(client, f"/bills/requests/{request_id}/send")
    path = pay_path(mailbox)
    mailbox.stop()
    try:
        payer = app.test_client()
        _, csrf, checkout = pay_form(payer, path)
        response = payer.post(path, data=payment_data(csrf, checkout))
        assert response.status_code == 303
        assert "R-000001" in text(payer.get(response.headers["Location"]))
        # The worker's pass stops at the first refused connection: the notice waits without a try of its own.
        assert worker_pass(app)[Outcome.RETRY] == 1
        with app.app_context():
            assert db.session.get(TrustRequest, request_id).status == "paid"
            assert [(m.kind, m.status, m.attempts) for m in outbox(request_id)] == [
                ("request", "sent", 1),
                ("receipt", "queued", 1),
                ("lawyer_notice", "queued", 0),
            ]
    finally:
        mailbox.start()
    time_passes(app)
    [receipt] = mailbox.to("ada.receipts@example.com")
    assert receipt["Subject"].startswith("Receipt R-000001")


def test_a_stalled_mail_server_holds_up_no_page_and_the_worker_delivers_each_email_once(app, firm, client, mailbox):
    """The mail server accepts the connection and says nothing: the worker waits on it, the pages do not."""
    app.config["MAIL_TIMEOUT"] = 30
    with StallingServer(mailbox.port) as stalled:
        app.extensions["mail"].port = stalled.port  # Flask-Mail read MAIL_PORT when the app was built
        with app.app_context():
            request_id = gen_request(firm)
            path = request_service.copy_link(
                db.session.get(TrustRequest, request_id), db.session.get(User, firm.lawyer)
            ).removeprefix(BASE_URL)
        worker = Worker(app, poll=0.05, name="test worker")
        thread = threading.Thread(target=worker.run)
        thread.start()
        try:
            # The lawyer sends the request; the worker takes its email and hangs on the silent server.
            started = time.monotonic()
            assert post(client, f"/bills/requests/{request_id}/send").status_code == 303
            assert time.monotonic() - started < 2
            wait_for(lambda: stalled.connections == 1)

            # Meanwhile the client pays: the payment, the receipt page and the queued receipt do not wait.
            payer = app.test_client()
            _, csrf, checkout = pay_form(payer, path)
            started = time.monotonic()
            response = payer.post(path, data=payment_data(csrf, checkout))
            paid_in = time.monotonic() - started
            assert response.status_code == 303 and paid_in < 2, paid_in
            assert "R-000001" in text(payer.get(response.headers["Location"]))
            assert mailbox.messages == []

            # The server answers at last: each email goes, once.
            stalled.release()
            wait_for(lambda: len(mailbox.messages) == 3)
        finally:
            worker.stop()
            thread.join(timeout=40)
    subjects = sorted(m["Subject"].split(" ")[0] for m in mailbox.messages)
    assert subjects == ["Ada", "Receipt", "Your"]
    with app.app_context():
        assert [m.status for m in outbox(request_id)] == ["sent", "sent", "sent"]
        assert [m.attempts for m in outbox(request_id)] == [1, 1, 1]
