"""Contacts and matters."""

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select

from trustweb.extensions import db
from trustweb.ledger.money import format_totals
from trustweb.models import (
    MATTER_STATUSES,
    BankAccount,
    Contact,
    Counter,
    FirmSettings,
    LedgerAccount,
    Matter,
    MatterStatus,
    User,
)
from trustweb.models.contacts import name_key
from trustweb.refusals import ServiceError
from trustweb.services import audit, portal

CONTACT_FIELDS = ("kind", "name", "email", "other_email", "phone", "address", "notes")
MATTER_FIELDS = (
    "description",
    "client_id",
    "lawyer_id",
    "practice_area",
    "opened_on",
    "evergreen_minimum_cents",
    "evergreen_target_cents",
    "evergreen_auto_request",
    "notes",
)


def save_contact(contact: Contact | None, values: Mapping[str, Any]) -> Contact:
    """Create (contact None) or update a contact from cleaned form values."""
    before = None if contact is None else audit.snapshot(contact, CONTACT_FIELDS)
    if contact is None:
        contact = Contact()
        db.session.add(contact)
    for field in CONTACT_FIELDS:
        setattr(contact, field, values.get(field))
    db.session.flush()
    action = "contact.created" if before is None else "contact.updated"
    audit.record(action, contact, before=before, after=audit.snapshot(contact, CONTACT_FIELDS))
    addresses = ("email", "other_email")
    if before is not None and any((before[a] or "").lower() != (getattr(contact, a) or "").lower() for a in addresses):
        portal.addresses_changed(contact, {a: before[a] for a in addresses})
    db.session.commit()
    return contact


def responsible_lawyers() -> Sequence[User]:
    """Active users who may be responsible for a matter."""
    return db.session.scalars(
        select(User).where(User.active, User.role.in_(("lawyer", "admin"))).order_by(User.name)
    ).all()


def next_matter_number(opened_on: date) -> str:
    """Matter numbers run YYYY-NNNN by the year the matter opened, never reused."""
    year = opened_on.year
    return f"{year}-{Counter.next_value(f'matter-{year}'):04d}"


def _held_in_trust(matter: Matter) -> dict[str, int]:
    """What the matter holds in trust, per currency (never one figure across two)."""
    rows = db.session.execute(
        select(BankAccount.currency, func.sum(LedgerAccount.balance_cents))
        .join(BankAccount, BankAccount.id == LedgerAccount.bank_account_id)
        .where(LedgerAccount.matter_id == matter.id)
        .group_by(BankAccount.currency)
    ).all()
    # int(): PostgreSQL's SUM of bigint is numeric, which would arrive as a Decimal.
    return {currency: int(total) for currency, total in rows if total}


def _has_ledger(matter: Matter) -> bool:
    return db.session.scalar(select(LedgerAccount.id).where(LedgerAccount.matter_id == matter.id).limit(1)) is not None


def _check_matter(matter: Matter | None, values: Mapping[str, Any]) -> None:
    if db.session.get(Contact, values["client_id"]) is None:
        raise ServiceError("Choose the client from the list.")
    lawyer = db.session.get(User, values["lawyer_id"])
    if matter is not None and matter.client_id != values["client_id"] and _has_ledger(matter):
        raise ServiceError("This matter has trust transactions, so its client cannot change.")
    kept = matter is not None and matter.lawyer_id == values["lawyer_id"]
    # A matter may keep a lawyer who has since left; a new assignment must be to an active lawyer.
    if lawyer is None or (not kept and (not lawyer.active or lawyer.role not in ("lawyer", "admin"))):
        raise ServiceError("Choose an active lawyer as the responsible lawyer.")
    minimum, target = values.get("evergreen_minimum_cents"), values.get("evergreen_target_cents")
    if minimum is not None and target is not None and target < minimum:
        raise ServiceError("The evergreen target cannot be below the evergreen minimum.")


def save_matter(matter: Matter | None, values: Mapping[str, Any]) -> Matter:
    """Create (matter None) or update a matter from cleaned form values."""
    _check_matter(matter, values)
    before = None if matter is None else audit.snapshot(matter, MATTER_FIELDS)
    if matter is None:
        matter = Matter(status=MatterStatus.OPEN, number=next_matter_number(values["opened_on"]))
        db.session.add(matter)
    for field in MATTER_FIELDS:
        setattr(matter, field, values.get(field))
    db.session.flush()
    action = "matter.created" if before is None else "matter.updated"
    audit.record(
        action, matter, before=before, after={"number": matter.number, **audit.snapshot(matter, MATTER_FIELDS)}
    )
    db.session.commit()
    return matter


