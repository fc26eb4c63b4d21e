"""Signing in to the portal: a client invited by the firm asks for a one-time link by email, uses it once, and is
signed out by the button, by leaving it idle, or by the firm revoking access. Nobody learns who is a client."""

from datetime import timedelta

import time_machine
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select, update

from tests.conftest import post
from tests.portal.steps import (
    ADA,
    BEN,
    ask_for_link,
    invite,
    portal_path,
    signed_in_client,
    use_link,
)
from tests.requests.steps import text
from trustweb.extensions import db
from trustweb.models import AuditEvent, Contact, PortalAccess, PortalLink, PortalSession, User
from trustweb.models.base import utcnow
from trustweb.portal.sessions import COOKIE
from trustweb.services import portal


def portal_cookie(browser):
    cookie = browser.get_cookie(COOKIE, path="/portal")
    return cookie.value if cookie is not None else None


def test_an_invited_client_signs_in_with_the_emailed_link_and_sees_their_trust_money(app, firm, mailbox):
    with app.app_context():
        invite(firm.client_a, firm.lawyer)
    [email] = [m for m in mailbox.to(ADA) if m["Subject"].startswith("Your secure client portal")]
    assert "Reply-To" in email and "/portal/sign-in" in mailbox.text(email)
    path = portal_path(mailbox, ADA)

    browser = app.test_client()
    # Opening the link (as a mail scanner would) signs nobody in and does not use it up.
    for _ in range(2):
        page = browser.get(path)
        assert page.status_code == 200 and "You are signing in as <strong>Ada Archer</strong>" in text(page)
        assert page.headers["Referrer-Policy"] == "no-referrer" and portal_cookie(browser) is None
    response = use_link(browser, path)
    assert response.status_code == 303 and response.headers["Location"].endswith("/portal/")

    home = browser.get("/portal/")
    assert home.status_code == 200
    html = text(home)
    assert "Hello, Ada Archer" in html
    assert "$2,525.00" in html  # 2,500.00 and a 150.00 cheque received, less the 125.00 filing fee
    assert "$850.00 due" in html  # the request sent to her, less the cheque
    assert "$77.00" not in html  # her draft is not shown
    assert "Ben Baker" not in html and "$900.00" not in html
    with app.app_context():
        access = db.session.scalar(select(PortalAccess).where(PortalAccess.contact_id == firm.client_a))
        assert access.last_sign_in_at is not None
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "portal.signed_in")).one()
        assert event.actor == f"client {firm.client_a}: Ada Archer" and event.user_id is None


def test_a_sign_in_link_works_once(app, firm, mailbox):
    with app.app_context():
        invite(firm.client_a, firm.lawyer)
    path = portal_path(mailbox, ADA)
    assert use_link(app.test_client(), path).status_code == 303
    again = app.test_client()
    page = again.get(path)
    assert page.status_code == 404 and "This sign-in link no longer works" in text(page)
    stale = again.post(path, data={"csrf_token": "x"})
    assert stale.status_code in (400, 404) and portal_cookie(again) is None


