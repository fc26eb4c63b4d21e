"""A CAD trust account on Stripe: the real stripe library opens a Checkout Session in CAD, and the fee of what is
paid stays in Canadian dollars."""

import re

import pytest

from tests.conftest import built_app
from tests.currency.steps import expenses, gen_request, gen_two_currencies
from tests.requests.steps import CHECKOUT, CSRF, text
from tests.stripe_standin import TEST_API_KEY, WEBHOOK_SECRET, deliver
from trustweb.extensions import db
from trustweb.models import BankAccount, Payment
from trustweb.services.books import check_books

KEYS = {"secret_key": TEST_API_KEY, "webhook_secret": WEBHOOK_SECRET}


@pytest.fixture
def app(database, pg_schema, standin):
    config = {"STRIPE_API_BASE": standin.url, "STRIPE_KEYS": {"trust": KEYS, "operating": {}}}
    with built_app(database, pg_schema, BASE_URL="http://localhost", **config) as app:
        yield app


@pytest.fixture
def firm(app):
    """Both trust accounts on Stripe, which bills its fees to the firm (booked to operating)."""
    with app.app_context():
        firm = gen_two_currencies()
        for account_id in (firm.cad_trust, firm.usd_trust):
            account = db.session.get(BankAccount, account_id)
            account.processor, account.fee_mode = "stripe", "billed"
        db.session.commit()
        return firm


def checkout(app, firm, account_id, amount):
    """The client opens the link and presses Continue; the Checkout Session's id."""
    with app.app_context():
        _, path = gen_request(firm, account_id, amount)
    payer = app.test_client()
    html = text(payer.get(path))
    form = {"csrf_token": CSRF.search(html).group(1), "checkout": CHECKOUT.search(html).group(1)}
    response = payer.post(path, data={**form, "amount": f"{amount / 100:.2f}"})
    assert response.status_code == 303, text(response)
    return re.search(r"/pay/(cs_test_\w+)", response.headers["Location"]).group(1)


def test_a_cad_checkout_is_created_in_cad_and_its_fee_booked_in_cad(app, firm, client, standin):
    session_id = checkout(app, firm, firm.cad_trust, 100_000)
    session = standin.session(session_id)
    assert session["currency"] == "cad" and session["amount_total"] == 100_000
    # Stripe takes US bank payments in US dollars only: a CAD checkout offers cards.
    assert session["payment_method_types"] == ["card"]
    standin.complete(session_id)
    assert deliver(client, standin, standin.checkout_session_completed(session_id)).status_code == 200
    with app.app_context():
        payment = db.session.query(Payment).one()
        assert (payment.status, payment.fee_cents) == ("succeeded", 2_930)
        assert (expenses(firm.cad_operating), expenses(firm.usd_operating)) == (2_930, 0)
        assert check_books() == []


def test_a_usd_checkout_beside_it_stays_in_usd_with_bank_payments(app, firm, standin):
    session = standin.session(checkout(app, firm, firm.usd_trust, 50_000))
    assert session["currency"] == "usd" and session["payment_method_types"] == ["card", "us_bank_account"]
