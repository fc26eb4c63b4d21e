"""The worker's side of the outbox: claim what is due, check it still makes sense, send it, say how it went.

A message is claimed with one UPDATE over the due rows, picked on PostgreSQL
with FOR UPDATE SKIP LOCKED, so two workers (or a worker and the send-mail
command) never claim the same message; a claim older than CLAIM_MINUTES (a
worker that died mid-send) is taken over. Delivery is at least once: an email
goes twice only when its worker dies (or the database stays away for half a
minute) between the server taking it and the outbox recording so. No
transaction is open while the mail server is talked to: on SQLite an open
write would hold up every writer in the firm.

Before sending, an email that carries a link is checked against its link: a
request paid or voided, a link revoked or an invitation accepted since it was
queued is not sent, and says why. Request and invoice emails are rendered
anew around their link, so the figures are those of the moment they go.

Messages are claimed one at a time as they go. A failed try waits
BACKOFF_MINUTES before the next; after MAIL_MAX_ATTEMPTS tries, or at once
when the server refuses the recipients for good, the message is given up
(failed) with the reason in words.
"""

import smtplib
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import formataddr
from enum import StrEnum

from flask import current_app
from flask_mail import BadHeaderError, Connection, Message
from sqlalchemy import ColumnElement, and_, or_, select, update

from trustweb.extensions import db
from trustweb.models import FirmSettings, Invoice, MailStatus, OutboxMessage, TrustRequest
from trustweb.models.base import utcnow
from trustweb.services import freshness, mail
from trustweb.services import requests as request_service
from trustweb.services.invoices import invoice_email

CLAIM_MINUTES = 10
RECORD_TRIES, RECORD_PAUSE_SECONDS = 10, 3  # about half a minute of holding on to record a sent email
# Minutes to wait after the 1st, 2nd, ... failed try (the last figure repeats). With the default 10 tries the
# last one comes about 28 hours after the first: a mail server down overnight loses no email.
BACKOFF_MINUTES = (1, 5, 15, 30, 60, 120, 240, 480, 720)


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # failed this time; tried again later
    FAILED = "failed"  # given up
    SKIPPED = "skipped"  # no longer made sense
    TAKEN = "taken"  # another sender had it


@dataclass
class Tally:
    """What one delivery run did."""

    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome] += 1

    def __getitem__(self, outcome: Outcome) -> int:
        return self.counts[outcome]

    @property
    def handled(self) -> int:
        return sum(n for outcome, n in self.counts.items() if outcome != Outcome.TAKEN)

    def summary(self) -> str:
        return (
            f"Sent {self[Outcome.SENT]} email(s); {self[Outcome.RETRY]} failed and will be retried; "
            f"{self[Outcome.FAILED]} given up; {self[Outcome.SKIPPED]} no longer needed."
        )