def set_matter_status(matter: Matter, status: str, on_date: date) -> Matter:
    if status not in MATTER_STATUSES:
        raise ServiceError("A matter is either open or closed.")
    if status == matter.status:
        raise ServiceError(f"Matter {matter.number} is already {status}.")
    held = _held_in_trust(matter)
    if status == MatterStatus.CLOSED and held:
        raise ServiceError(
            f"Matter {matter.number} still holds {format_totals(held, first=FirmSettings.get().currency)} in trust; "
            "pay it out or transfer it first."
        )
    matter.status = status
    matter.closed_on = on_date if status == MatterStatus.CLOSED else None
    audit.record(
        f"matter.{'closed' if status == MatterStatus.CLOSED else 'reopened'}", matter, after={"status": status}
    )
    db.session.commit()
    return matter


CLIENT_CHOICES = 20  # what the request form's client search offers at most


def find_clients(text: str, limit: int = CLIENT_CHOICES) -> list[Contact]:
    """Contacts whose name, or a word of it, starts with the text (in any case, accents and all), names first, at
    most `limit`.

    Compared by name_key (the name case folded in Python: SQLite's lower() folds only A to Z, so "émile" would never
    find "Émile Ørsted"). The name's own start comes from the index on name_key (migration 0019), bounded, in key
    order; only when that finds fewer than `limit` is a later word looked for (LIKE '% word%': a scan of the keys,
    stopped at `limit`), so typing "hart" offers "Hartley, Jane" first and then "Jane Hartley". Nothing for an empty
    text: the form never lists everyone."""
    prefix = name_key(text.strip())
    if not prefix:
        return []
    found = list(
        db.session.scalars(select(Contact).where(name_starts_with(prefix)).order_by(Contact.name_key).limit(limit))
    )
    if len(found) < limit:
        seen = [contact.id for contact in found]
        later = select(Contact).where(
            Contact.name_key.like(f"% {_like_escaped(prefix)}%", escape="\\"), Contact.id.not_in(seen)
        )
        found += db.session.scalars(later.order_by(Contact.name_key).limit(limit - len(found)))
    return found


def name_starts_with(key: str) -> Any:
    """name_key starts with the key (itself a name_key), in a form each database answers from ix_contact_name_key:
    a range on SQLite (whose LIKE is case-blind and so cannot use the index), LIKE 'key%' on PostgreSQL (the index's
    text_pattern_ops)."""
    if db.engine.dialect.name == "sqlite":
        return (Contact.name_key >= key) & (Contact.name_key < key + "\U0010ffff")
    return Contact.name_key.like(f"{_like_escaped(key)}%", escape="\\")


def name_contains(text: str) -> Any:
    """The contact's name holds the text anywhere, in any case, accents and all: name_key LIKE '%key%' with the
    text's key (name_key of it) and its own % and _ taken literally. Both sides are case folded already, so a plain
    LIKE on each database (SQLite's LIKE and lower() would fold only A to Z: "émile" would miss "Émile Ørsted")."""
    return Contact.name_key.like(f"%{_like_escaped(name_key(text))}%", escape="\\")


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def open_matters_of(contact_id: int | None) -> list[Matter]:
    """A client's open matters, by number: what a trust request can be for."""
    if not contact_id:
        return []
    return list(
        db.session.scalars(
            select(Matter)
            .where(Matter.client_id == contact_id, Matter.status == MatterStatus.OPEN)
            .order_by(Matter.number)
        )
    )


def resolve_client(contact_id: int | None, typed: str, picked_id: int | None) -> tuple[Contact | None, list[Contact]]:
    """The client a request form is for, and when what was typed is not one client, the clients it could be.

    One picked from the form's list of matches wins; then the chosen one (contact_id), unless another name was
    typed since; then the one client whose name starts with, or is, what was typed."""
    if picked_id:
        return db.session.get(Contact, picked_id), []
    contact = db.session.get(Contact, contact_id) if contact_id else None
    typed = typed.strip()
    if contact is not None and (not typed or typed.casefold() == contact.name.casefold()):
        return contact, []
    if not typed:
        return None, []
    matches = find_clients(typed)
    exact = [match for match in matches if match.name.casefold() == typed.casefold()]
    if len(matches) == 1 or len(exact) == 1:
        return (exact or matches)[0], []
    return None, matches
