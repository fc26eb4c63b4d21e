"""Saved methods and a firm in two currencies on one Stripe account: a US bank account pays only US dollar
accounts, and a fee Stripe reports in another currency than the payment's is never booked as this one's."""

import json
import re

import pytest
from sqlalchemy import select

from tests.conftest import built_app
from tests.currency.steps import expenses, gen_request, gen_two_currencies
from tests.requests.steps import CHECKOUT, CSRF, text
from tests.stripe_standin import TEST_API_KEY, WEBHOOK_SECRET, card_fee, deliver
from trustweb.extensions import db
from trustweb.models import AuditEvent, BankAccount, Contact, FirmSettings, OutboxMessage, Payment
from trustweb.payments import SavedDetails, processor_for
from trustweb.services import saved_methods
from trustweb.services.books import check_books

KEYS = {"secret_key": TEST_API_KEY, "webhook_secret": WEBHOOK_SECRET}


@pytest.fixture
def app(database, pg_schema, standin):
    config = {"STRIPE_API_BASE": standin.url, "STRIPE_KEYS": {"trust": KEYS, "operating": {}}}
    with built_app(database, pg_schema, BASE_URL="http://localhost", **config) as app:
        yield app


@pytest.fixture
def firm(app):
    """A USD and a CAD trust account on the same Stripe account (the same secret key)."""
    with app.app_context():
        firm = gen_two_currencies()
        for account_id in (firm.cad_trust, firm.usd_trust):
            account = db.session.get(BankAccount, account_id)
            account.processor, account.fee_mode = "stripe", "billed"
        db.session.commit()
        return firm


def kept(firm, kind, reference):
    """A method client saved at Stripe (recorded as the setup's return records it); the row."""
    details = SavedDetails(reference, "cus_test_1", kind, "visa" if kind == "card" else "STRIPE TEST BANK", "6789")
    method = saved_methods.record_saved(
        db.session.get(Contact, firm.client),
        db.session.get(BankAccount, firm.usd_trust),
        details,
        processor="stripe",
        consent_text="I authorise the firm.",
        consent_ip=None,
        user=None,
        actor="client",
    )
    db.session.commit()
    return method


def test_a_saved_us_bank_account_pays_only_the_us_dollar_account_a_card_pays_both(app, firm):
    with app.app_context():
        usd = db.session.get(BankAccount, firm.usd_trust)
        cad = db.session.get(BankAccount, firm.cad_trust)
        bank = kept(firm, "us_bank_account", "pm_bank_1")
        card = kept(firm, "card", "pm_card_1")
        assert saved_methods.usable_for(bank, usd) and not saved_methods.usable_for(bank, cad)
        assert saved_methods.usable_for(card, usd) and saved_methods.usable_for(card, cad)


def test_a_fee_stripe_reports_in_us_dollars_for_a_cad_payment_is_not_booked_as_cad_and_staff_are_told(
    app, firm, client, standin
):
    standin.settle_in("usd", 0.73)  # one Stripe account, paid out in US dollars only
    with app.app_context():
        _, path = gen_request(firm, firm.cad_trust, 100_000)
    payer = app.test_client()
    html = text(payer.get(path))
    form = {"csrf_token": CSRF.search(html).group(1), "checkout": CHECKOUT.search(html).group(1)}
    started = payer.post(path, data={**form, "amount": "1000.00"})
    session_id = re.search(r"/pay/(cs_test_\w+)", started.headers["Location"]).group(1)
    standin.complete(session_id)
    assert deliver(client, standin, standin.checkout_session_completed(session_id)).status_code == 200
    usd_fee = round(card_fee(100_000) * 0.73)
    with app.app_context():
        payment = db.session.scalars(select(Payment)).one()
        assert (payment.status, payment.amount_cents, payment.fee_cents) == ("succeeded", 100_000, 0)
        assert (expenses(firm.cad_operating), expenses(firm.usd_operating)) == (0, 0)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "payment.fee_not_booked"))
        after = json.loads(event.after)
        assert (after["fee_cents"], after["fee_currency"], after["payment_currency"]) == (usd_fee, "USD", "CAD")
        notice = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "lawyer_notice"))
        assert "Fee:        not booked: Stripe settled this CAD payment in USD" in notice.text_body
        assert check_books() == []


def test_a_saved_card_charged_in_cad_reports_stripes_usd_fee_apart(app, firm, standin):
    standin.settle_in("usd", 0.73)
    api = standin.client()
    customer = api.v1.customers.create({"name": "Ada Archer"}).id
    session = api.v1.checkout.sessions.create(
        {
            "mode": "setup",
            "customer": customer,
            "currency": "cad",
            "success_url": "http://localhost/x",
            "cancel_url": "http://localhost/y",
        }
    )
    standin.complete(session.id)
    method = standin.session(session.id)["setup_intent"]
    method = standin.get(method)["payment_method"]
    with app.app_context():
        processor = processor_for(db.session.get(BankAccount, firm.cad_trust), FirmSettings.get())
        charged = processor.charge_saved(
            50_000,
            currency="CAD",
            method_reference=method,
            customer_reference=customer,
            idempotency_key="plan:1:1",
            description="R-1",
            metadata={},
        )
    assert (charged.fee_cents, charged.currency) == (0, "CAD")
    assert (charged.foreign_fee.amount_cents, charged.foreign_fee.currency) == (round(card_fee(50_000) * 0.73), "USD")
