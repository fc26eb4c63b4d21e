"""The Outbox with no mail server, as `make run` starts: emails are kept, and anyone new can read what clients get.

Admins and bookkeepers read it; lawyers and staff send email but do not read everyone's.
"""

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, update

from tests.conftest import csrf_token, signed_in
from tests.outbox.steps import email_of, listed, paid_by_wire, send, text, worker_pass
from tests.requests.steps import gen_request
from trustweb.extensions import db
from trustweb.models import OutboxMessage, ScheduledJob, User
from trustweb.models.base import utcnow
from trustweb.services import jobs
from trustweb.services import mail as mail_service
from trustweb.templating import firm_clock

PAGES = ("/outbox/", "/outbox/{id}", "/outbox/{id}/html")
ACTIONS = ("/outbox/{id}/retry", "/outbox/{id}/cancel")


@pytest.fixture
def queued(app, office):
    """Ada's retainer request, sent by the lawyer: its email's id."""
    with app.app_context():
        return email_of(send(office)).id


@pytest.mark.parametrize("role", ["admin", "bookkeeper"])
def test_admins_and_bookkeepers_read_the_outbox(app, office, queued, role):
    browser = signed_in(app, office.person(role))
    for page in PAGES:
        assert browser.get(page.format(id=queued)).status_code == 200, page
    assert 'href="/outbox/"' in text(browser.get("/"))  # in the menu


@pytest.mark.parametrize("role", ["lawyer", "staff"])
def test_lawyers_and_staff_neither_read_nor_touch_the_outbox(app, office, queued, role):
    browser = signed_in(app, office.person(role))
    for page in PAGES:
        assert browser.get(page.format(id=queued)).status_code == 403, page
    for action in ACTIONS:
        response = browser.post(action.format(id=queued), data={"csrf_token": csrf_token(browser)})
        assert response.status_code == 403, action
    assert 'href="/outbox/"' not in text(browser.get("/"))
    with app.app_context():
        message = db.session.get(OutboxMessage, queued)
        assert (message.status, message.next_attempt_at is not None) == ("queued", True)  # nothing was done


def test_a_stranger_is_sent_to_sign_in(app, office, queued, client):
    for page in PAGES:
        response = client.get(page.format(id=queued))
        assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login?next=/outbox/")
    for action in ACTIONS:
        response = client.post(action.format(id=queued), data={"csrf_token": csrf_token(client)})
        assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login?next=")


def test_an_email_that_does_not_exist_is_not_found(app, office):
    bookkeeper = signed_in(app, office.bookkeeper)
    for page in ("/outbox/999", "/outbox/999/html", "/outbox/99999999999"):
        assert bookkeeper.get(page).status_code == 404, page


