"""Settings: the firm's logo, shown on the client portal."""

from flask import url_for
from flask_login import current_user

from trustweb.auth.permissions import requires
from trustweb.images import LOGO_BOX, MAX_BYTES
from trustweb.services import firm as firm_service
from trustweb.settings import bp
from trustweb.settings.forms import LogoForm
from trustweb.views import button_action, form_page


@bp.route("/logo", methods=["GET", "POST"])
@requires("manage_settings")
def logo():
    """The current logo, and a new one uploaded in its place."""
    form = LogoForm()
    return form_page(
        form,
        "settings/logo.html",
        lambda: firm_service.save_logo(form.contents(), current_user),
        lambda saved: (
            f"Logo saved ({saved.width}×{saved.height} pixels); clients see it on the portal.",
            url_for("settings.logo"),
        ),
        box=LOGO_BOX,
        max_mb=MAX_BYTES // 2**20,
    )


@bp.post("/logo/remove")
@requires("manage_settings")
def remove_logo():
    return button_action(
        lambda: firm_service.remove_logo(current_user),
        lambda _: "Logo removed; the portal shows the firm's name instead.",
        url_for("settings.logo"),
    )
