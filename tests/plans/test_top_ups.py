"""Evergreen top-ups charged automatically: the client authorises it in the portal on a matter's balance (the words
agreed to recorded), staff see it on the matter and can turn it off, and below the minimum the worker charges the
top-up once and emails a receipt; a decline falls back to emailing the request and tells the lawyer."""

import json

import pytest
from sqlalchemy import select

from tests.conftest import post, signed_in
from tests.factories import trust_ledger
from tests.matters.test_evergreen import deposit, spend
from tests.plans.steps import DECLINES, card, outbox, with_evergreen
from tests.portal.steps import signed_in_client
from tests.requests.steps import gen_firm, payments
from trustweb.extensions import db
from trustweb.models import AuditEvent, Contact, Matter, PaymentStatus, SavedMethod, TrustRequest, User
from trustweb.refusals import ServiceError
from trustweb.services import saved_methods, top_ups
from trustweb.services.replenishment import replenish_all
from trustweb.services.trust import Holder


@pytest.fixture
def firm(app):
    """Client A's first matter: minimum $2,000.00, target $5,000.00; it holds $2,500.00."""
    with app.app_context():
        setup = gen_firm()
        db.session.get(Contact, setup.client_a).email = "ada@example.com"
        with_evergreen(setup)
        db.session.commit()
        deposit(setup, 250_000)
        return setup


def authorise(setup, number="4242424242424242"):
    method_id = card(setup, number)
    top_ups.authorise(
        db.session.get(Contact, setup.client_a),
        db.session.get(Matter, setup.matter_a1),
        db.session.get(SavedMethod, method_id),
        ip="203.0.113.9",
    )
    return method_id


def held(setup):
    return trust_ledger(setup.account, Holder(setup.client_a, setup.matter_a1)).balance_cents


def test_the_client_authorises_in_the_portal_and_staff_see_it_and_turn_it_off(app, firm, mailbox):
    with app.app_context():
        method_id = card(firm)
        ledger_id = trust_ledger(firm.account, Holder(firm.client_a, firm.matter_a1)).id
    browser = signed_in_client(app, mailbox, firm, firm.client_a, "ada@example.com")
    url = f"/portal/ledgers/{ledger_id}/top-ups"
    assert f'href="{url}"' in browser.get("/portal/").get_data(as_text=True)
    page = browser.get(url).get_data(as_text=True)
    assert "Visa ending 4242" in page and "falls below $2,000.00" in page and "back to $5,000.00" in page

    refused = post(browser, url, {"method_id": method_id})
    assert refused.status_code == 422 and "Tick the box" in refused.get_data(as_text=True)
    agreed = post(browser, url, {"method_id": method_id, "agree": "y"})
    assert agreed.status_code == 303

    with app.app_context():
        matter = db.session.get(Matter, firm.matter_a1)
        assert matter.evergreen_method_id == method_id and matter.evergreen_authorised_at is not None
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "matter.top_up_authorised"))
        after = json.loads(event.after)
        assert after["consent_text"].startswith("I authorise") and "Visa ending 4242" in after["consent_text"]
        assert event.actor.startswith(f"client {firm.client_a}") and after["consented_at"]
    assert "tops up automatically from" in browser.get(url).get_data(as_text=True)

    staff = signed_in(app, firm.lawyer)
    matter_page = staff.get(f"/matters/{firm.matter_a1}").get_data(as_text=True)
    assert 'id="automatic-top-up"' in matter_page and "Visa ending 4242" in matter_page
    assert post(staff, f"/matters/{firm.matter_a1}/top-ups/stop").status_code == 303
    with app.app_context():
        assert db.session.get(Matter, firm.matter_a1).evergreen_method_id is None
        stopped = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "matter.top_up_stopped"))
        assert stopped.user_id == firm.lawyer


def test_another_clients_method_or_a_matter_without_a_minimum_is_refused(app, firm):
    with app.app_context():
        theirs = saved_methods_of_b(firm)
        with pytest.raises(ServiceError, match="saved payment methods"):
            top_ups.authorise(
                db.session.get(Contact, firm.client_a),
                db.session.get(Matter, firm.matter_a1),
                db.session.get(SavedMethod, theirs),
                ip=None,
            )
        db.session.rollback()
        with pytest.raises(ServiceError, match="no agreed minimum"):
            top_ups.authorise(
                db.session.get(Contact, firm.client_a),
                db.session.get(Matter, firm.matter_a2),
                db.session.get(SavedMethod, card(firm)),
                ip=None,
            )


