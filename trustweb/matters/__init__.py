from flask import Blueprint

bp = Blueprint("matters", __name__, url_prefix="/matters")

from trustweb.matters import routes  # noqa: E402,F401
