"""The outbox: every email is stored here first and sent from here, so none is lost when SMTP is down."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustweb.extensions import Model
from trustweb.models.base import UTCDateTime, created_at_column, one_of


class MailStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"


MAIL_KINDS: dict[str, str] = {
    "request": "Trust request",
    "reminder": "Reminder",
    "receipt": "Receipt",
    "lawyer_notice": "Payment notice",
    "invoice": "Invoice",
    "trust_notice": "Trust funds applied",
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
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=MailStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = created_at_column()

    request = relationship("TrustRequest")
    invoice = relationship("Invoice")

    @property
    def kind_label(self):
        return MAIL_KINDS.get(self.kind, self.kind)

    @property
    def recipient_list(self):
        return [a for a in self.recipients.split(",") if a]
