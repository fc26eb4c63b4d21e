"""The Outbox of a firm whose mail server is set up: where each email is, and what the bookkeeper does about it.

The mail server is the test mailbox; the worker's passes are run by the tests, so each step is seen.
"""

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from tests.conftest import built_app, post, signed_in
from tests.invoices.steps import apply, invoice_for, notice_period, retainer
from tests.outbox.steps import email_of, listed, paid_by_wire, send, text, worker_pass
from trustweb.extensions import db
from trustweb.models import AuditEvent, OutboxMessage, User
from trustweb.services.delivery import Outcome


@pytest.fixture
def app(database, pg_schema, mailbox):
    """The app sending real email to the test mailbox."""
    with built_app(database, pg_schema, BASE_URL="http://localhost", **mailbox.config()) as app:
        yield app


@contextmanager
def mail_server_down(mailbox):
    """The mail server is away for a while (and back afterwards, whatever happens)."""
    mailbox.stop()
    try:
        yield
    finally:
        mailbox.start()


def audited(action, message_id):
    where = (AuditEvent.action == action, AuditEvent.object_id == str(message_id))
    return db.session.scalars(select(AuditEvent).where(*where)).all()


def test_each_filter_shows_the_emails_that_are_there(app, office, mailbox):
    """A week's emails: one sent, one to an address that does not exist, one no longer needed, one failing while
    the server was down, one cancelled, one just queued."""
    with app.app_context():
        requests = {"sent": send(office), "refused": send(office, recipients=["nobody@nowhere.example"])}
        requests["paid"] = send(office)
        paid_by_wire(office, requests["paid"], "W-1")  # before its email went
    assert worker_pass(app)[Outcome.SENT] == 3  # the first request, the wire's receipt and the lawyer's notice
    with mail_server_down(mailbox):
        with app.app_context():
            requests["failing"] = send(office)
        assert worker_pass(app)[Outcome.RETRY] == 1
    with app.app_context():
        requests["cancelled"] = send(office)
        requests["waiting"] = send(office)
        ids = {name: email_of(request_id).id for name, request_id in requests.items()}
        receipt, notice = email_of(requests["paid"], "receipt").id, email_of(requests["paid"], "lawyer_notice").id
    bookkeeper = signed_in(app, office.bookkeeper)
    post(bookkeeper, f"/outbox/{ids['cancelled']}/cancel")

    def shown(query):
        response = bookkeeper.get(f"/outbox/?{query}")
        assert response.status_code == 200
        return set(listed(response))

    everything = set(ids.values()) | {receipt, notice}
    assert shown("") == everything
    assert shown("state=waiting") == {ids["failing"], ids["waiting"]}
    assert shown("state=failing") == {ids["failing"]}
    assert shown("state=sent") == {ids["sent"], receipt, notice}
    assert shown("state=failed") == {ids["refused"]}
    assert shown("state=skipped") == {ids["paid"]}
    assert shown("state=cancelled") == {ids["cancelled"]}
    assert shown("kind=request") == set(ids.values())
    assert shown("kind=receipt") == {receipt}
    assert shown("kind=lawyer_notice") == {notice}
    assert shown("kind=invoice") == set()
    assert shown("state=sent&kind=request") == {ids["sent"]}
    # What the page does not know is ignored, as if not asked.
    assert shown("state=lost") == everything
    assert shown("kind=spam&state=") == everything
    assert shown("state=%00&kind=<script>") == everything

    # Each says where it is, and why when it did not go.
    page = text(bookkeeper.get("/outbox/"))
    assert "No emails here." not in page and "Mail is not set up" not in page
    for state in ("Sent", "Failing", "Not delivered", "Not sent", "Cancelled", "Queued"):
        assert f">{state}</span>" in page, state
    assert "Not sent: TR-000003 was paid in full before this email went out." in page
    assert "nobody@nowhere.example (550 5.1.1 No such user here)" in page
    assert "the mail server refused the connection" in page
    empty = text(bookkeeper.get("/outbox/?kind=invoice"))
    assert "No emails here." in empty


