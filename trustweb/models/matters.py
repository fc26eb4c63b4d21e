"""Matters: a client's case, the unit every trust ledger belongs to."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustweb.extensions import Model
from trustweb.models.base import UTCDateTime, created_at_column, one_of, updated_at_column


class MatterStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


MATTER_STATUSES = tuple(MatterStatus)


class Matter(Model):
    __tablename__ = "matter"
    __table_args__ = (
        one_of("status", MatterStatus),
        CheckConstraint("evergreen_minimum_cents IS NULL OR evergreen_minimum_cents >= 0", name="evergreen_minimum"),
        CheckConstraint(
            "evergreen_target_cents IS NULL OR evergreen_minimum_cents IS NULL"
            " OR evergreen_target_cents >= evergreen_minimum_cents",
            name="evergreen_target",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    description: Mapped[str] = mapped_column(String(200))
    client_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    lawyer_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=MatterStatus.OPEN)
    practice_area: Mapped[str | None] = mapped_column(String(80))
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    # Evergreen retainer: the client is asked to top up below the minimum, up to the target.
    evergreen_minimum_cents: Mapped[int | None] = mapped_column(BigInteger)
    evergreen_target_cents: Mapped[int | None] = mapped_column(BigInteger)
    # Below the minimum, the worker asks the client itself: one replenishment request open at a time.
    evergreen_auto_request: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Below the minimum, the worker charges this saved method for the top-up itself: the client authorised it
    # (the consent and its moment are the method's, and the audit trail's).
    evergreen_method_id: Mapped[int | None] = mapped_column(ForeignKey("saved_method.id"))
    evergreen_authorised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    client = relationship("Contact", back_populates="matters")
    lawyer = relationship("User")
    evergreen_method = relationship("SavedMethod")

    def __repr__(self):
        return f"<Matter {self.number}>"
