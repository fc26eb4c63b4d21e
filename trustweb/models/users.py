"""Staff accounts."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from trustweb.extensions import db
from trustweb.models.base import created_at_column

ROLES = ("admin", "lawyer", "bookkeeper", "staff")
ROLE_LABELS = {"admin": "Administrator", "lawyer": "Lawyer", "bookkeeper": "Bookkeeper", "staff": "Staff"}


class User(UserMixin, db.Model):
    __tablename__ = "user"
    __table_args__ = (CheckConstraint("role IN ('admin', 'lawyer', 'bookkeeper', 'staff')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    # None until the invited person chooses a password.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on password change or disable so that existing sessions end.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    invite_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    invite_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()

    @property
    def is_active(self):
        return self.active and self.password_hash is not None

    def get_id(self):
        return f"{self.id}:{self.session_version}"

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