class TimedConnection(Connection):
    """Flask-Mail's SMTP connection with a timeout: a mail server that stalls must not hang the worker.

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


def deliver_due(limit: int = 100, worker: str = "send-mail", stopping: Callable[[], bool] = lambda: False) -> Tally:
    """Send the messages whose time has come, oldest first, each claimed just before it goes; a Tally.

    One at a time, so what the Outbox says is sending is being sent, and a stop is heard between two emails.
    A try that fails on the connection ends the pass: the others would only wait out the same timeout now.
    """
    tally = Tally()
    if not mail.mail_is_set_up():
        return tally
    while tally.handled < limit and not stopping():
        claimed = claim_due(1, worker)
        if not claimed:
            break
        outcome = deliver(claimed[0])
        tally.add(outcome)
        if outcome == Outcome.RETRY:
            break
    return tally


def claimable(now: datetime) -> ColumnElement[bool]:
    """Due and waiting, or claimed by a sender that has not finished in CLAIM_MINUTES (it died)."""
    return or_(
        and_(
            OutboxMessage.status == MailStatus.QUEUED,
            or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
        ),
        and_(
            OutboxMessage.status == MailStatus.SENDING,
            OutboxMessage.claimed_at < now - timedelta(minutes=CLAIM_MINUTES),
        ),
    )


def claim_due(limit: int, worker: str) -> list[int]:
    """Take up to `limit` due messages for this sender, each counted as a try; their ids, oldest first.

    The due rows are picked once, in a materialized CTE: as `IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)`
    PostgreSQL may run the subquery again for each row, and with SKIP LOCKED each run finds the next row.
    """
    now = utcnow()
    due = (
        select(OutboxMessage.id)
        .where(claimable(now))
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL: rows another worker is claiming are passed over
        .cte("due")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    claimed = db.session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id == due.c.id, claimable(now))
        .values(status=MailStatus.SENDING, claimed_at=now, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id)
    ).all()
    db.session.commit()
    current_app.logger.debug("%s claimed %d email(s)", worker, len(claimed))
    return sorted(claimed)


def deliver(message_id: int) -> Outcome:
    """Send one claimed message, or skip it when it no longer makes sense; record how it went."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.status != MailStatus.SENDING:
        db.session.rollback()
        return Outcome.TAKEN
    claimed_at = message.claimed_at
    try:
        email = prepare(message)
    except Exception as error:  # noqa: BLE001 - a message that cannot be written is recorded, never left claimed
        current_app.logger.exception("email %s could not be prepared", message_id)
        return record_failure(message_id, claimed_at, error)
    if email is None:
        return Outcome.SKIPPED
    try:
        send(email)
    except Exception as error:  # noqa: BLE001 - whatever the mail server did, the message is kept and says why
        return record_failure(message_id, claimed_at, error)
    record_sent(message_id)
    return Outcome.SENT


def prepare(message: OutboxMessage) -> Message | None:
    """The email as it goes now (committed, so no transaction stays open while the server is talked to);
    None when it no longer makes sense, recorded as skipped."""
    reason = freshness.stale_reason(message)
    if reason:
        mail.finish(message, MailStatus.SKIPPED, reason)
        db.session.commit()
        return None
    refresh_content(message)
    email = Message(
        subject=message.subject,
        recipients=message.recipient_list,
        cc=message.cc_list,
        body=message.text_body,
        html=message.html_body,
        sender=message.sender,
        reply_to=message.reply_to,
    )
    db.session.commit()
    return email


def send(email: Message) -> None:
    """Hand the email to the mail server. Whether it went is decided by the server's answer to the message
    itself: a QUIT that fails afterwards (a server that hangs up) must not make a delivered email go again."""
    connection = TimedConnection(current_app.extensions["mail"])
    connection.host = None if connection.mail.suppress else connection.configure_host()
    try:
        email.send(connection)
    except BaseException:
        close_quietly(connection.host, polite=False)
        raise
    close_quietly(connection.host, polite=True)


def close_quietly(host: smtplib.SMTP | None, polite: bool) -> None:
    if host is None:
        return
    try:
        host.quit() if polite else host.close()
    except (OSError, smtplib.SMTPException):
        host.close()


def record_sent(message_id: int) -> None:
    """Record a delivered email, holding on through a database that is briefly away: a 'sent' left unrecorded
    would be taken over after CLAIM_MINUTES and sent again."""
    pause = threading.Event()
    for attempt in range(RECORD_TRIES):
        try:
            message = db.session.get_one(OutboxMessage, message_id)
            mail.finish(message, MailStatus.SENT)
            db.session.commit()
            return
        except Exception:  # noqa: BLE001 - retried; the last failure is raised
            db.session.rollback()
            if attempt == RECORD_TRIES - 1:
                raise
            current_app.logger.warning("email %s went but could not be recorded; trying again", message_id)
            pause.wait(RECORD_PAUSE_SECONDS)


