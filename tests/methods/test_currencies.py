"""Saved methods and a firm in two currencies on one Stripe account: a US bank account pays only US dollar
accounts, and a fee Stripe reports in another currency than the payment's is never booked as this one's."""

import pytest

from tests.conftest import built_app
from tests.currency.steps import gen_two_currencies
from tests.stripe_standin import TEST_API_KEY, WEBHOOK_SECRET
from trustweb.extensions import db
from trustweb.models import BankAccount, Contact
from trustweb.payments import SavedDetails
from trustweb.services import saved_methods

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
            db.session.get(BankAccount, account_id).processor = "stripe"
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
