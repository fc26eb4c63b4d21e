"""What every template can use: htmx source, the firm, permissions, money, and moments on the firm's clock."""

from flask import current_app, url_for

from trustweb.auth.permissions import can
from trustweb.config import HTMX_CDN_URL, HTMX_SRI, HTMX_VERSION
from trustweb.ledger.money import format_cents, format_totals, per_currency, plain_cents
from trustweb.qr import qr_svg
from trustweb.services.trust import firm_time


def firm():
    """The firm's settings (FirmSettings.get() reads them once per transaction)."""
    from trustweb.models import FirmSettings

    return FirmSettings.get()


def firm_logo():
    """The firm's logo (without its bytes), or None when it has none; read once per transaction."""
    from trustweb.models import FirmLogo

    return FirmLogo.get()


def htmx_script():
    """Where htmx comes from; from the CDN, with our own copy (the same file) as the fallback when it fails."""
    local = url_for("static", filename=f"vendor/htmx-{HTMX_VERSION}.min.js")
    if current_app.config["HTMX_SOURCE"] == "local":
        return {"src": local, "integrity": HTMX_SRI, "fallback": None}
    return {"src": HTMX_CDN_URL, "integrity": HTMX_SRI, "fallback": local}


def money(cents, currency=None):
    """Cents written in a currency: the bank account's the money is in (`amount | money(account.currency)`), or
    the firm's when none is given. Babel's en_US signs tell each currency apart ($, CA$, €, £, A$, NZ$)."""
    if cents is None:
        return ""
    return format_cents(cents, currency or firm().currency)


def money_totals(totals):
    """Sums kept per currency ({"CAD": 25000, "USD": 100000}), each written in its own: "$1,000.00 and
    CA$250.00"; never one figure across two currencies. Nothing is zero in the firm's currency."""
    return format_totals(totals or {}, first=firm().currency)


def held_totals(ledgers):
    """What ledgers hold, per currency of their trust accounts ({"CAD": cents}), for money_totals."""
    return per_currency((ledger.bank_account.currency, ledger.balance_cents) for ledger in ledgers)


def on_firm_clock(moment):
    """A stored moment (UTC) in the firm's time zone, for a template that formats it itself."""
    return firm_time(moment, firm()) if moment is not None else None


def firm_date(moment):
    """2026-11-29: the day a stored moment (UTC) fell on in the firm's time zone."""
    if moment is None:
        return ""
    return on_firm_clock(moment).date().isoformat()


def firm_clock(moment, zone=False):
    """2026-11-29 23:30 on the firm's clock (with zone: "2026-11-29 23:30 PST", for what is printed or exported)."""
    if moment is None:
        return ""
    return on_firm_clock(moment).strftime("%Y-%m-%d %H:%M %Z" if zone else "%Y-%m-%d %H:%M")


def register(app):
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["money_totals"] = money_totals
    app.jinja_env.filters["held_totals"] = held_totals
    app.jinja_env.filters["firm_time"] = on_firm_clock
    app.jinja_env.filters["firm_date"] = firm_date
    app.jinja_env.filters["firm_clock"] = firm_clock
    app.jinja_env.filters["plain"] = plain_cents
    import secrets

    from trustweb.models.base import utcnow

    # A fresh key for a one-click money form (a refund): the service refuses a second post with the same key.
    from trustweb.services.mail import mail_is_set_up, retryable, state

    app.jinja_env.globals.update(
        can=can,
        firm=firm,
        firm_logo=firm_logo,
        htmx_script=htmx_script,
        now=utcnow,
        qr_svg=qr_svg,
        new_key=lambda: secrets.token_urlsafe(24),
        mail_state=state,
        mail_is_set_up=mail_is_set_up,
    )
    app.jinja_env.tests["retryable"] = retryable  # an email a Retry would help