def record_failure(message_id: int, claimed_at: datetime | None, error: Exception) -> Outcome:
    """A failed try: queued again after its backoff, or given up after the last try or a permanent refusal."""
    db.session.rollback()
    message = db.session.get_one(OutboxMessage, message_id)
    if message.status != MailStatus.SENDING or message.claimed_at != claimed_at:
        db.session.rollback()
        return Outcome.TAKEN  # taken over meanwhile (this sender was too slow); the other one records it
    reason = describe(error)
    current_app.logger.warning("email %s not sent (try %s): %s", message_id, message.attempts, reason)
    last_try = message.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]
    if is_permanent(error) or last_try:
        tries = f"{message.attempts} {'try' if message.attempts == 1 else 'tries'}"
        mail.finish(message, MailStatus.FAILED, f"Given up after {tries}: {reason}")
        db.session.commit()
        return Outcome.FAILED
    message.status = MailStatus.QUEUED
    message.claimed_at = None
    message.last_error = reason[: mail.MAX_ERROR]
    message.next_attempt_at = utcnow() + timedelta(minutes=backoff_minutes(message.attempts))
    db.session.commit()
    return Outcome.RETRY


def backoff_minutes(attempts: int) -> int:
    return BACKOFF_MINUTES[min(attempts, len(BACKOFF_MINUTES)) - 1]


def refresh_content(message: OutboxMessage) -> None:
    """Render a request or invoice email anew around its link (figures of now), and set From (no commit)."""
    message.sender = sender()
    if message.link_url is None:
        return
    try:
        if message.kind in ("request", "reminder") and message.trust_request_id:
            trust_request = db.session.get_one(TrustRequest, message.trust_request_id)
            subject, text, html = request_service.request_email(trust_request, message.kind, message.link_url)
        elif message.kind == "invoice" and message.invoice_id:
            invoice = db.session.get_one(Invoice, message.invoice_id)
            subject, text, html = invoice_email(invoice, message.link_url)
        else:
            return
    except Exception:  # noqa: BLE001 - a template broken since the email was queued: it goes as it was written
        current_app.logger.exception("email %s: written anew failed; it goes as it was queued", message.id)
        return
    message.subject, message.text_body, message.html_body = subject[:300], text, str(html)


def sender() -> str:
    """From: the firm's name and address (Settings), or the configured MAIL_FROM when the firm has none."""
    firm = FirmSettings.get()
    if firm.email:
        return formataddr((firm.firm_name, firm.email))
    return current_app.config["MAIL_DEFAULT_SENDER"]


def is_permanent(error: Exception) -> bool:
    """The server refused for good (5xx for every recipient, or for the content), or the email cannot be written
    (a header with a line break): trying again cannot help."""
    if isinstance(error, BadHeaderError):
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPDataError) and error.smtp_code >= 500


def describe(error: Exception) -> str:
    """What went wrong, in words a bookkeeper can act on."""
    config = current_app.config
    server = f"{config['MAIL_SERVER']}:{config['MAIL_PORT']}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(f"{to} ({code} {text_of(reply)})" for to, (code, reply) in error.recipients.items())
        return f"the mail server refused the recipient(s): {refused}"
    if isinstance(error, smtplib.SMTPSenderRefused):
        reply = f"{error.smtp_code} {text_of(error.smtp_error)}"
        return f"the mail server refused the sender address {error.sender} ({reply})"
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return f"the mail server refused the user name or password ({error.smtp_code} {text_of(error.smtp_error)})"
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return f"the mail server at {server} closed the connection"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"the mail server answered {error.smtp_code}: {text_of(error.smtp_error)}"
    if isinstance(error, ConnectionRefusedError):
        return f"the mail server refused the connection ({server}: nothing is listening there)"
    if isinstance(error, (TimeoutError, socket.timeout)):
        return f"the mail server at {server} did not answer within {config['MAIL_TIMEOUT']:g} seconds"
    if isinstance(error, socket.gaierror):
        return f"the mail server's name {config['MAIL_SERVER']} could not be found"
    if isinstance(error, ssl.SSLError):
        return f"the secure connection to the mail server failed ({error.reason or error})"
    if isinstance(error, OSError):
        return f"the mail server at {server} could not be reached ({error.strerror or error})"
    if isinstance(error, BadHeaderError):
        return "a header of the email holds a line break, which would let it add headers of its own"
    return f"the email could not be sent ({type(error).__name__}: {error})"


def text_of(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
