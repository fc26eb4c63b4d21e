"""Settings: the email templates for trust requests and reminders, with a live preview."""

from flask import render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from trustweb.auth.permissions import requires
from trustweb.database import write_transaction
from trustweb.extensions import db
from trustweb.models import EmailTemplate
from trustweb.refusals import ServiceError
from trustweb.services import templates as template_service
from trustweb.settings import bp
from trustweb.settings.forms import TemplateForm
from trustweb.templating import firm
from trustweb.views import button_action, form_page, get_or_404


def all_templates():
    return db.session.scalars(select(EmailTemplate).order_by(EmailTemplate.kind, EmailTemplate.name)).all()


@bp.get("/templates")
@requires("manage_settings")
def templates():
    rows = all_templates()
    if set(template_service.DEFAULTS) - {row.kind for row in rows if row.is_default}:
        with write_transaction():  # the built-in defaults appear the first time, in a short write of their own
            for kind in template_service.DEFAULTS:
                template_service.default_template(kind)
        rows = all_templates()
    return render_template("settings/templates.html", templates=rows)


def template_page(template):
    form = TemplateForm(obj=template)
    return form_page(
        form,
        "settings/template.html",
        lambda: template_service.save_template(template, form.values(), current_user),
        lambda saved: (f"Template “{saved.name}” saved.", url_for("settings.templates")),
        email_template=template,
        fields=template_service.FIELDS.get(form.kind.data or "request", template_service.REQUEST_FIELDS),
        preview=preview_of(form.subject.data, form.body.data, form.kind.data),
    )


@bp.route("/templates/new", methods=["GET", "POST"])
@requires("manage_settings")
def create_template():
    return template_page(None)


@bp.route("/templates/<int:template_id>", methods=["GET", "POST"])
@requires("manage_settings")
def update_template(template_id):
    return template_page(get_or_404(EmailTemplate, template_id))


@bp.post("/templates/<int:template_id>/default")
@requires("manage_settings")
def default_template(template_id):
    template = get_or_404(EmailTemplate, template_id)
    return button_action(
        lambda: template_service.make_default(template, current_user),
        lambda saved: f"“{saved.name}” is now the default {saved.kind_label.lower()} template.",
        url_for("settings.templates"),
    )


def preview_of(subject, body, kind):
    """(subject, text, html) with sample values, or the reason the template is refused."""
    if not subject and not body:
        return None
    kind = kind if kind in template_service.FIELDS else "request"
    try:
        return {
            "parts": template_service.render(
                subject or "", body or "", template_service.sample_values(firm().firm_name), kind
            )
        }
    except ServiceError as error:
        return {"error": str(error)}


@bp.post("/templates/preview")
@requires("manage_settings")
def preview_template():
    """The live preview beside the template editor (htmx, as the admin types)."""
    preview = preview_of(
        request.form.get("subject", "")[:300], request.form.get("body", "")[:20_000], request.form.get("kind")
    )
    kind = request.form.get("kind")
    fields = template_service.FIELDS.get(kind, template_service.REQUEST_FIELDS)
    return render_template("settings/_template_preview.html", preview=preview, fields=fields)
