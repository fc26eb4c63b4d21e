"""The outbox: every email is stored here first and sent from here, so none is lost when SMTP is down.

A web request only adds rows; the worker (`flask trustweb worker`) delivers them, retrying with backoff.
Each row says truthfully where its email is: queued, sending, sent, failed (given up), skipped (it no
longer made sense when its turn came) or cancelled (by staff).
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustweb.extensions import Model
from trustweb.models.base import UTCDateTime, created_at_column, one_of


class MailStatus(StrEnum):
    QUEUED = "queued"  # waiting for its first try, or for the next one after a failure
    SENDING = "sending"  # claimed by a worker
    SENT = "sent"  # the mail server took it
    FAILED = "failed"  # given up after the last try, or refused for good by the mail server
    SKIPPED = "skipped"  # not sent: it no longer made sense (the request was paid, the link revoked)
    CANCELLED = "cancelled"  # not sent: cancelled by staff


# What a message can still become; the others are final.
WAITING = (MailStatus.QUEUED, MailStatus.SENDING)

MAIL_KINDS: dict[str, str] = {
    "request": "Trust request",
    "reminder": "Reminder",
    "receipt": "Receipt",
    "lawyer_notice": "Payment notice",
    "invoice": "Invoice",
    "trust_notice": "Trust funds applied",
    "invite": "Invitation",
    "portal_invite": "Portal invitation",
    "portal_sign_in": "Portal sign-in link",
    "method_request": "Payment method request",
    "plan_notice": "Payment plan notice",
    "top_up_notice": "Automatic top-up notice",
}


class OutboxMessage(Model):
    __tablename__ = "outbox_message"
    __table_args__ = (
        one_of("status", MailStatus),
        Index("ix_outbox_message_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    trust_request_id: Mapped[int | None] = mapped_column(ForeignKey("trust_request.id"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"), index=True)
    recipients: Mapped[str] = mapped_column(String(1000))
    cc: Mapped[str | None] = mapped_column(String(1000))
    # Where the recipient's reply goes (the responsible lawyer); From is the firm's address at sending time.
    reply_to: Mapped[str | None] = mapped_column(String(254))
    sender: Mapped[str | None] = mapped_column(String(320))  # the From it went out with
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    # The live link the email carries (a pay link, an invitation) until it is sent; then only its redacted copy
    # stays in the bodies. The worker checks the link still works, and renders request and invoice emails anew
    # around it, so what goes out has the figures of the moment it goes.
    link_url: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10), default=MailStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Why the last try failed, or why it was skipped or cancelled, in words.
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # sent, failed, skipped or cancelled
    created_at: Mapped[datetime] = created_at_column()

    request = relationship("TrustRequest")
    invoice = relationship("Invoice")

    @property
    def kind_label(self):
        return MAIL_KINDS.get(self.kind, self.kind)

    @property
    def recipient_list(self):
        return [a for a in self.recipients.split(",") if a]

    @property
    def cc_list(self):
        return [a for a in (self.cc or "").split(",") if a]

    @property
    def is_waiting(self):
        return self.status in WAITING


class ScheduledJob(Model):
    """One row per recurring job of the worker: when it runs next, and who holds it while it runs.

    A worker takes a job with one conditional UPDATE (due, and not held or held too long by a worker that
    died), so two workers never run the same job at once, on SQLite or PostgreSQL.
    """

    __tablename__ = "scheduled_job"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_result: Mapped[str | None] = mapped_column(Text)
