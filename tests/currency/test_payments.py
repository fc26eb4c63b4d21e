"""A CAD trust account beside a USD one: the client pays in the account's currency, and its fee stays in it."""

import re

import pytest
from sqlalchemy import func, select

from tests.currency.steps import BARE_DOLLARS, expenses, gen_request, gen_two_currencies, pay_by_card
from trustweb.extensions import db
from trustweb.models import BankAccount, Contact, JournalEntry, OutboxMessage, Payment, TrustRequest
from trustweb.payments import CardDetails
from trustweb.payments import TestProcessor as Processor
from trustweb.refusals import ServiceError
from trustweb.services import saved_methods
from trustweb.services.books import check_books


def test_a_cad_request_is_shown_paid_and_receipted_in_cad(app, client):
    with app.app_context():
        firm = gen_two_currencies()
        request_id, path = gen_request(firm, firm.cad_trust, 25_000)
    page = client.get(path).get_data(as_text=True)
    assert "CA$250.00" in page
    assert not re.search(BARE_DOLLARS + r"250\.00", page)  # never "$250.00" alone, as if US dollars

    response = pay_by_card(client, path, "250.00")
    assert response.status_code == 303, response.get_data(as_text=True)
    receipt = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "CA$250.00" in receipt and not re.search(BARE_DOLLARS + r"250\.00", receipt)
    with app.app_context():
        assert db.session.get(TrustRequest, request_id).status == "paid"
        sent = db.session.scalars(select(OutboxMessage).where(OutboxMessage.trust_request_id == request_id)).all()
        receipt_mail = next(m for m in sent if m.kind == "receipt")
        assert "CA$250.00" in receipt_mail.subject and "CA$250.00" in receipt_mail.text_body
        notice = next(m for m in sent if m.kind == "lawyer_notice")
        assert "CA$250.00" in notice.subject and not re.search(BARE_DOLLARS, notice.text_body)


def test_the_fee_of_a_cad_payment_is_booked_to_the_cad_operating_account_and_none_to_usd(app, client):
    with app.app_context():
        firm = gen_two_currencies()
        _, cad_path = gen_request(firm, firm.cad_trust, 100_000)
        _, usd_path = gen_request(firm, firm.usd_trust, 50_000)
    assert pay_by_card(client, cad_path, "1000.00").status_code == 303
    with app.app_context():
        # 2.9% + 30 cents of CA$1,000.00, in Canadian cents, from the CAD operating account only
        assert expenses(firm.cad_operating) == 2_930
        assert expenses(firm.usd_operating) == 0
        payment = db.session.scalar(select(Payment))
        assert payment.fee_entry.bank_account_id == firm.cad_operating
    assert pay_by_card(client, usd_path, "500.00").status_code == 303
    with app.app_context():
        assert (expenses(firm.cad_operating), expenses(firm.usd_operating)) == (2_930, 1_480)
        assert check_books() == []


def test_a_payment_into_a_currency_with_no_operating_account_is_refused_before_money_moves(app, client):
    with app.app_context():
        firm = gen_two_currencies(cad_operating=False)  # made before settings refused it, or by hand
        request_id, path = gen_request(firm, firm.cad_trust, 25_000)
        entries = db.session.scalar(select(func.count()).select_from(JournalEntry))
    response = pay_by_card(client, path, "250.00")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Card payments in CAD are not available" in page and "no operating account in CAD" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
        assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == entries
        assert db.session.get(TrustRequest, request_id).paid_cents == 0


def test_a_saved_card_charged_into_cad_books_its_fee_in_cad_or_is_refused_without_a_cad_operating_account(app):
    with app.app_context():
        firm = gen_two_currencies()
        contact, cad = db.session.get(Contact, firm.client), db.session.get(BankAccount, firm.cad_trust)
        card = CardDetails(number="4242424242424242", exp_month=12, exp_year=2099, cvc="123", name="Ada Archer")
        method = saved_methods.record_saved(
            contact,
            cad,
            Processor().save_card(card, "save-key"),
            processor="test",
            consent_text="I authorise the firm to charge this card.",
            consent_ip="203.0.113.9",
            user=None,
            actor="client",
        )
        db.session.commit()
        first, _ = gen_request(firm, firm.cad_trust, 100_000)
        payment = saved_methods.charge(
            db.session.get(TrustRequest, first), method, 100_000, "key-1", user=None, why="top-up"
        )
        assert payment.status == "succeeded"
        assert (expenses(firm.cad_operating), expenses(firm.usd_operating)) == (2_930, 0)

        second, _ = gen_request(firm, firm.cad_trust, 50_000)
        db.session.get(BankAccount, firm.cad_operating).active = False  # closed behind the settings' back
        db.session.commit()
        with pytest.raises(ServiceError, match="no operating account in CAD"):
            saved_methods.charge(db.session.get(TrustRequest, second), method, 50_000, "key-2", user=None, why="top-up")
        db.session.rollback()
        assert db.session.get(TrustRequest, second).paid_cents == 0
