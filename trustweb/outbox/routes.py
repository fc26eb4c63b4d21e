"""The Outbox: the list with its filters, one email as it went (or will go), retry, cancel."""

from flask import abort, make_response, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import and_, select

from trustweb.auth.permissions import requires
from trustweb.models import MAIL_KINDS, MailStatus, OutboxMessage
from trustweb.outbox import bp
from trustweb.services import freshness, jobs
from trustweb.services import mail as outbox
from trustweb.views import button_action, get_or_404, is_htmx, paginate

# The filters a person picks from, each a condition on the outbox.
STATES = {
    "waiting": ("Waiting", OutboxMessage.status.in_((MailStatus.QUEUED, MailStatus.SENDING))),
    "failing": ("Failing", and_(OutboxMessage.status == MailStatus.QUEUED, OutboxMessage.attempts > 0)),
    "sent": ("Sent", OutboxMessage.status == MailStatus.SENT),
    "failed": ("Not delivered (given up)", OutboxMessage.status == MailStatus.FAILED),
    "skipped": ("Not sent (no longer needed)", OutboxMessage.status == MailStatus.SKIPPED),
    "cancelled": ("Cancelled", OutboxMessage.status == MailStatus.CANCELLED),
}


@bp.get("/")
@requires("read_outbox")
def index():
    """Every email, newest first, filtered by where it is and what it is."""
    state = request.args.get("state", "")
    state = state if state in STATES else ""  # a filter the page does not know is not asked for
    kind = request.args.get("kind", "")
    kind = kind if kind in MAIL_KINDS else ""
    statement = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if state:
        statement = statement.where(STATES[state][1])
    if kind:
        statement = statement.where(OutboxMessage.kind == kind)
    filters = {k: v for k, v in (("state", state), ("kind", kind)) if v}
    context = {"page": paginate(statement), "filters": filters, "states": STATES, "kinds": MAIL_KINDS}
    if is_htmx():
        return render_template("outbox/_messages.html", **context)
    seen = jobs.last_seen()
    late = seen is not None and not jobs.worker_is_running()
    return render_template("outbox/index.html", worker_seen=seen, worker_late=late, schedule=jobs.schedule(), **context)


@bp.get("/<int:message_id>")
@requires("read_outbox")
def show(message_id):
    """One email as it went (or as it will go), with its live links cut out."""
    message = get_or_404(OutboxMessage, message_id)
    return render_template(
        "outbox/message.html",
        message=message,
        text=outbox.redact(message.text_body),
        retryable=outbox.retryable(message),
        cancellable=outbox.cancellable(message),
        will_skip=freshness.stale_reason(message) if message.is_waiting else None,
    )


@bp.get("/<int:message_id>/html")
@requires("read_outbox")
def html(message_id):
    """The HTML part on its own, in a sandbox: no script, no outside fetches, no forms, not framed."""
    message = get_or_404(OutboxMessage, message_id)
    if not message.html_body:
        abort(404)  # a text-only email (the lawyer's notice): its page shows all of it
    response = make_response(outbox.redact(message.html_body))
    response.headers["Content-Security-Policy"] = (
        "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
    )
    return response


@bp.post("/<int:message_id>/retry")
@requires("read_outbox")
def retry(message_id):
    message = get_or_404(OutboxMessage, message_id)
    return button_action(
        lambda: outbox.retry_now(message, current_user),
        lambda _: f"Email {message.id} will be tried again; {outbox.when_it_goes()}.",
        url_for("outbox.show", message_id=message.id),
    )


@bp.post("/<int:message_id>/cancel")
@requires("read_outbox")
def cancel(message_id):
    message = get_or_404(OutboxMessage, message_id)
    return button_action(
        lambda: outbox.cancel(message, current_user),
        lambda _: f"Email {message.id} is cancelled; it will not be sent.",
        url_for("outbox.show", message_id=message.id),
    )
