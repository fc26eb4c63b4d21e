from flask import Blueprint

bp = Blueprint("main", __name__)

from trustweb.main import routes  # noqa: E402,F401
