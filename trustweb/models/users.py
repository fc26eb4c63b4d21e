"""Staff accounts."""

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustweb.extensions import Model
from trustweb.models.base import UTCDateTime, created_at_column, one_of


class Role(StrEnum):
    ADMIN = "admin"
    LAWYER = "lawyer"
    BOOKKEEPER = "bookkeeper"
    STAFF = "staff"


ROLES = tuple(Role)
ROLE_LABELS: dict[str, str] = {
    Role.ADMIN: "Administrator",
    Role.LAWYER: "Lawyer",
    Role.BOOKKEEPER: "Bookkeeper",
    Role.STAFF: "Staff",
}


class User(UserMixin, Model):
    __tablename__ = "user"
    __table_args__ = (one_of("role", Role),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    # None until the invited person chooses a password.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    invite_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    invite_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = created_at_column()

    @property
    def is_active(self):
        return self.active and self.password_hash is not None

    # The signed-in session's token, set by the service that starts or loads it; never stored.
    if TYPE_CHECKING:  # declared for the type checker only: the ORM would take an annotation for a column
        session_token: str | None
    session_token = None

    def get_id(self):
        """What Flask-Login keeps in the cookie: the session's token, not the user's id."""
        if self.session_token is None:
            raise RuntimeError("sign users in through trustweb.services.sessions.start_session")
        return self.session_token

    # UserMixin compares get_id(), which is now per session; a user is the same user by id.
    def __eq__(self, other):
        return isinstance(other, User) and self.id is not None and self.id == other.id

    def __hash__(self):
        return hash((User, self.id))

    @property
    def role_label(self):
        return ROLE_LABELS[self.role]

    @property
    def status(self):
        if not self.active:
            return "disabled"
        if self.password_hash is None:
            return "invited"
        return "active"

    def __repr__(self):
        return f"<User {self.email} {self.role}>"


class UserSession(Model):
    """A signed-in browser. Signing out deletes it, so a copied cookie stops working too."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))

    user = relationship("User")


class LoginAttempt(Model):
    """Every sign-in attempt, counted to slow down password guessing across all app servers."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_email_at", "email", "at"),
        Index("ix_login_attempt_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(45))
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = created_at_column()
