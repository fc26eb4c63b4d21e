from flask import render_template

from trustweb.auth.permissions import requires
from trustweb.bills import bp


@bp.get("/")
@requires("view")
def index():
    """Trust requests and invoices (filled in by the trust request and invoice features)."""
    return render_template("bills/index.html")