def test_a_cancelled_email_never_goes_and_keeps_no_live_link(app, office, mailbox):
    """The lawyer sent the request to the wrong client; the bookkeeper cancels its email before the worker runs."""
    with app.app_context():
        request_id = send(office)
        message = email_of(request_id)
        token = message.link_url.rsplit("/", 1)[-1]
        assert token in message.text_body
    bookkeeper = signed_in(app, office.bookkeeper)
    assert "Cancel this email" in text(bookkeeper.get(f"/outbox/{message.id}"))

    response = post(bookkeeper, f"/outbox/{message.id}/cancel")
    assert response.status_code == 303 and response.headers["Location"] == f"/outbox/{message.id}"
    page = text(bookkeeper.get(response.headers["Location"]))
    assert f"Email {message.id} is cancelled; it will not be sent." in page
    assert ">Cancelled</span>" in page and "Cancelled by Bookkeeper" in page
    assert "Cancel this email" not in page and "Retry now" not in page

    assert worker_pass(app).handled == 0
    assert mailbox.messages == []
    with app.app_context():
        message = db.session.get(OutboxMessage, message.id)
        assert (message.status, message.link_url, message.next_attempt_at) == ("cancelled", None, None)
        assert token not in message.text_body and token not in message.html_body
        assert "/pay/[link sent]" in message.text_body and "/pay/[link sent]" in message.html_body
        [event] = audited("email.cancelled", message.id)
        assert event.actor == db.session.get(User, office.bookkeeper).email

    # Cancelled is final: a second press is refused and says why.
    again = post(bookkeeper, f"/outbox/{message.id}/cancel", follow_redirects=True)
    assert f"Email {message.id} is cancelled; it can no longer be cancelled." in text(again)
    with app.app_context():
        assert len(audited("email.cancelled", message.id)) == 1


def test_an_email_already_sent_cannot_be_cancelled(app, office, mailbox):
    with app.app_context():
        message_id = email_of(send(office)).id
    worker_pass(app)
    with app.app_context():
        sent_at = db.session.get(OutboxMessage, message_id).sent_at
    bookkeeper = signed_in(app, office.bookkeeper)
    page = text(bookkeeper.get(f"/outbox/{message_id}"))
    assert "Cancel this email" not in page and "Retry now" not in page

    response = post(bookkeeper, f"/outbox/{message_id}/cancel", follow_redirects=True)
    assert f"Email {message_id} is sent; it can no longer be cancelled." in text(response)
    assert 'class="flash flash-error"' in text(response)
    with app.app_context():
        message = db.session.get(OutboxMessage, message_id)
        assert (message.status, message.sent_at, message.last_error) == ("sent", sent_at, None)
        assert audited("email.cancelled", message_id) == []
    assert len(mailbox.messages) == 1


