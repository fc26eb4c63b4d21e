"""Column helpers shared by the models."""

from datetime import UTC, datetime

from sqlalchemy import CheckConstraint, DateTime
from sqlalchemy.orm import mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow():
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A moment in time, stored in UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware one (trustweb.models.base.utcnow)")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def created_at_column():
    return mapped_column(UTCDateTime, default=utcnow, nullable=False)


def updated_at_column():
    return mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


def one_of(column, vocabulary):
    """A CHECK, named after the column, that it holds one of a vocabulary's values (a StrEnum, in its order)."""
    values = ", ".join(f"'{value}'" for value in vocabulary)
    return CheckConstraint(f"{column} IN ({values})", name=column)
