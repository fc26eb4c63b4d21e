"""The outbox: queue an email in the caller's transaction, send it later.

queue() only adds a row, so the email commits with the action that caused it
(a request sent, a payment received) or not at all. deliver_queued() sends
what is waiting through Flask-Mail. Each message is claimed first with a
conditional UPDATE, so the cron command and a Resend button never both send
it; a claim older than CLAIM_MINUTES (a worker that died mid-send) is taken
over. A failed send stays queued with its error for the next run.

The pay link is secret: once a message is sent its stored copy keeps no live
token (only the link's hash is kept anywhere).
"""

import re
import smtplib
from collections.abc import Sequence
from datetime import timedelta

from flask import current_app
from flask_mail import Connection, Message
from markupsafe import Markup
from sqlalchemy import or_, select, update

from trustweb.database import rows_updated
from trustweb.extensions import db
from trustweb.models import MailStatus, OutboxMessage, Payable
from trustweb.models.base import utcnow

CLAIM_MINUTES = 10
MAX_ERROR = 500


class TimedConnection(Connection):
    """Flask-Mail's SMTP connection with a timeout: a mail server that stalls must not hang a page.

    Flask-Mail opens smtplib.SMTP without one (it would wait for as long as TCP does);
    this is its configure_host with MAIL_TIMEOUT passed through.
    """

    def configure_host(self) -> smtplib.SMTP:
        timeout = current_app.config["MAIL_TIMEOUT"]
        if self.mail.use_ssl:
            host: smtplib.SMTP = smtplib.SMTP_SSL(self.mail.server, self.mail.port, timeout=timeout)
        else:
            host = smtplib.SMTP(self.mail.server, self.mail.port, timeout=timeout)
        host.set_debuglevel(int(self.mail.debug))
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host


def queue(
    kind: str,
    recipients: Sequence[str],
    subject: str,
    text: str,
    html: Markup | str | None = None,
    *,
    cc: Sequence[str] | None = None,
    about: Payable | None = None,
) -> OutboxMessage:
    """Add a message to the outbox (the caller commits); `about` is the trust request or invoice it concerns."""
    message = OutboxMessage(
        kind=kind,
        recipients=",".join(recipients),
        cc=",".join(cc) if cc else None,
        subject=subject,
        text_body=text,
        html_body=html and str(html),
        trust_request_id=about.id if about is not None and not about.is_invoice else None,
        invoice_id=about.id if about is not None and about.is_invoice else None,
        status=MailStatus.QUEUED,
        attempts=0,
    )
    db.session.add(message)
    return message


def _claim(message_id: int) -> bool:
    """Take the message for sending; False when another sender has it or it went already."""
    now = utcnow()
    stale = now - timedelta(minutes=CLAIM_MINUTES)
    claimed = rows_updated(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            or_(
                OutboxMessage.status == MailStatus.QUEUED,
                (OutboxMessage.status == MailStatus.SENDING) & (OutboxMessage.claimed_at < stale),
            ),
        )
        .values(status=MailStatus.SENDING, claimed_at=now, attempts=OutboxMessage.attempts + 1)
    )
    db.session.commit()
    return claimed == 1


def deliver(message_id: int) -> bool:
    """Send one queued message; True when the SMTP server took it."""
    if not _claim(message_id):
        return False
    message = db.session.get_one(OutboxMessage, message_id)  # just claimed: it is there
    db.session.refresh(message)
    email = Message(
        subject=message.subject,
        recipients=message.recipient_list,
        cc=[a for a in (message.cc or "").split(",") if a],
        body=message.text_body,
        html=message.html_body,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
    )
    try:
        with TimedConnection(current_app.extensions["mail"]) as connection:
            email.send(connection)
    except Exception as error:  # noqa: BLE001 - any failure of the mail server leaves the message queued
        db.session.rollback()
        message = db.session.get_one(OutboxMessage, message_id)
        message.status = MailStatus.QUEUED
        message.last_error = f"{type(error).__name__}: {error}"[:MAX_ERROR]
        db.session.commit()
        current_app.logger.warning("email %s not sent: %s", message_id, message.last_error)
        return False
    message.status = MailStatus.SENT
    message.sent_at = utcnow()
    message.last_error = None
    message.text_body = redact(message.text_body)
    message.html_body = message.html_body and redact(message.html_body)
    db.session.commit()
    return True


def redact(body: str) -> str:
    """The body with each pay-link token cut out, so a sent message keeps no usable link."""
    return re.sub(r"(/pay/)[A-Za-z0-9_-]{16,}", r"\1[link sent]", body)


def deliver_queued(limit: int = 500, about: Payable | None = None) -> tuple[int, int]:
    """Send what is waiting, oldest first (only about one trust request or invoice, if given): (sent, failed)."""
    stale = utcnow() - timedelta(minutes=CLAIM_MINUTES)
    statement = (
        select(OutboxMessage.id)
        .where(
            or_(
                OutboxMessage.status == MailStatus.QUEUED,
                (OutboxMessage.status == MailStatus.SENDING) & (OutboxMessage.claimed_at < stale),
            )
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if about is not None:
        column = OutboxMessage.invoice_id if about.is_invoice else OutboxMessage.trust_request_id
        statement = statement.where(column == about.id)
    ids = db.session.scalars(statement).all()
    db.session.commit()
    sent = sum(1 for message_id in ids if deliver(message_id))
    return sent, len(ids) - sent
