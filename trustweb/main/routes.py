from flask import redirect, render_template, request, url_for
from flask_login import current_user

from trustweb.auth.permissions import public, requires, safe_next
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


@bp.get("/login")
@public
def login():
    """The address people type to sign in: the sign-in page, with where to go after it if that is on this site."""
    return redirect(url_for("auth.login", next=safe_next(request.args.get("next"))), 301)
