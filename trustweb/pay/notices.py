"""The client's notice of trust money to be applied to an invoice: a public page to dispute it."""

from flask import Blueprint, redirect, render_template, url_for
from wtforms import TextAreaField
from wtforms.validators import Length, Optional

from trustweb.auth.permissions import public
from trustweb.extensions import db, limiter
from trustweb.forms import BaseForm
from trustweb.pay import private
from trustweb.refusals import ServiceError
from trustweb.services import invoice_trust

bp = Blueprint("notices", __name__, url_prefix="/notice")


class DisputeForm(BaseForm):
    reason = TextAreaField("What do you dispute? (optional)", validators=[Optional(), Length(max=1000)])


bp.after_request(private)


def found(token):
    application = invoice_trust.application_for_notice(token)
    if application is None:
        return None, (
            render_template(
                "pay/closed.html",
                title="This link is not valid",
                hint="Check that the whole link was copied from the email.",
                link=None,
            ),
            404,
        )
    return application, None


@bp.get("/<token>")
@limiter.limit("60 per minute")
@public
def show(token):
    application, missing = found(token)
    if missing:
        return missing
    return render_template(
        "pay/notice.html",
        application=application,
        invoice=application.invoice,
        form=DisputeForm(formdata=None),
        token=token,
    )


@bp.post("/<token>")
@limiter.limit("20 per minute")
@public
def dispute(token):
    """The client disputes the fee: the transfer from trust does not happen, and the lawyer is told."""
    application, missing = found(token)
    if missing:
        return missing
    form = DisputeForm()
    error = None
    if form.validate_on_submit():
        try:
            invoice_trust.dispute(application, form.reason.data)
            return redirect(url_for("notices.show", token=token), 303)
        except ServiceError as refused:
            db.session.rollback()
            error = str(refused)
    page = render_template(
        "pay/notice.html", application=application, invoice=application.invoice, form=form, token=token, error=error
    )
    return page, 409 if error else 422