def test_a_receipt_given_up_while_the_server_was_down_is_retried_and_goes(app, office, mailbox):
    """The mail server was down all weekend; Ada's receipt was given up. On Monday the bookkeeper retries it."""
    app.config["MAIL_MAX_ATTEMPTS"] = 1
    with app.app_context():
        request_id = send(office)
    worker_pass(app)
    with mail_server_down(mailbox):
        with app.app_context():
            paid_by_wire(office, request_id, "W-2")
        assert worker_pass(app)[Outcome.FAILED] == 2  # the receipt and the lawyer's notice
    with app.app_context():
        receipt = email_of(request_id, "receipt").id
    bookkeeper = signed_in(app, office.bookkeeper)
    page = text(bookkeeper.get(f"/outbox/{receipt}"))
    assert ">Not delivered</span>" in page and "Given up after 1 try: the mail server refused the connection" in page
    assert "Retry now" in page and "Cancel this email" in page  # given up: retried, or withdrawn

    response = post(bookkeeper, f"/outbox/{receipt}/retry", follow_redirects=True)
    assert f"Email {receipt} will be tried again; no worker has checked in lately" in text(response)
    assert ">Queued</span>" in text(response) and "Given up" not in text(response)
    with app.app_context():
        message = db.session.get(OutboxMessage, receipt)
        assert (message.status, message.attempts, message.finished_at) == ("queued", 0, None)
        assert len(audited("email.retried", receipt)) == 1

    assert worker_pass(app)[Outcome.SENT] == 1  # the receipt; the lawyer's notice stays given up
    [email] = mailbox.to("ada@example.com")[1:]
    assert email["Subject"].startswith("Receipt R-000001")
    with app.app_context():
        message = db.session.get(OutboxMessage, receipt)
        assert (message.status, message.attempts, message.last_error) == ("sent", 1, None)
        assert email_of(request_id, "lawyer_notice").status == "failed"

    # Sent, it is not sent again.
    response = post(bookkeeper, f"/outbox/{receipt}/retry", follow_redirects=True)
    assert f"Email {receipt} is sent; there is nothing to retry." in text(response)
    assert worker_pass(app).handled == 0
    with app.app_context():
        assert db.session.get(OutboxMessage, receipt).status == "sent"
        assert len(audited("email.retried", receipt)) == 1


def test_a_failing_email_is_tried_again_at_once(app, office, mailbox):
    """The server was down at the first try; it is back, and the bookkeeper does not wait out the backoff."""
    with mail_server_down(mailbox):
        with app.app_context():
            message_id = email_of(send(office)).id
        assert worker_pass(app)[Outcome.RETRY] == 1
    assert worker_pass(app).handled == 0  # its next try is minutes away
    bookkeeper = signed_in(app, office.bookkeeper)
    page = text(bookkeeper.get(f"/outbox/{message_id}"))
    assert ">Failing</span>" in page and "Next try at" in page and "Retry now" in page

    post(bookkeeper, f"/outbox/{message_id}/retry")
    assert worker_pass(app)[Outcome.SENT] == 1
    [email] = mailbox.to("ada@example.com")
    assert "TR-000001" in email["Subject"]


def test_a_request_email_given_up_keeps_its_link_out_of_sight_and_goes_with_it_when_retried(app, office, mailbox):
    """Given up while the server was down, the email keeps its pay link for a retry; the page never shows it."""
    app.config["MAIL_MAX_ATTEMPTS"] = 1
    with mail_server_down(mailbox):
        with app.app_context():
            request_id = send(office)
        assert worker_pass(app)[Outcome.FAILED] == 1
    with app.app_context():
        message = email_of(request_id)
        message_id, token = message.id, message.link_url.rsplit("/", 1)[-1]
    bookkeeper = signed_in(app, office.bookkeeper)
    page = text(bookkeeper.get(f"/outbox/{message_id}"))
    assert ">Not delivered</span>" in page and "Retry now" in page
    assert "/pay/[link sent]" in page and token not in page
    html = text(bookkeeper.get(f"/outbox/{message_id}/html"))
    assert "/pay/[link sent]" in html and token not in html

    post(bookkeeper, f"/outbox/{message_id}/retry")
    assert worker_pass(app)[Outcome.SENT] == 1
    [email] = mailbox.to("ada@example.com")
    assert f"/pay/{token}" in mailbox.text(email)  # the client's link works
    with app.app_context():
        message = db.session.get(OutboxMessage, message_id)
        assert (message.status, message.link_url) == ("sent", None) and token not in message.text_body


