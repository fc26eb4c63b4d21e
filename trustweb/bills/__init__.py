from flask import Blueprint

bp = Blueprint("bills", __name__, url_prefix="/bills")

from trustweb.bills import actions, desk, invoices, payments, routes  # noqa: E402,F401
