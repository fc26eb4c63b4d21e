from flask import render_template

from trustweb.auth.permissions import requires
from trustweb.reports import bp


@bp.get("/")
@requires("view")
def index():
    """The list of reports the firm can run."""
    return render_template("reports/index.html")
