"""The audit trail: who did what, when, from where, with the values before and after.

An event is written with the change it describes, carrying a digest of its own
fields. It is then sealed into a hash chain (services/audit.py): given the next
seq, gap-free, and a hash over its seq, its digest and the previous event's
hash, so `flask trustweb audit-verify` can name the first event that was
altered, removed or inserted. Most events are sealed in their own transaction;
the rest (seq still NULL) by the worker moments later.
"""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustweb.extensions import Model
from trustweb.models.base import UTCDateTime

GENESIS_HASH = "0" * 64


class AuditEvent(Model):
    __tablename__ = "audit_event"
    # The audit trail page's filters, each read newest first (by id) a page at a time (migration 0018).
    __table_args__ = (
        Index("ix_audit_event_user_id", "user_id", "id"),
        Index("ix_audit_event_action", "action", "id"),
        Index("ix_audit_event_object", "object_type", "object_id", "id"),
        Index("ix_audit_event_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)  # NULL until sealed
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    actor: Mapped[str] = mapped_column(String(254))  # the user's email, or "system" for commands
    ip: Mapped[str | None] = mapped_column(String(45))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(40))
    before: Mapped[str | None] = mapped_column(Text)  # JSON
    after: Mapped[str | None] = mapped_column(Text)  # JSON
    # SHA-256 of the fields above; NULL on events sealed before migration 0012, whose hash covers the fields.
    digest: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str | None] = mapped_column(String(64))  # NULL until sealed
    hash: Mapped[str | None] = mapped_column(String(64))  # NULL until sealed

    user = relationship("User")


class AuditChainHead(Model):
    """The chain's last seq and hash: one row, locked only while events are sealed (never while a change is made)."""

    __tablename__ = "audit_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
