"""An admin puts an account on Stripe: keys saved encrypted, never shown again, never in the audit trail."""

from sqlalchemy import select

from tests.conftest import post
from tests.factories import gen_account, gen_user
from trustweb.extensions import db
from trustweb.models import AuditEvent, BankAccount
from trustweb.payments import stripe_keys

SECRET = "sk_test_51AbCdEfGhIjKlMnOpQrStUv"
WEBHOOK = "whsec_ZyXwVuTsRqPoNm"


def settings(client, account_id, **fields):
    data = {"processor": "stripe", "fee_mode": "deducted", "ach_hold_days": "5", **fields}
    return post(client, f"/settings/accounts/{account_id}/processor", data)


def test_keys_are_saved_encrypted_and_never_shown_again(app, client, auth):
    with app.app_context():
        admin = gen_user("admin")
        account = gen_account("IOLTA Trust", is_default=True)
    auth.login_as(admin)
    page = client.get(f"/settings/accounts/{account.id}/processor").get_data(as_text=True)
    assert "Test processor" in page and "/webhooks/stripe" in page

    assert settings(client, account.id, secret_key=SECRET, webhook_secret=WEBHOOK).status_code == 303
    with app.app_context():
        saved = db.session.get(BankAccount, account.id)
        assert saved.processor == "stripe"
        assert SECRET not in saved.stripe_secret_key_enc and WEBHOOK not in saved.stripe_webhook_secret_enc
        assert stripe_keys(saved).secret_key == SECRET and stripe_keys(saved).webhook_secret == WEBHOOK
        trail = " ".join((e.before or "") + (e.after or "") for e in db.session.scalars(select(AuditEvent)))
        assert SECRET not in trail and WEBHOOK not in trail and '"key_saved":true' in trail
    page = client.get(f"/settings/accounts/{account.id}/processor").get_data(as_text=True)
    assert SECRET not in page and WEBHOOK not in page and "saved (not shown again)" in page
    # Stripe keeps its fees from payouts into a trust account: the page says what that means.
    assert "the firm must replace" in page.lower()
    # Saving again with the key fields empty keeps the keys.
    assert settings(client, account.id, fee_mode="billed").status_code == 303
    with app.app_context():
        assert stripe_keys(db.session.get(BankAccount, account.id)).secret_key == SECRET


def test_stripe_without_keys_or_with_a_wrong_key_is_refused(app, client, auth):
    with app.app_context():
        admin = gen_user("admin")
        account = gen_account("IOLTA Trust", is_default=True)
    auth.login_as(admin)
    response = settings(client, account.id)
    assert response.status_code == 422 and "Enter the Stripe secret key" in response.get_data(as_text=True)
    response = settings(client, account.id, secret_key="pk_test_123", webhook_secret=WEBHOOK)
    assert response.status_code == 422 and "starts with sk_test_" in response.get_data(as_text=True)
    response = settings(client, account.id, ach_hold_days="31", secret_key=SECRET, webhook_secret=WEBHOOK)
    assert response.status_code == 422
    with app.app_context():
        saved = db.session.get(BankAccount, account.id)
        assert (saved.processor, saved.stripe_secret_key_enc) == ("test", None)


def test_a_changed_app_secret_makes_saved_keys_unreadable_not_an_error(app, client, auth):
    with app.app_context():
        admin = gen_user("admin")
        account = gen_account("IOLTA Trust", is_default=True)
    auth.login_as(admin)
    settings(client, account.id, secret_key=SECRET, webhook_secret=WEBHOOK)
    app.config["SECRET_KEY"] = "another secret key entirely"
    with app.app_context():
        assert stripe_keys(db.session.get(BankAccount, account.id)).secret_key is None
