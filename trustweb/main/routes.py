from flask import render_template
from flask_login import current_user

from trustweb.auth.permissions import requires
from trustweb.main import bp
from trustweb.services.dashboard import at_a_glance
from trustweb.services.trust import firm_today
from trustweb.trust.forms import ReplaceShortfallForm


@bp.get("/")
@requires("view")
def dashboard():
    """The firm at a glance, and the signed-in lawyer's own open matters."""
    today = firm_today()
    return render_template(
        "main/dashboard.html",
        **at_a_glance(current_user.id, today),
        replace_form=ReplaceShortfallForm(formdata=None),
        today=today.isoformat(),
    )
