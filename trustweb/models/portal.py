"""The client portal: who may sign in, the one-time links that sign them in, and their sessions.

A client never has a password. Staff grant a contact access (an invitation); the client then asks for a
one-time link by email whenever they want to come in. Links and sessions keep only the SHA-256 of their token.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustweb.database import per_transaction
from trustweb.extensions import Model, db
from trustweb.models.base import UTCDateTime, created_at_column, one_of


class PortalAccess(Model):
    """A contact's access to the portal: granted by staff, until revoked (one row per contact, granted again in
    place)."""

    __tablename__ = "portal_access"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), unique=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    contact = relationship("Contact")
    granted_by = relationship("User", foreign_keys=[granted_by_id])
    revoked_by = relationship("User", foreign_keys=[revoked_by_id])

    @property
    def active(self):
        return self.revoked_at is None


class PortalLinkPurpose(StrEnum):
    SIGN_IN = "sign_in"  # asked for on the sign-in page: short-lived
    INVITE = "invite"  # sent by staff: lives as long as a staff invitation


class PortalLink(Model):
    """A one-time link that signs a client in: used once, or not at all once it expires."""

    __tablename__ = "portal_link"
    __table_args__ = (one_of("purpose", PortalLinkPurpose),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))  # where it was sent
    purpose: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    contact = relationship("Contact")


class PortalSession(Model):
    """A client's signed-in browser. Signing out or revoking access deletes it, so a copied cookie stops working."""

    __tablename__ = "portal_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))

    contact = relationship("Contact")


LOGO_TYPES = ("image/png", "image/jpeg")


class FirmLogo(Model):
    """The firm's logo (one row), shown on the portal and the documents clients get. In the database, not on a
    disk, so every app server has it."""

    __tablename__ = "firm_logo"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        one_of("content_type", LOGO_TYPES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    content_type: Mapped[str] = mapped_column(String(20))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # read only when the image is asked for
    width: Mapped[int]
    height: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))  # its ETag
    updated_at: Mapped[datetime] = created_at_column()

    @classmethod
    def get(cls):
        """The logo's row without its bytes, or None; read once per transaction."""
        return per_transaction(cls, lambda: db.session.get(cls, 1))
