from flask import Blueprint

bp = Blueprint("reconciliations", __name__, url_prefix="/reconciliations")

from trustweb.reconcile import routes  # noqa: E402,F401
