"""A client saves a card with the test processor: from the link staff email, the pay page or the portal. The
consent shown is kept word for word and audited in the client's name; the link works once, for a week, for its
own contact; no card number or security code is ever kept, logged or shown back."""

import html
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import post
from tests.dates import card_expiry
from tests.portal.steps import ADA, BEN, signed_in_client
from tests.requests.steps import count, gen_firm, gen_sent_request, pay, text
from trustweb.extensions import db
from trustweb.models import AuditEvent, BankAccount, Contact, MethodLink, OutboxMessage, SavedMethod, User
from trustweb.models.base import utcnow
from trustweb.services import method_setup

METHOD_LINK = re.compile(r"http://localhost(/methods/[A-Za-z0-9_-]+)")
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
NUMBER, CVC = "4242424242424242", "987"


@pytest.fixture
def app(mailing_app):
    return mailing_app


@pytest.fixture
def firm(app, client, auth):
    """Client A and B with emails, the trust account the firm's default (its processor keeps saved methods); the
    lawyer signed in on `client`."""
    with app.app_context():
        setup = gen_firm()
        db.session.get(BankAccount, setup.account).is_default = True
        db.session.get(Contact, setup.client_a).email = ADA
        db.session.get(Contact, setup.client_b).email = BEN
        db.session.commit()
        lawyer = db.session.get(User, setup.lawyer)
        db.session.expunge(lawyer)
    auth.login_as(lawyer)
    return setup


def requested(client, mailbox, contact_id, address=ADA):
    """Staff press Request a payment method; the path of the link the client is emailed."""
    response = post(client, f"/contacts/{contact_id}/methods/request", follow_redirects=True)
    assert response.status_code == 200 and "A link to save a payment method was queued" in text(response)
    messages = [m for m in mailbox.to(address) if "/methods/" in mailbox.text(m)]
    assert messages, f"no payment method email to {address}"
    return METHOD_LINK.search(mailbox.text(messages[-1])).group(1)


def card_form(number=NUMBER, **overrides):
    return {"name": "Ada Archer", "number": number, "expiry": card_expiry(), "cvc": CVC, **overrides}


def save_on(browser, path, **card):
    page = browser.get(path)
    assert page.status_code == 200, text(page)
    return browser.post(path, data={"csrf_token": CSRF.search(text(page)).group(1), **card_form(**card)})


def saved_methods():
    return db.session.scalars(select(SavedMethod).order_by(SavedMethod.id)).all()


def test_a_client_saves_a_card_from_the_emailed_link_once(app, firm, client, mailbox):
    path = requested(client, mailbox, firm.client_a)
    browser = app.test_client()
    page = text(browser.get(path))
    with app.app_context():
        consent = method_setup.consent_text()
    assert consent in page and "Save this card" in page and 'name="number"' in page

    response = save_on(browser, path)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"{path}/saved")
    done = text(browser.get(f"{path}/saved"))
    assert "Visa ending 4242" in done and "is saved for future payments" in done

    with app.app_context():
        [method] = saved_methods()
        assert (method.contact_id, method.processor, method.brand, method.last4) == (
            firm.client_a,
            "test",
            "visa",
            "4242",
        )
        assert method.consent_text == consent and method.consent_ip == "127.0.0.1" and method.created_by_id is None
        link = db.session.scalar(select(MethodLink))
        assert link.used_at is not None and link.method_id == method.id
        events = {e.action: e for e in db.session.scalars(select(AuditEvent))}
        assert events["method.requested"].user_id == firm.lawyer
        assert events["method.saved"].actor == f"client {firm.client_a}: Ada Archer"
        assert consent in events["method.saved"].after

    # Works once: pressed again, or opened again, it says so; nothing more is saved.
    again = post(browser, path, card_form())
    assert again.status_code == 410 and "already been used" in text(again)
    assert browser.get(path).status_code == 410
    with app.app_context():
        assert len(saved_methods()) == 1
    # Staff see it on the contact page: brand, last four, expiry, and the consent given.
    contact_page = text(client.get(f"/contacts/{firm.client_a}"))
    assert f"Visa ending 4242, expires {card_expiry()[:2]}/20{card_expiry()[-2:]}" in contact_page
    assert consent in contact_page and "The client" in contact_page


def test_an_expired_or_unknown_link_is_refused_with_a_message(app, firm, client, mailbox):
    path = requested(client, mailbox, firm.client_a)
    with app.app_context():
        db.session.scalar(select(MethodLink)).expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    browser = app.test_client()
    expired = browser.get(path)
    assert expired.status_code == 410 and "This link has expired" in text(expired)
    assert post(browser, path, card_form()).status_code == 410
    unknown = browser.get("/methods/" + "x" * 43)
    assert unknown.status_code == 404 and "not valid" in text(unknown)
    with app.app_context():
        assert saved_methods() == []


