"""The page a "request a payment method" email links to: the client saves a card or bank account for later."""

from flask import Blueprint

from trustweb.pay import private

bp = Blueprint("methods", __name__, url_prefix="/methods")
bp.after_request(private)

from trustweb.methods import routes  # noqa: E402,F401