def saved_methods_of_b(setup):
    from tests.methods.test_charge_saved import saved

    return saved(setup, contact_id=setup.client_b)


def test_below_the_minimum_the_authorised_card_is_charged_the_top_up_once_and_a_receipt_emailed(app, firm, mailbox):
    with app.app_context():
        authorise(firm)
        spend(firm, 61_287)  # $1,887.13 held
        done, refused = replenish_all()
        assert refused == [] and "paid" in done[0] and "$3,112.87" in done[0]
        assert replenish_all() == ([], [])
        [payment] = payments()
        assert payment.status == "succeeded" and payment.amount_cents == 311_287 and payment.card_last4 == "4242"
        assert held(firm) == 500_000
        asked = db.session.get(TrustRequest, payment.trust_request_id)
        assert asked.replenishes and asked.status == "paid"
        assert outbox("request") == []  # the request itself was never emailed
    [receipt] = mailbox.to("ada@example.com")
    assert receipt["Subject"].startswith("Receipt") and "$3,112.87" in receipt["Subject"]


def test_a_declined_top_up_emails_the_request_and_tells_the_lawyer_and_is_not_charged_again(app, firm, mailbox):
    with app.app_context():
        authorise(firm, DECLINES)
        spend(firm, 61_287)
        done, refused = replenish_all()
        assert refused == [] and "declined" in done[0]
        assert replenish_all() == ([], [])
        [failed] = payments()
        assert failed.status == PaymentStatus.FAILED
        asked = db.session.get(TrustRequest, failed.trust_request_id)
        assert asked.status == "sent"
        lawyer_email = db.session.get(User, firm.lawyer).email
    [request_email] = mailbox.to("ada@example.com")
    assert "/pay/" in mailbox.text(request_email) and "$3,112.87" in mailbox.text(request_email)
    [notice] = mailbox.to(lawyer_email)
    assert "declined" in notice["Subject"] and asked.number in notice["Subject"]


def test_a_crash_after_the_top_up_was_charged_books_it_once(app, firm, monkeypatch):
    with app.app_context():
        authorise(firm)
        spend(firm, 61_287)
        book_payment = saved_methods.book_payment

        def crash(*args, **kwargs):
            raise RuntimeError("the worker's machine lost power")

        monkeypatch.setattr(saved_methods, "book_payment", crash)
        with pytest.raises(RuntimeError):
            replenish_all()
        db.session.rollback()
        monkeypatch.setattr(saved_methods, "book_payment", book_payment)
        replenish_all()
        replenish_all()
        [payment] = payments()
        assert payment.status == "succeeded" and held(firm) == 500_000
        assert payment.idempotency_key == f"evergreen-{firm.matter_a1}-{payment.trust_request_id}-1"


def test_the_client_turns_it_off_and_a_client_without_a_saved_method_is_told_to_save_one(app, firm, mailbox):
    with app.app_context():
        ledger_id = trust_ledger(firm.account, Holder(firm.client_a, firm.matter_a1)).id
    browser = signed_in_client(app, mailbox, firm, firm.client_a, "ada@example.com")
    url = f"/portal/ledgers/{ledger_id}/top-ups"
    assert "save a card or bank account with us first" in browser.get(url).get_data(as_text=True)
    with app.app_context():
        authorise(firm)
    assert post(browser, f"{url}/stop").status_code == 303
    with app.app_context():
        assert db.session.get(Matter, firm.matter_a1).evergreen_method_id is None
        stopped = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "matter.top_up_stopped"))
        assert stopped.actor.startswith(f"client {firm.client_a}")


def test_a_top_up_turned_off_while_the_worker_is_on_its_way_to_charge_is_not_charged(app, firm, monkeypatch):
    """The worker read the authorisation, then the client turned it off before the charge: the charge, under the
    matter's lock, sees it off and emails the request instead."""
    from trustweb.services import replenishment

    with app.app_context():
        authorise(firm)
        spend(firm, 61_287)
        authorised = replenishment._authorised_method

        def turned_off_meanwhile(matter, request):
            method = authorised(matter, request)
            top_ups.turn_off(db.session.get(Matter, firm.matter_a1), contact=db.session.get(Contact, firm.client_a))
            return method

        monkeypatch.setattr(replenishment, "_authorised_method", turned_off_meanwhile)
        done, refused = replenish_all()

        assert refused == [] and "turned off" in done[0]
        assert payments() == [] and held(firm) == 188_713
        [asked] = db.session.scalars(select(TrustRequest).where(TrustRequest.replenishes)).all()
        assert asked.status == "sent" and len(outbox("request")) == 1
