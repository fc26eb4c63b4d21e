"""Contacts: the people and companies the firm acts for or deals with."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from trustweb.extensions import Model
from trustweb.models.base import created_at_column, one_of, updated_at_column


class ContactKind(StrEnum):
    PERSON = "person"
    COMPANY = "company"


CONTACT_KINDS = tuple(ContactKind)


class Contact(Model):
    __tablename__ = "contact"
    __table_args__ = (one_of("kind", ContactKind),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default=ContactKind.PERSON)
    name: Mapped[str] = mapped_column(String(200), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    other_email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    # Filled in by list queries that ask for it (with_expression), so a list costs one query.
    matter_count: Mapped[int | None] = query_expression()

    matters = relationship("Matter", back_populates="client", order_by="Matter.number.desc()")

    @property
    def emails(self):
        return [e for e in (self.email, self.other_email) if e]

    def __repr__(self):
        return f"<Contact {self.id} {self.name}>"


# The request form's client search: names that start with what was typed, in any case. On PostgreSQL a
# LIKE 'text%' over lower(name), which text_pattern_ops lets the index answer whatever the collation; on SQLite a
# range over lower(name) (its LIKE cannot use an index on an expression).
Index(
    "ix_contact_name_lower",
    func.lower(Contact.name).label("name_lower"),
    postgresql_ops={"name_lower": "text_pattern_ops"},
)
