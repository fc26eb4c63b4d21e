"""A "request a payment method" link: staff email a client a one-time page where they save a card for later.

Like a pay link or a portal link, only the SHA-256 of its random token is kept; it lasts a week and works once
(used by a conditional UPDATE, so two presses save one card).
"""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustweb.extensions import Model
from trustweb.models.base import UTCDateTime, created_at_column


class MethodLink(Model):
    """A one-time link that lets a client save a payment method for their own contact, and nothing else."""

    __tablename__ = "method_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))  # where it was sent
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The method saved through it.
    method_id: Mapped[int | None] = mapped_column(ForeignKey("saved_method.id"))

    contact = relationship("Contact")
    created_by = relationship("User")
    method = relationship("SavedMethod")
