"""The outbox: queue an email in the caller's transaction; the worker delivers it (services/delivery.py).

queue() only adds a row, so the email commits with the action that caused it
(a request sent, a payment received) or not at all, and no web request ever
waits on the mail server. This module also answers what the pages ask of the
outbox: whether mail is set up, what a message's state means in words, and
the staff actions on a message (retry now, cancel).
"""

import re
from collections.abc import Sequence

from flask import current_app
from markupsafe import Markup
from sqlalchemy import update

from trustweb.database import rows_updated
from trustweb.extensions import db
from trustweb.models import MailStatus, OutboxMessage, Payable, User
from trustweb.models.base import utcnow
from trustweb.refusals import ServiceError
from trustweb.services import audit, jobs

MAX_ERROR = 500
# The live links an email may carry: a client's pay link, a notice's dispute link, a staff invitation, a client's
# portal sign-in link, a request to save a payment method.
LINK_TOKEN = re.compile(r"(/pay/|/notice/|/auth/invite/|/portal/sign-in/|/methods/)[A-Za-z0-9_-]{16,}")


def queue(
    kind: str,
    recipients: Sequence[str],
    subject: str,
    text: str,
    html: Markup | str | None = None,
    *,
    cc: Sequence[str] | None = None,
    about: Payable | None = None,
    reply_to: str | None = None,
    link_url: str | None = None,
) -> OutboxMessage:
    """Add a message to the outbox (the caller commits); `about` is the trust request or invoice it concerns,
    `link_url` the live link it carries (checked again, and the email rendered anew, when it goes out)."""
    message = OutboxMessage(
        kind=kind,
        recipients=",".join(recipients),
        cc=",".join(cc) if cc else None,
        reply_to=reply_to,
        subject=subject,
        text_body=text,
        html_body=html and str(html),
        link_url=link_url,
        trust_request_id=about.id if about is not None and not about.is_invoice else None,
        invoice_id=about.id if about is not None and about.is_invoice else None,
        status=MailStatus.QUEUED,
        attempts=0,
        next_attempt_at=utcnow(),
    )
    db.session.add(message)
    return message


def reply_to(payable: Payable) -> str | None:
    """Where a client's reply about a request or invoice goes: its responsible lawyer."""
    lawyer = payable.lawyer
    return lawyer.email if lawyer is not None and lawyer.active else None


def mail_is_set_up() -> bool:
    """Whether a mail server is configured; without one the worker keeps every email in the outbox."""
    return bool(current_app.config.get("MAIL_SERVER"))


def when_it_goes() -> str:
    """When a queued email will go, as far as the outbox can tell: never a promise the firm's setup cannot keep."""
    if not mail_is_set_up():
        return "mail is not set up, so it waits in the Outbox"
    if jobs.worker_is_running():
        return "the worker sends it within seconds"
    return "no worker has checked in lately, so it goes when one runs"


def redact(body: str) -> str:
    """The body with each live link's token cut out, so a stored copy keeps no usable link."""
    return LINK_TOKEN.sub(r"\1[link sent]", body)


def finish(message: OutboxMessage, status: MailStatus, reason: str | None = None) -> None:
    """Close a message (sent, failed, skipped, cancelled), no commit. Its copy keeps no live link, except a
    failed one's: staff may retry it once the mail server is put right, and it is checked again then."""
    now = utcnow()
    message.status = status
    message.finished_at = now
    if status == MailStatus.SENT:
        message.sent_at = now
    message.last_error = reason[:MAX_ERROR] if reason else None
    message.next_attempt_at = None
    message.claimed_at = None
    if status != MailStatus.FAILED:
        message.link_url = None
        message.text_body = redact(message.text_body)
        message.html_body = message.html_body and redact(message.html_body)


def retry_now(message: OutboxMessage, user: User) -> OutboxMessage:
    """Staff's Retry: a failing or failed message goes to the front of the queue, with its tries counted anew."""
    changed = rows_updated(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.status.in_((MailStatus.QUEUED, MailStatus.FAILED)))
        .values(status=MailStatus.QUEUED, next_attempt_at=utcnow(), attempts=0, finished_at=None)
    )
    if not changed:
        db.session.rollback()
        raise ServiceError(f"Email {message.id} is {state(message).lower()}; there is nothing to retry.")
    audit.record("email.retried", message, after={"status": MailStatus.QUEUED}, user=user)
    db.session.commit()
    return message


# What staff may still cancel: a message waiting, or given up (it keeps its link for a retry until then).
CANCELLABLE = (MailStatus.QUEUED, MailStatus.FAILED)


def cancellable(message: OutboxMessage) -> bool:
    return message.status in CANCELLABLE


def retryable(message: OutboxMessage) -> bool:
    """Whether Retry helps: a message given up, or one failing that waits for its next try."""
    return message.status == MailStatus.FAILED or state(message) == "Failing"


def retry_all(payable: Payable, user: User) -> int:
    """The Try again button of a request or invoice: its waiting and given-up emails are tried again at once."""
    column = OutboxMessage.invoice_id if payable.is_invoice else OutboxMessage.trust_request_id
    now = utcnow()
    waiting = rows_updated(
        update(OutboxMessage)
        .where(column == payable.id, OutboxMessage.status == MailStatus.QUEUED)
        .values(next_attempt_at=now)
    )
    given_up = rows_updated(
        update(OutboxMessage)
        .where(column == payable.id, OutboxMessage.status == MailStatus.FAILED)
        .values(status=MailStatus.QUEUED, next_attempt_at=now, attempts=0, finished_at=None)
    )
    if waiting + given_up:
        audit.record("email.retried", payable, after={"emails": waiting + given_up}, user=user)
    db.session.commit()
    return waiting + given_up


def cancel(message: OutboxMessage, user: User) -> OutboxMessage:
    """Staff's Cancel: a message waiting (or given up) never goes, and its copy keeps no live link."""
    changed = rows_updated(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.status.in_(CANCELLABLE))
        .values(status=MailStatus.CANCELLED)
    )
    db.session.refresh(message)
    if not changed:
        db.session.rollback()
        raise ServiceError(f"Email {message.id} is {state(message).lower()}; it can no longer be cancelled.")
    finish(message, MailStatus.CANCELLED, f"Cancelled by {user.name}.")
    audit.record("email.cancelled", message, after={"status": MailStatus.CANCELLED}, user=user)
    db.session.commit()
    return message


STATE_LABELS = {
    MailStatus.QUEUED: "Queued",
    MailStatus.SENDING: "Sending",
    MailStatus.SENT: "Sent",
    MailStatus.FAILED: "Not delivered",
    MailStatus.SKIPPED: "Not sent",
    MailStatus.CANCELLED: "Cancelled",
}


def state(message: OutboxMessage) -> str:
    """A message's state in a word or two: Queued, Failing, Sending, Sent, Not delivered, Not sent, Cancelled."""
    if message.status == MailStatus.QUEUED and message.attempts and message.last_error:
        return "Failing"
    return STATE_LABELS[MailStatus(message.status)]
