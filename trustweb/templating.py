"""What every template can use: htmx source, the firm, permissions, money formatting."""

from flask import current_app, g, url_for

from trustweb.auth.permissions import can
from trustweb.config import HTMX_CDN_URL, HTMX_SRI, HTMX_VERSION
from trustweb.ledger.money import format_cents, plain_cents


def firm():
    """The firm's settings, read once per request."""
    from trustweb.models import FirmSettings

    if "firm" not in g:
        g.firm = FirmSettings.get()
    return g.firm


def htmx_script():
    if current_app.config["HTMX_SOURCE"] == "local":
        return {"src": url_for("static", filename=f"vendor/htmx-{HTMX_VERSION}.min.js"), "integrity": HTMX_SRI}
    return {"src": HTMX_CDN_URL, "integrity": HTMX_SRI}


def money(cents):
    if cents is None:
        return ""
    return format_cents(cents, firm().currency)


def register(app):
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["plain"] = plain_cents
    import secrets

    from trustweb.models.base import utcnow

    # A fresh key for a one-click money form (a refund): the service refuses a second post with the same key.
    app.jinja_env.globals.update(
        can=can, firm=firm, htmx_script=htmx_script, now=utcnow, new_key=lambda: secrets.token_urlsafe(24)
    )