def test_a_new_request_ends_the_earlier_link_and_a_link_adds_only_to_its_own_contact(app, firm, client, mailbox):
    first = requested(client, mailbox, firm.client_a)
    second = requested(client, mailbox, firm.client_a)
    assert app.test_client().get(first).status_code == 410
    ben = requested(client, mailbox, firm.client_b, BEN)
    assert save_on(app.test_client(), second).status_code == 303
    assert save_on(app.test_client(), ben, number="5555555555554444").status_code == 303
    with app.app_context():
        owners = {m.last4: m.contact_id for m in saved_methods()}
        assert owners == {"4242": firm.client_a, "4444": firm.client_b}
    # Each link's page shows only its own method.
    assert "4444" not in text(app.test_client().get(f"{second}/saved"))


def test_no_card_number_or_code_is_kept_logged_or_shown_back(app, firm, client, mailbox):
    path = requested(client, mailbox, firm.client_a)
    browser = app.test_client()
    bad = save_on(browser, path, expiry="13/99")  # refused: the form comes back
    assert bad.status_code == 422
    assert NUMBER not in text(bad) and f'value="{CVC}"' not in text(bad)
    declined = save_on(browser, path, number="4000000000000002")
    assert declined.status_code == 422 and "declined" in text(declined) and "4000000000000002" not in text(declined)
    assert save_on(browser, path).status_code == 303  # the link still works after a refusal
    with app.app_context():
        stored = [
            *(json.dumps([e.before, e.after]) for e in db.session.scalars(select(AuditEvent))),
            *(f"{m.text_body}{m.html_body}" for m in db.session.scalars(select(OutboxMessage))),
            *(
                json.dumps({c.key: str(getattr(m, c.key)) for c in SavedMethod.__table__.columns})
                for m in saved_methods()
            ),
        ]
        assert not [s for s in stored if NUMBER in s or "4000000000000002" in s]
        assert count(SavedMethod) == 1


def test_the_pay_page_saves_the_card_paid_with_when_the_client_ticks_the_box(app, firm, mailbox):
    with app.app_context():
        _, path = gen_sent_request(firm, mailbox, allow_partial=True)
        consent = method_setup.consent_text("Ada Archer")
    # Anyone holding the link may pay (a parent, a company): the box says whose card it becomes, and the payer
    # confirms they are that client or authorised; the sentence kept names the client.
    assert "kept for Ada Archer's future payments" in consent and "I am Ada Archer, or authorised" in consent
    browser = app.test_client()
    page = html.unescape(text(browser.get(path)))
    assert "Keep this card for Ada Archer's future payments to" in page and consent in page
    response, _ = pay(browser, path, "100.00", save_card="y", name="Grace Archer")  # her mother pays
    assert response.status_code == 303 and "card_saved=1" in response.headers["Location"]
    assert "Your card is saved for future payments" in text(browser.get(response.headers["Location"]))
    response, _ = pay(browser, path, "100.00")  # not ticked: nothing more is saved
    assert response.status_code == 303 and "card_saved" not in response.headers["Location"]
    with app.app_context():
        [method] = saved_methods()
        assert (method.contact_id, method.last4, method.consent_text) == (firm.client_a, "4242", consent)
        assert method.holder_name == "Grace Archer"  # the payer's name, as typed on the card


def test_a_client_adds_and_removes_a_card_in_the_portal(app, firm, client, mailbox):
    browser = signed_in_client(app, mailbox, firm, firm.client_a, ADA)
    page = browser.get("/portal/methods")
    assert page.status_code == 200 and "You have no saved payment methods" in text(page)
    csrf = CSRF.search(text(page)).group(1)
    added = browser.post("/portal/methods", data={"csrf_token": csrf, **card_form()}, follow_redirects=True)
    assert "Visa ending 4242" in text(added) and "is saved" in text(added)
    with app.app_context():
        [method] = saved_methods()
    removed = post(browser, f"/portal/methods/{method.id}/remove", follow_redirects=True)
    assert "is removed" in text(removed) and "You have no saved payment methods" in text(removed)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "method.removed"))
        assert event.actor == f"client {firm.client_a}: Ada Archer" and event.user_id is None
        assert db.session.get(SavedMethod, method.id).removed_by_id is None
    # Removed, it is no longer the client's to remove again.
    assert post(browser, f"/portal/methods/{method.id}/remove").status_code == 404


def test_staff_remove_needs_the_form_and_is_audited_in_their_name(app, firm, client, mailbox):
    path = requested(client, mailbox, firm.client_a)
    assert save_on(app.test_client(), path).status_code == 303
    with app.app_context():
        [method] = saved_methods()
    assert client.post(f"/contacts/{firm.client_a}/methods/{method.id}/remove").status_code == 400  # no CSRF
    assert post(client, f"/contacts/{firm.client_a}/methods/{method.id}/remove").status_code == 303
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "method.removed"))
        assert event.user_id == firm.lawyer


def test_a_contact_without_email_cannot_be_asked(app, firm, client):
    with app.app_context():
        db.session.get(Contact, firm.client_a).email = None
        db.session.commit()
    response = post(client, f"/contacts/{firm.client_a}/methods/request", follow_redirects=True)
    assert "has no email address" in text(response)
    with app.app_context():
        assert count(MethodLink) == 0