def test_a_request_email_given_up_and_paid_meanwhile_is_retried_but_not_sent(app, office, mailbox):
    app.config["MAIL_MAX_ATTEMPTS"] = 1
    with mail_server_down(mailbox):
        with app.app_context():
            request_id = send(office)
        worker_pass(app)
    with app.app_context():
        paid_by_wire(office, request_id, "W-3")
        message_id = email_of(request_id).id
    bookkeeper = signed_in(app, office.bookkeeper)
    post(bookkeeper, f"/outbox/{message_id}/retry")
    worker_pass(app)
    assert [m["Subject"].split(" ")[0] for m in mailbox.messages] == ["Receipt", "Ada"]  # not the request
    page = text(bookkeeper.get(f"/outbox/{message_id}"))
    assert ">Not sent</span>" in page and "Not sent: TR-000001 was paid in full before this email went out." in page


def test_a_trust_notice_given_up_goes_with_its_dispute_link_when_retried(app, office, mailbox):
    """A notice that trust money will pay an invoice in three days carries the client's link to dispute it."""
    app.config["MAIL_MAX_ATTEMPTS"] = 1
    with mail_server_down(mailbox):
        with app.app_context():
            notice_period(3)
            retainer(office.setup, 500_000)
            apply(office.setup, invoice_for(office.setup, 100, 10_000), 10_000)
        assert worker_pass(app)[Outcome.FAILED] == 2  # the invoice and the notice
    with app.app_context():
        notice = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "trust_notice")).one()
        dispute_path = re.search(r"/notice/[\w-]+", notice.text_body).group(0)
    bookkeeper = signed_in(app, office.bookkeeper)
    page = text(bookkeeper.get(f"/outbox/{notice.id}"))
    assert "/notice/[link sent]" in page and dispute_path not in page
    post(bookkeeper, f"/outbox/{notice.id}/retry")
    assert worker_pass(app)[Outcome.SENT] == 1
    [email] = mailbox.messages
    assert "to be paid from your trust funds" in email["Subject"]
    assert dispute_path in mailbox.text(email) and "[link sent]" not in mailbox.text(email)
    assert "I dispute this fee" in text(app.test_client().get(dispute_path))


def test_a_given_up_email_can_be_cancelled_and_then_keeps_no_live_link(app, office, mailbox):
    """The mail server refused it for good; the bookkeeper withdraws it rather than leave its link stored."""
    with app.app_context():
        request_id = send(office, recipients=["nobody@nowhere.example"])
    assert worker_pass(app)[Outcome.FAILED] == 1
    with app.app_context():
        message = email_of(request_id)
        assert message.status == "failed" and message.link_url
    bookkeeper = signed_in(app, office.bookkeeper)
    page = text(bookkeeper.get(f"/outbox/{message.id}"))
    assert "Cancel this email" in page and "Retry now" in page
    assert post(bookkeeper, f"/outbox/{message.id}/cancel").status_code == 303
    with app.app_context():
        message = db.session.get(OutboxMessage, message.id)
        assert (message.status, message.link_url) == ("cancelled", None)
        assert "/pay/[link sent]" in message.text_body


def test_a_notice_of_trust_money_to_come_is_not_sent_once_the_money_has_moved(app, office, mailbox):
    """The worker was away for the whole notice period: the 'we will take it on ...' notice would now mislead."""
    from datetime import timedelta

    from trustweb.models import Invoice
    from trustweb.services import invoice_trust
    from trustweb.services.trust import firm_today

    with app.app_context():
        notice_period(3)
        retainer(office.setup, 500_000)
        invoice_id = invoice_for(office.setup, 100, 10_000)
        apply(office.setup, invoice_id, 10_000)
        assert invoice_trust.run_scheduled(firm_today() + timedelta(days=3)) == (1, [])
        assert db.session.get(Invoice, invoice_id).status == "paid"
    worker_pass(app)
    with app.app_context():
        notices = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "trust_notice").order_by(OutboxMessage.id)
        ).all()
        assert [(n.status, n.last_error) for n in notices] == [
            ("skipped", "Not sent: the payment from trust it announces was made before it went out."),
            ("sent", None),  # the notice that it was made
        ]
        assert notices[0].link_url is None and "/notice/[link sent]" in notices[0].text_body