def test_with_no_mail_server_the_email_waits_and_a_newcomer_reads_what_the_client_would_get(app, office):
    """The lawyer sends Ada's retainer request on a fresh install; the bookkeeper reads it in the Outbox."""
    lawyer = signed_in(app, office.lawyer)
    with app.app_context():
        request_id = gen_request(office.setup)
        lawyer_email = db.session.get(User, office.lawyer).email
    response = lawyer.post(f"/bills/requests/{request_id}/send", data={"csrf_token": csrf_token(lawyer)})
    assert response.status_code == 303
    assert worker_pass(app).handled == 0  # no mail server: the worker keeps every email
    with app.app_context():
        message = email_of(request_id)
        message_id, token = message.id, message.link_url.rsplit("/", 1)[-1]
        assert message.status == "queued" and len(token) >= 32

    bookkeeper = signed_in(app, office.bookkeeper)
    page = text(bookkeeper.get("/outbox/"))
    assert "Mail is not set up." in page and "TRUSTWEB_MAIL_SERVER" in page
    assert listed(bookkeeper.get("/outbox/")) == [message_id]
    # The subject links to the email from the second column: a phone shows only the first three.
    assert re.search(rf'<tr>\s*<td[^>]*>[^<]*</td>\s*<td[^>]*><a href="/outbox/{message_id}">', page)
    assert "Queued" in page and "ada@example.com" in page and "Trust request" in page

    page = text(bookkeeper.get(f"/outbox/{message_id}"))
    assert "Mail is not set up, so it waits here." in page
    assert "ada@example.com" in page
    assert f"<dt>Reply-To</dt><dd>{lawyer_email}</dd>" in page  # replies go to the lawyer
    assert "TR-000001" in page and "Retainer for the purchase of 12 Elm St." in page
    assert "/pay/[link sent]" in page and token not in page  # what the client reads, without the live link
    assert "Cancel this email" in page and "Open the HTML version" in page
    assert "Retry now" not in page  # nothing has failed: there is nothing to retry

    html = bookkeeper.get(f"/outbox/{message_id}/html")
    policy = html.headers["Content-Security-Policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "Retainer for the purchase of 12 Elm St." in text(html)
    assert "/pay/[link sent]" in text(html) and token not in text(html)
    with app.app_context():  # reading it changed nothing: the client still gets the live link
        assert db.session.get(OutboxMessage, message_id).link_url.endswith(token)


def test_the_page_says_whether_a_worker_is_running(app, office):
    bookkeeper = signed_in(app, office.bookkeeper)
    assert "No worker has run yet" in text(bookkeeper.get("/outbox/"))

    with app.app_context():
        jobs.run_due("the office worker")
        seen = firm_clock(jobs.last_seen())
    page = text(bookkeeper.get("/outbox/"))
    assert f"The worker (or send-mail) last checked in at {seen}." in page
    assert "No worker has run yet" not in page and "is it running?" not in page

    with app.app_context():  # six minutes without a sign of it
        stale = utcnow() - timedelta(minutes=6)
        db.session.execute(update(ScheduledJob).where(ScheduledJob.name == "heartbeat").values(last_finished_at=stale))
        db.session.commit()
        seen = firm_clock(stale)
    page = text(bookkeeper.get("/outbox/"))
    assert f"The worker (or send-mail) last checked in at {seen}." in page and "is it running?" in page


def test_more_than_a_page_of_emails_is_paged(app, office):
    with app.app_context():
        for n in range(1, 31):
            mail_service.queue("receipt", [f"client{n}@example.com"], f"Receipt R-{n:06d}", f"Receipt {n}.\n")
        mail_service.queue("lawyer_notice", ["lawyer@example.com"], "Ada paid", "Ada paid.\n")
        db.session.commit()
    bookkeeper = signed_in(app, office.bookkeeper)
    first = bookkeeper.get("/outbox/")
    assert listed(first) == list(range(31, 6, -1))  # newest first, 25 to a page
    assert "Page 1 of 2 · 31 in all" in text(first) and 'href="/outbox/?page=2"' in text(first)
    second = bookkeeper.get("/outbox/?page=2")
    assert listed(second) == [6, 5, 4, 3, 2, 1] and 'href="/outbox/?page=1"' in text(second)

    # A filter is kept from page to page.
    receipts = bookkeeper.get("/outbox/?kind=receipt")
    assert listed(receipts) == list(range(30, 5, -1)) and "30 in all" in text(receipts)
    assert 'href="/outbox/?page=2&kind=receipt"' in text(receipts)
    assert listed(bookkeeper.get("/outbox/?kind=receipt&page=2")) == [5, 4, 3, 2, 1]
    assert listed(bookkeeper.get("/outbox/?page=99")) == []
    assert listed(bookkeeper.get("/outbox/?page=nonsense")) == list(range(31, 6, -1))
    unknown = bookkeeper.get("/outbox/?state=lost&kind=spam")
    assert listed(unknown) == list(range(31, 6, -1))
    assert 'href="/outbox/?page=2"' in text(unknown)  # what it did not know is not carried from page to page


def test_a_text_only_email_has_no_html_version(app, office):
    with app.app_context():
        notice = mail_service.queue("lawyer_notice", ["lawyer@example.com"], "Ada paid", "Ada paid $5,000.00.\n")
        db.session.commit()
        notice_id = notice.id
    bookkeeper = signed_in(app, office.bookkeeper)
    page = text(bookkeeper.get(f"/outbox/{notice_id}"))
    assert "Ada paid $5,000.00." in page and "Open the HTML version" not in page
    assert bookkeeper.get(f"/outbox/{notice_id}/html").status_code == 404


def test_htmx_gets_only_the_list(app, office, queued):
    bookkeeper = signed_in(app, office.bookkeeper)
    response = bookkeeper.get("/outbox/?kind=request", headers={"HX-Request": "true"})
    assert response.status_code == 200 and listed(response) == [queued]
    assert text(response).lstrip().startswith('<table class="list cards" id="outbox-table">')
    assert "<html" not in text(response) and "Mail is not set up" not in text(response)


def statements_for(app, browser, url):
    """How many SQL statements a page runs."""
    count = 0

    def counted(*_):
        nonlocal count
        count += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", counted)
    try:
        assert browser.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    return count


def test_the_list_reads_as_many_statements_for_a_full_page_as_for_three_emails(app, office):
    """No query per row: the list shows what each row holds, not what it points at."""
    bookkeeper = signed_in(app, office.bookkeeper)
    with app.app_context():
        for n in range(3):
            send(office, recipients=[f"client{n}@example.com"])
    few = statements_for(app, bookkeeper, "/outbox/")
    with app.app_context():
        for n in range(3, 30):
            send(office, recipients=[f"client{n}@example.com"])
    assert statements_for(app, bookkeeper, "/outbox/") == few


def test_a_waiting_email_that_no_longer_makes_sense_says_it_will_not_go(app, office):
    """The request email waits (no mail server); the client pays by wire: the Outbox says the worker will skip it."""
    with app.app_context():
        request_id = send(office)
        message_id = email_of(request_id).id
        paid_by_wire(office, request_id, "W-9")
    page = text(signed_in(app, office.bookkeeper).get(f"/outbox/{message_id}"))
    assert "<strong>It will not go:</strong> TR-000001 was paid in full before this email went out." in page
