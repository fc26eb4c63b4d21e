"""Payment plans, for staff: set one up for a client's request, invoice or matter, follow it, pause, change, stop."""

from flask import Blueprint

bp = Blueprint("plans", __name__, url_prefix="/plans")

from trustweb.plans import routes  # noqa: E402,F401
