"""The administrator cannot set up a currency whose card fees would have nowhere to go but another currency."""

from sqlalchemy import select

from tests.conftest import post
from tests.currency.steps import gen_two_currencies
from tests.factories import gen_account
from trustweb.extensions import db
from trustweb.models import BankAccount


def account_form(**fields):
    return {"name": "Client Trust (CAD)", "kind": "trust", "is_iolta": "y", "currency": "CAD", **fields}


def processor_form(**fields):
    return {"processor": "test", "fee_mode": "billed", "ach_hold_days": "5", **fields}


def test_a_cad_trust_account_needs_a_cad_operating_account_first(app, client, admin):
    with app.app_context():
        gen_account("Client Trust (USD)", is_default=True)
        gen_account("Operating (USD)", kind="operating", is_default=True)
    response = post(client, "/settings/accounts/new", account_form())
    assert response.status_code == 422
    assert "no open operating account in CAD" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(BankAccount).where(BankAccount.currency == "CAD")) is None

    # The CAD operating account first, then the CAD trust account is accepted.
    form = account_form(name="Operating (CAD)", kind="operating", is_iolta="")
    assert post(client, "/settings/accounts/new", form).status_code == 303
    assert post(client, "/settings/accounts/new", account_form()).status_code == 303


def test_an_account_cannot_be_moved_into_a_currency_without_its_operating_account(app, client, admin):
    with app.app_context():
        gen_account("Operating (USD)", kind="operating", is_default=True)
        trust = gen_account("Client Trust", is_default=True)
    response = post(client, f"/settings/accounts/{trust.id}", account_form(name="Client Trust"))
    assert response.status_code == 422 and "no open operating account in CAD" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(BankAccount, trust.id).currency == "USD"


def test_the_cad_operating_account_cannot_close_while_a_cad_trust_account_takes_payments(app, client, admin):
    with app.app_context():
        firm = gen_two_currencies()
    page = post(client, f"/settings/accounts/{firm.cad_operating}/active", follow_redirects=True)
    assert "no open operating account in CAD" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(BankAccount, firm.cad_operating).active


def test_a_processor_on_a_cad_trust_account_with_no_cad_operating_account_is_refused(app, client, admin):
    with app.app_context():
        firm = gen_two_currencies(cad_operating=False)  # left from before the rule, or made by hand
    response = post(client, f"/settings/accounts/{firm.cad_trust}/processor", processor_form())
    assert response.status_code == 422
    assert "no open operating account in CAD" in response.get_data(as_text=True)
    # The USD trust account, which has its operating account, is set up as before.
    assert post(client, f"/settings/accounts/{firm.usd_trust}/processor", processor_form()).status_code == 303
