"""What a review of the portal found, each now proven closed: an address corrected after an invitation, an old
invitation's link, a payment audited as a staff member signed in on the same browser, a statement PDF too long to
lay out, a sign-in that raced a revocation, another client's session left behind on a shared browser."""

from datetime import timedelta

import time_machine
from sqlalchemy import select

from tests.conftest import post, signed_in
from tests.portal.steps import ADA, BEN, invite, portal_path, signed_in_client, use_link
from tests.requests.steps import pay, text
from trustweb.extensions import db
from trustweb.models import AuditEvent, Contact, PortalSession, User
from trustweb.models.base import utcnow
from trustweb.portal import routes as portal_routes
from trustweb.portal.sessions import COOKIE
from trustweb.services import portal
from trustweb.services.clients import save_contact
from trustweb.services.sessions import token_hash


def edit_email(contact_id, email):
    """Staff correct the client's email on the contact page."""
    contact = db.session.get(Contact, contact_id)
    values = {
        name: getattr(contact, name) for name in ("kind", "name", "email", "other_email", "phone", "address", "notes")
    }
    save_contact(contact, {**values, "email": email})


def test_a_corrected_address_ends_the_links_and_sessions_of_the_old_one(app, firm, mailbox):
    with app.app_context():
        db.session.get(Contact, firm.client_a).email = "ada@exmaple.com"  # the typo staff invite first
        db.session.commit()
        invite(firm.client_a, firm.lawyer)
    stranger_link = portal_path(mailbox, "ada@exmaple.com")
    browser = signed_in_client(app, mailbox, firm, firm.client_a, "ada@exmaple.com")
    with app.app_context():
        edit_email(firm.client_a, ADA)
    assert app.test_client().get(stranger_link).status_code == 404
    assert browser.get("/portal/").status_code == 302
    with app.app_context():
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "portal.signed_out_everywhere"))
        assert "ada@exmaple.com" in event.before and ADA in event.after
        invite(firm.client_a, firm.lawyer)
    assert use_link(app.test_client(), portal_path(mailbox, ADA)).status_code == 303


def test_a_new_invitation_ends_the_last_ones_link_and_an_invitation_lasts_a_day(app, firm, mailbox):
    with app.app_context():
        invite(firm.client_a, firm.lawyer)
    first = portal_path(mailbox, ADA)
    with app.app_context():
        invite(firm.client_a, firm.lawyer)
    second = portal_path(mailbox, ADA)
    assert first != second and app.test_client().get(first).status_code == 404
    with time_machine.travel(utcnow() + timedelta(hours=23), tick=False):
        assert app.test_client().get(second).status_code == 200
    with time_machine.travel(utcnow() + timedelta(hours=25), tick=False):
        assert app.test_client().get(second).status_code == 404


def test_a_payment_on_a_shared_computer_is_the_clients_not_the_signed_in_lawyers(app, firm, mailbox):
    browser = signed_in(app, firm.lawyer)  # the lawyer's office computer, the client at the desk
    browser_client = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    browser.set_cookie(COOKIE, browser_client.get_cookie(COOKIE, path="/portal").value, path="/portal")
    with app.app_context():
        before = db.session.scalar(select(db.func.max(AuditEvent.id)))
    response = post(browser, f"/portal/requests/{firm.request_a}/pay")
    assert pay(browser, response.headers["Location"], "850.00")[0].status_code == 303
    with app.app_context():
        lawyer = db.session.get(User, firm.lawyer).email
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.id > before)).all()
        assert events and all(e.actor != lawyer and e.user_id is None for e in events), [e.actor for e in events]


def test_a_statement_pdf_too_long_to_lay_out_asks_for_a_shorter_period(app, firm, mailbox, monkeypatch):
    monkeypatch.setattr(portal_routes, "MAX_PDF_LINES", 2)
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    with app.app_context():
        from tests.portal.test_pdfs import own_ledger

        ledger = own_ledger(firm)
    response = browser.get(f"/portal/ledgers/{ledger}.pdf")
    assert response.status_code == 422 and "Choose a shorter period, or download the CSV." in text(response)


def test_a_session_that_raced_a_revocation_ends_when_access_is_given_again(app, firm, mailbox):
    signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    with app.app_context():
        contact, lawyer = db.session.get(Contact, firm.client_a), db.session.get(User, firm.lawyer)
        portal.revoke(contact, lawyer)
        # A sign-in that committed its session just after the revocation deleted the others.
        db.session.add(
            PortalSession(
                contact_id=contact.id, token_hash=token_hash("raced"), expires_at=utcnow() + timedelta(hours=1)
            )
        )
        db.session.commit()
        portal.invite(contact, lawyer)
        assert portal.contact_for_session("raced") is None


def test_signing_in_as_another_client_on_the_same_browser_ends_the_first_session(app, firm, mailbox):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    ada_cookie = browser.get_cookie(COOKIE, path="/portal").value
    with app.app_context():
        invite(firm.client_b, firm.lawyer)
    assert use_link(browser, portal_path(mailbox, BEN)).status_code == 303
    assert "Hello, Ben Baker" in text(browser.get("/portal/"))
    copy = app.test_client()
    copy.set_cookie(COOKIE, ada_cookie, path="/portal")
    assert copy.get("/portal/").status_code == 302


def test_too_many_statements_from_one_client_are_refused(app, firm, mailbox):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    with app.app_context():
        from tests.portal.test_pdfs import own_ledger

        url = f"/portal/ledgers/{own_ledger(firm)}"
    statuses = [browser.get(url).status_code for _ in range(61)]
    assert statuses[:60] == [200] * 60 and statuses[60] == 429


def test_the_receipt_of_someone_paying_for_the_client_does_not_point_them_to_the_clients_portal(app, firm, mailbox):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    response = post(browser, f"/portal/requests/{firm.request_a}/pay")
    pay(browser, response.headers["Location"], "850.00", email="uncle.bob@example.com")
    [receipt] = mailbox.to("uncle.bob@example.com")
    assert "client portal" not in mailbox.text(receipt)


def test_the_contact_page_names_the_addresses_that_sign_in(app, firm, mailbox):
    with app.app_context():
        db.session.get(Contact, firm.client_a).other_email = "ada.work@example.com"
        db.session.commit()
        invite(firm.client_a, firm.lawyer)
    page = text(signed_in(app, firm.lawyer).get(f"/contacts/{firm.client_a}"))
    assert "Signs in with ada@example.com or ada.work@example.com" in page
