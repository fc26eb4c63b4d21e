"""The Outbox page: every email the firm sends, where it is, as it went; retry and cancel."""

from flask import Blueprint

bp = Blueprint("outbox", __name__, url_prefix="/outbox")

from trustweb.outbox import routes  # noqa: E402,F401
