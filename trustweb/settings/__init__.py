from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="/settings")

from trustweb.settings import logo, processors, routes, templates  # noqa: E402,F401
