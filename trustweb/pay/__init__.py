from flask import Blueprint

bp = Blueprint("pay", __name__, url_prefix="/pay")

from trustweb.pay import routes  # noqa: E402,F401
