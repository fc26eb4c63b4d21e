"""Contacts: the people and companies the firm acts for or deals with."""

import unicodedata
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship, validates

from trustweb.extensions import Model
from trustweb.models.base import created_at_column, one_of, updated_at_column


class ContactKind(StrEnum):
    PERSON = "person"
    COMPANY = "company"


CONTACT_KINDS = tuple(ContactKind)


NAME_KEY_LENGTH = 200


def name_key(text: str | None) -> str:
    """A name (or what is typed to find one) as the client search compares it: Unicode case folded, composed, so
    "Émile", "ÉMILE" and "émile" are one key (SQLite's lower() folds only A to Z). Folding can lengthen a name
    ("ß" is "ss", "ﬃ" is "ffi"): the key keeps its first NAME_KEY_LENGTH characters, the column's size, and what is
    typed is cut the same way, so a prefix still finds the name."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text or "").casefold())[:NAME_KEY_LENGTH]


def _name_key_default(context: Any) -> str:
    """name_key for a Core INSERT of contacts that gives only the name (a bulk import, a benchmark)."""
    return name_key(context.get_current_parameters().get("name"))


class Contact(Model):
    __tablename__ = "contact"
    __table_args__ = (one_of("kind", ContactKind),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default=ContactKind.PERSON)
    name: Mapped[str] = mapped_column(String(200), index=True)
    # name_key(name), kept in step by _keep_name_key below (and _name_key_default for Core inserts): what the client
    # search finds a name by (migration 0019 computed it for the contacts before it).
    name_key: Mapped[str] = mapped_column(String(NAME_KEY_LENGTH), default=_name_key_default)
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

    @validates("name")
    def _keep_name_key(self, key: str, name: str) -> str:
        self.name_key = name_key(name)
        return name

    @property
    def emails(self):
        return [e for e in (self.email, self.other_email) if e]

    def __repr__(self):
        return f"<Contact {self.id} {self.name}>"


# The request form's client search: names whose key starts with what was typed (name_key of it). On PostgreSQL a
# LIKE 'key%', which text_pattern_ops lets the index answer whatever the collation; on SQLite a range.
Index("ix_contact_name_key", Contact.name_key, postgresql_ops={"name_key": "text_pattern_ops"})
