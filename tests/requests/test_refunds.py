"""A lawyer refunds a payment: only from the paying client's ledger, never beyond what is available there."""

import secrets

import pytest

from tests.conftest import post
from tests.requests.steps import (
    gen_firm,
    gen_sent_request,
    held_for,
    pay,
    payments,
    refund,
    spend_and_fund_another_client,
    text,
)
from trustweb.extensions import db
from trustweb.models import Refund, TrustRequest, User
from trustweb.services.books import check_books


@pytest.fixture
def firm(app, client, auth):
    with app.app_context():
        setup = gen_firm()
        lawyer = db.session.get(User, setup.lawyer)
        db.session.expunge(lawyer)
    auth.login_as(lawyer)
    return setup


def paid(app, firm, mailbox, amount="5,000.00"):
    with app.app_context():
        request_id, path = gen_sent_request(firm, mailbox, allow_partial=True)
    assert pay(app.test_client(), path, amount)[0].status_code == 303
    with app.app_context():
        return request_id, payments()[-1].id


def test_a_partial_then_the_rest_refunded_by_hand(app, firm, client, mailbox):
    request_id, payment_id = paid(app, firm, mailbox)
    page = text(refund(client, payment_id, "1,000.00"))
    assert "$1,000.00 of R-000001 refunded." in page
    with app.app_context():
        assert held_for(firm) == (400_000, 400_000)
        trust_request = db.session.get(TrustRequest, request_id)
        # What was given back is no longer asked for: nothing is due, so no reminder goes out.
        assert (trust_request.status, trust_request.amount_cents, trust_request.paid_cents) == (
            "paid",
            400_000,
            400_000,
        )
        [payment] = payments()
        assert (payment.status, payment.refunded_cents, payment.fee_cents) == ("succeeded", 100_000, 14_530)
    text(refund(client, payment_id, "4,000.00"))
    with app.app_context():
        assert held_for(firm) == (0, 0)
        [payment] = payments()
        # The fee was the firm's cost and stays so: a refund does not bring it back.
        assert (payment.status, payment.refunded_cents, payment.fee_cents) == ("refunded", 500_000, 14_530)
        trust_request = db.session.get(TrustRequest, request_id)
        assert (trust_request.status, trust_request.void_reason) == ("void", "Refunded in full.")
        assert db.session.query(Refund).count() == 2
        assert check_books() == []


def test_a_refund_beyond_what_is_left_or_available_is_refused(app, firm, client, mailbox):
    request_id, payment_id = paid(app, firm, mailbox)
    page = text(refund(client, payment_id, "5,000.01"))
    assert "$5,000.00 of this payment is left to refund" in page
    with app.app_context():
        # The client's money was spent meanwhile (a filing fee); another client's money is never touched.
        spend_and_fund_another_client(firm, 450_000, 900_000)
    page = text(refund(client, payment_id, "1,000.00"))
    assert "holds $500.00; $1,000.00 cannot be taken from it" in page
    with app.app_context():
        assert held_for(firm) == (50_000, 50_000)
        assert held_for(firm, firm.client_b, firm.matter_b1) == (900_000, 900_000)
        assert payments()[0].refunded_cents == 0
        assert check_books() == []


def test_a_double_clicked_refund_refunds_once(app, firm, client, mailbox):
    _, payment_id = paid(app, firm, mailbox)
    key = secrets.token_urlsafe(24)
    refund(client, payment_id, "1,000.00", key=key)
    refund(client, payment_id, "1,000.00", key=key)
    with app.app_context():
        assert db.session.query(Refund).count() == 1
        assert held_for(firm) == (400_000, 400_000)


def test_only_a_lawyer_or_admin_refunds(app, firm, mailbox, auth, client):
    _, payment_id = paid(app, firm, mailbox)
    from tests.factories import gen_user

    with app.app_context():
        bookkeeper = gen_user("bookkeeper")
    auth.logout()
    auth.login_as(bookkeeper)
    assert post(client, f"/bills/payments/{payment_id}/refund", {"amount": "1", "reason": "x"}).status_code == 403


def test_the_payments_list_filters_and_totals(app, firm, client, mailbox):
    paid(app, firm, mailbox, "2,000.00")
    page = text(client.get("/bills/payments"))
    assert "R-000001" in page and "$2,000.00" in page and "$58.30" in page  # 2.9% + 30 cents
    rows = text(client.get("/bills/payments?status=refunded", headers={"HX-Request": "true"}))
    assert "R-000001" not in rows and "No payments here." in rows and "<html" not in rows


def test_a_payments_deposit_is_refunded_not_reversed(app, firm, client, mailbox):
    _, payment_id = paid(app, firm, mailbox)
    with app.app_context():
        from trustweb.ledger.rules import LedgerError
        from trustweb.models import Payment
        from trustweb.services.trust import reverse

        entry = db.session.get(Payment, payment_id).journal_entry
        with pytest.raises(LedgerError, match="belongs to payment R-000001"):
            reverse(entry, reason="Mistake")
        db.session.rollback()
        assert held_for(firm) == (500_000, 500_000)