def test_an_expired_or_guessed_link_is_refused(app, firm, mailbox):
    with app.app_context():
        invite(firm.client_a, firm.lawyer)
    path = portal_path(mailbox, ADA)
    with app.app_context():
        db.session.execute(update(PortalLink).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    browser = app.test_client()
    assert browser.get(path).status_code == 404
    assert browser.get("/portal/sign-in/" + "A" * 43).status_code == 404
    assert browser.get("/portal/sign-in/" + "A" * 200).status_code == 404
    assert browser.get("/portal/").status_code == 302


def test_asking_for_a_link_answers_the_same_for_a_client_a_stranger_and_a_client_without_access(app, firm, mailbox):
    with app.app_context():
        invite(firm.client_a, firm.lawyer)
    mailbox.to(ADA)
    mailbox.clear()
    answers = []
    for email in ("ADA@Example.com", "nobody@example.com", BEN):
        response = ask_for_link(app.test_client(), email)
        assert response.status_code == 200
        answers.append(text(response).replace(email, "EMAIL"))
    assert answers[0] == answers[1] == answers[2]
    # Only the client with access gets a link; the address is matched whatever its case.
    assert len(mailbox.to(ADA)) == 1 and mailbox.to(BEN) == [] and mailbox.to("nobody@example.com") == []
    response = use_link(app.test_client(), portal_path(mailbox, ADA))
    assert response.status_code == 303


def test_the_second_email_address_signs_in_too(app, firm, mailbox):
    with app.app_context():
        db.session.get(Contact, firm.client_a).other_email = "ada.work@example.com"
        db.session.commit()
        invite(firm.client_a, firm.lawyer)
    ask_for_link(app.test_client(), "ada.work@example.com")
    assert use_link(app.test_client(), portal_path(mailbox, "ada.work@example.com")).status_code == 303


def test_a_bad_email_is_told_so(app, firm):
    response = ask_for_link(app.test_client(), "not an address")
    assert response.status_code == 422 and "Enter a valid email address." in text(response)


def test_signing_out_ends_the_session_even_for_a_copied_cookie(app, firm, mailbox):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    copied = portal_cookie(browser)
    response = post(browser, "/portal/sign-out")
    assert response.status_code == 303 and response.headers["Location"].endswith("/portal/sign-in")
    assert portal_cookie(browser) is None
    thief = app.test_client()
    thief.set_cookie(COOKIE, copied, path="/portal")
    assert thief.get("/portal/").status_code == 302
    with app.app_context():
        assert db.session.scalars(select(PortalSession)).all() == []


def test_a_session_left_idle_ends(app, firm, mailbox):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    token = URLSafeTimedSerializer(app.secret_key, salt="trustweb.portal.session").loads(portal_cookie(browser))
    idle = app.config["PORTAL_IDLE_TIMEOUT"]

    class Earlier(TimestampSigner):
        def get_timestamp(self):
            return int((utcnow() - idle - timedelta(seconds=5)).timestamp())

    stale = URLSafeTimedSerializer(app.secret_key, salt="trustweb.portal.session", signer=Earlier).dumps(token)
    browser.set_cookie(COOKIE, stale, path="/portal")
    response = browser.get("/portal/")
    assert response.status_code == 302 and "/portal/sign-in" in response.headers["Location"]
    # The same session, used within the limit, is still in.
    browser.set_cookie(
        COOKIE, URLSafeTimedSerializer(app.secret_key, salt="trustweb.portal.session").dumps(token), path="/portal"
    )
    assert browser.get("/portal/").status_code == 200


def test_a_session_ends_after_its_lifetime_however_busy(app, firm, mailbox):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    later = utcnow() + app.config["PORTAL_SESSION_LIFETIME"] + timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        browser.set_cookie(
            COOKIE,
            URLSafeTimedSerializer(app.secret_key, salt="trustweb.portal.session").dumps(
                URLSafeTimedSerializer(app.secret_key, salt="trustweb.portal.session").loads(portal_cookie(browser))
            ),
            path="/portal",
        )
        assert browser.get("/portal/").status_code == 302


def test_revoking_access_signs_the_client_out_and_kills_their_links(app, firm, mailbox):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    ask_for_link(app.test_client(), ADA)
    unused = portal_path(mailbox, ADA)
    with app.app_context():
        portal.revoke(db.session.get(Contact, firm.client_a), db.session.get(User, firm.lawyer))
    assert browser.get("/portal/").status_code == 302
    assert app.test_client().get(unused).status_code == 404
    mailbox.clear()
    ask_for_link(app.test_client(), ADA)
    assert mailbox.to(ADA) == []


def test_a_client_session_never_reaches_a_staff_page(app, firm, mailbox):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    for path in ("/", "/bills/", f"/contacts/{firm.client_a}", "/reports/", "/settings/", "/outbox/"):
        response = browser.get(path)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"], path


def test_too_many_links_for_one_address_are_refused(app, firm, mailbox):
    with app.app_context():
        invite(firm.client_a, firm.lawyer)
    statuses = []
    for n in range(7):
        browser = app.test_client()
        browser.environ_base["REMOTE_ADDR"] = f"10.0.0.{n + 1}"  # from different places: the address is the key
        statuses.append(ask_for_link(browser, ADA).status_code)
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
    one_place = app.test_client()
    one_place.environ_base["REMOTE_ADDR"] = "10.9.9.9"
    statuses = [ask_for_link(one_place, f"someone{n}@example.com").status_code for n in range(11)]
    assert statuses[:10] == [200] * 10 and statuses[10] == 429
