from flask import Blueprint

bp = Blueprint("trust", __name__, url_prefix="/trust")

from trustweb.trust import routes  # noqa: E402,F401
