"""Secrets the firm types into the app (processor keys), kept encrypted in the database.

Fernet (AES-128-CBC with HMAC-SHA256) under a key derived from the app's
SECRET_KEY with HKDF, so a copy of the database alone does not give away the
keys. Changing SECRET_KEY makes saved keys unreadable: they must be entered
again (the settings page says so).
"""

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


def _fernet():
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"trustweb processor keys").derive(
        current_app.config["SECRET_KEY"].encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(text):
    return _fernet().encrypt(text.encode()).decode()


def decrypt(token):
    """The saved text, or None when there is none or it cannot be read (the secret key changed)."""
    if not token:
        return None
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return None
