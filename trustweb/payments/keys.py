"""A processor's keys: from the environment, or typed into the app by the firm and kept encrypted in the database.

Fernet (AES-128-CBC with HMAC-SHA256) under a key derived from the app's
SECRET_KEY with HKDF, so a copy of the database alone does not give away the
keys. Changing SECRET_KEY makes saved keys unreadable: they must be entered
again (the settings page says so).
"""

import base64
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from trustweb.models import BankAccount


def _fernet() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"trustweb processor keys").derive(
        current_app.config["SECRET_KEY"].encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode()


def decrypt(token: str | None) -> str | None:
    """The saved text, or None when there is none or it cannot be read (the secret key changed)."""
    if not token:
        return None
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return None


@dataclass(frozen=True)
class StripeKeys:
    secret_key: str | None
    webhook_secret: str | None
    from_environment: bool


def stripe_keys(account: BankAccount) -> StripeKeys:
    """The account's Stripe keys: from the environment (by account kind) if set there, else as saved."""
    configured = current_app.config["STRIPE_KEYS"].get(account.kind, {})
    if configured.get("secret_key"):
        return StripeKeys(configured["secret_key"], configured.get("webhook_secret"), True)
    return StripeKeys(decrypt(account.stripe_secret_key_enc), decrypt(account.stripe_webhook_secret_enc), False)
