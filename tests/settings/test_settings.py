"""The administrator sets up the firm: its details and its bank accounts."""

import pytest
from sqlalchemy.exc import IntegrityError

from tests.conftest import post
from tests.factories import gen_account
from trustweb.extensions import db
from trustweb.models import BankAccount, FirmSettings


def account_form(**fields):
    return {
        "name": "IOLTA Trust",
        "kind": "trust",
        "is_iolta": "y",
        "bank_name": "First Community Bank",
        "account_last4": "4471",
        "currency": "USD",
        **fields,
    }


def test_firm_settings_are_saved_and_shown(app, client, admin):
    response = post(
        client,
        "/settings/",
        {
            "firm_name": "Hartwell & Okafor LLP",
            "address": "400 Market St",
            "email": "Office@HO.example.com",
            "phone": "555-0140",
            "timezone": "America/Chicago",
            "currency": "CAD",
            "require_approval": "y",
            "pay_link_days": "30",
            "remind_days_before": "2",
            "remind_overdue_every": "5",
            "card_fee_percent": "3.25",
            "card_fee_fixed": "0.25",
            "payment_instructions": "Wire to First Community Bank, account 4471.",
            "trust_notice_days": "3",
            "reminder_hour": "7",
            "request_due_days": "30",
        },
    )
    assert response.status_code == 303
    page = client.get("/").get_data(as_text=True)
    assert "Hartwell &amp; Okafor LLP" in page
    with app.app_context():
        settings = db.session.get(FirmSettings, 1)
        assert (settings.email, settings.timezone, settings.currency) == (
            "office@ho.example.com",
            "America/Chicago",
            "CAD",
        )
        assert (settings.require_approval, settings.pay_link_days, settings.remind_days_before) == (True, 30, 2)
        # 3.25% is 325 basis points and 25 cents, held as integers.
        assert (settings.card_fee_basis_points, settings.card_fee_fixed_cents) == (325, 25)
    # The form shows them back as they were typed.
    form = client.get("/settings/").get_data(as_text=True)
    assert 'value="3.25"' in form and 'value="0.25"' in form and 'value="30"' in form


def test_first_accounts_of_each_kind_become_the_defaults(app, client, admin):
    assert post(client, "/settings/accounts/new", account_form()).status_code == 303
    assert (
        post(
            client, "/settings/accounts/new", account_form(name="Operating", kind="operating", is_iolta="")
        ).status_code
        == 303
    )
    assert post(client, "/settings/accounts/new", account_form(name="Escrow Trust", is_iolta="")).status_code == 303
    with app.app_context():
        accounts = {a.name: a for a in db.session.scalars(db.select(BankAccount))}
        assert accounts["IOLTA Trust"].is_default and accounts["IOLTA Trust"].is_iolta
        assert accounts["Operating"].is_default and not accounts["Operating"].is_iolta
        assert not accounts["Escrow Trust"].is_default
    page = client.get("/settings/accounts").get_data(as_text=True)
    assert "••••4471" in page and "Default trust" in page and "Default operating" in page


def test_making_another_account_the_default_moves_the_flag(app, client, admin):
    with app.app_context():
        first = gen_account("IOLTA Trust", is_default=True)
        second = gen_account("Escrow Trust")
    assert post(client, f"/settings/accounts/{second.id}/default").status_code == 303
    with app.app_context():
        assert not db.session.get(BankAccount, first.id).is_default
        assert db.session.get(BankAccount, second.id).is_default


def test_the_database_allows_one_default_per_kind(app):
    with app.app_context():
        gen_account("IOLTA Trust", is_default=True)
        db.session.add(BankAccount(name="Rogue", kind="trust", is_iolta=False, currency="USD", is_default=True))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_an_operating_account_cannot_be_iolta(app, client, admin):
    post(client, "/settings/accounts/new", account_form(name="Operating", kind="operating"))
    with app.app_context():
        assert not db.session.scalar(db.select(BankAccount)).is_iolta
        db.session.add(BankAccount(name="Bad", kind="operating", is_iolta=True, currency="USD", is_default=False))
        with pytest.raises(IntegrityError):
            db.session.commit()


def test_the_default_account_cannot_be_closed(app, client, admin):
    with app.app_context():
        account = gen_account("IOLTA Trust", is_default=True)
    page = post(client, f"/settings/accounts/{account.id}/active", follow_redirects=True).get_data(as_text=True)
    assert "Make another account the default before closing this one." in page
    with app.app_context():
        assert db.session.get(BankAccount, account.id).active


def test_close_and_reopen_an_account(app, client, admin):
    with app.app_context():
        gen_account("IOLTA Trust", is_default=True)
        spare = gen_account("Old Trust")
    assert post(client, f"/settings/accounts/{spare.id}/active").status_code == 303
    with app.app_context():
        assert not db.session.get(BankAccount, spare.id).active
    page = post(client, f"/settings/accounts/{spare.id}/default", follow_redirects=True).get_data(as_text=True)
    assert "A closed account cannot be the default." in page
    post(client, f"/settings/accounts/{spare.id}/active")
    with app.app_context():
        assert db.session.get(BankAccount, spare.id).active


def test_an_account_kind_never_changes(app, client, admin):
    with app.app_context():
        account = gen_account("IOLTA Trust", is_default=True)
    response = post(client, f"/settings/accounts/{account.id}", account_form(kind="operating"))
    assert response.status_code == 422
    assert "kind cannot change" in response.get_data(as_text=True)


def test_duplicate_account_names_are_refused(app, client, admin):
    with app.app_context():
        gen_account("IOLTA Trust", is_default=True)
    response = post(client, "/settings/accounts/new", account_form())
    assert response.status_code == 422
    assert "Another account already has this name." in response.get_data(as_text=True)


def test_account_names_differ_by_more_than_case(app, client, admin):
    with app.app_context():
        gen_account("IOLTA Trust", is_default=True)
    response = post(client, "/settings/accounts/new", account_form(name="iolta trust"))
    assert response.status_code == 422


def test_last_four_digits_are_ascii_digits(app, client, admin):
    response = post(client, "/settings/accounts/new", account_form(account_last4="١٢٣٤"))
    assert response.status_code == 422
    assert "Enter exactly four digits." in response.get_data(as_text=True)


def test_reading_settings_never_writes(app, client, admin):
    client.get("/")
    client.get("/settings/")
    with app.app_context():
        assert db.session.get(FirmSettings, 1) is None


def test_the_days_a_new_request_is_due_after_are_0_to_365(app, client, admin):
    form = client.get("/settings/").get_data(as_text=True)
    assert "Requests are due this many days after they are made" in form and 'value="14"' in form
    base = {
        "firm_name": "Hartwell & Okafor LLP",
        "timezone": "America/Chicago",
        "currency": "USD",
        "pay_link_days": "60",
        "remind_days_before": "3",
        "remind_overdue_every": "7",
        "reminder_hour": "8",
        "trust_notice_days": "0",
        "card_fee_percent": "2.9",
        "card_fee_fixed": "0.30",
    }
    for bad in ("366", "-1"):
        response = post(client, "/settings/", {**base, "request_due_days": bad})
        assert response.status_code == 422
        assert "Enter a number of days from 0 to 365." in response.get_data(as_text=True)
    assert post(client, "/settings/", {**base, "request_due_days": "0"}).status_code == 303
    with app.app_context():
        assert db.session.get(FirmSettings, 1).request_due_days == 0
