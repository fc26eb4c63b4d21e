"""The audit trail page: every event, filtered and paged, its before and after, the chain verified, CSV export."""

from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/audit")

from trustweb.audit import routes  # noqa: E402,F401
