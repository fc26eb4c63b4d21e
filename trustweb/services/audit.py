"""Writing, sealing and verifying the hash-chained audit trail.

record() is called by every service that changes money, requests, users or
settings, inside that service's transaction: the event and the change commit
together or not at all. No writer waits for another's audit trail: the
commit inserts the transaction's events and seals them into the chain only if
the chain's head is free at that moment; otherwise the worker seals them
moments later (seal_pending). ARCHITECTURE.md states the design and its proof.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import Select, func, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from trustweb.database import per_transaction, take_per_transaction
from trustweb.extensions import Model, client_address, db
from trustweb.models import AuditChainHead, AuditEvent, User
from trustweb.models.audit import GENESIS_HASH
from trustweb.models.base import utcnow
from trustweb.models.firm import insert_ignore


def _plain(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot put {type(value).__name__} in the audit trail")


def to_json(values: Mapping[str, Any] | None) -> str | None:
    return None if values is None else json.dumps(values, default=_plain, sort_keys=True, separators=(",", ":"))


_FIELDS = ("user_id", "actor", "ip", "action", "object_type", "object_id", "before", "after")


def _hash(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _at(event: AuditEvent) -> str:
    return event.at.astimezone(UTC).isoformat(timespec="microseconds")


def digest(event: AuditEvent) -> str:
    """SHA-256 over the event's own fields: written with the event, so a change made before it is sealed shows."""
    return _hash({"at": _at(event), **{name: getattr(event, name) for name in _FIELDS}})


def event_hash(event: AuditEvent) -> str:
    """The chain's hash of a sealed event: over its seq, its digest and the previous event's hash.

    Events sealed before migration 0012 have no digest; their hash covers their fields directly."""
    if event.digest is None:
        fields = {name: getattr(event, name) for name in _FIELDS}
        return _hash({"seq": event.seq, "at": _at(event), "prev_hash": event.prev_hash, **fields})
    return _hash({"seq": event.seq, "digest": event.digest, "prev_hash": event.prev_hash})


# The client's pages (the pay link, a notice, the portal): whoever acts there is the client, even when a staff
# member is signed in on the same browser.
CLIENT_PAGES = frozenset({"pay", "notices", "portal", "methods"})


def _on_client_pages() -> bool:
    return has_request_context() and request.blueprint in CLIENT_PAGES


def _acting_user(user: User | None) -> User | None:
    if user is not None:
        return user
    if has_request_context() and not _on_client_pages() and current_user and current_user.is_authenticated:
        return current_user
    return None


def record(
    action: str,
    obj: Model | None = None,
    *,
    object_type: str | None = None,
    object_id: int | str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    user: User | None = None,
    actor: str | None = None,
) -> AuditEvent:
    """Write an event in the current transaction (the caller commits): it is inserted, and sealed if it can be,
    when the transaction commits; a rollback drops it with the change it described. `actor` names someone who is
    not a user (a client in the portal); then no signed-in user is taken for them."""
    user = _acting_user(user) if actor is None else None
    event = AuditEvent(
        at=utcnow(),
        user_id=user.id if user is not None else None,
        actor=user.email if user is not None else (actor or ("client" if _on_client_pages() else "system")),
        ip=client_address() if has_request_context() else None,
        action=action,
        object_type=object_type or (type(obj).__name__ if obj is not None else "firm"),
        object_id=str(object_id if object_id is not None else getattr(obj, "id", "")) or None,
        before=to_json(before),
        after=to_json(after),
    )
    event.digest = digest(event)
    # Kept until the commit writes them all in one INSERT (a rollback forgets them).
    pending: list[AuditEvent] = per_transaction(_PENDING, list)
    pending.append(event)
    return event


_PENDING = "audit events"


def made_with(candidates: Select[Any], action: str, field: str, key: str) -> Any | None:
    """The row among `candidates` (a SELECT of one model's rows, each recorded by an `action` event) whose event noted
    the form's `key` under `field`, if any: a form posted again (a double click) finds what its first post made."""
    made = {str(row.id): row for row in db.session.scalars(candidates)}
    if not made:
        return None
    events = db.session.execute(
        select(AuditEvent.object_id, AuditEvent.after).where(
            AuditEvent.action == action,
            AuditEvent.object_type == type(next(iter(made.values()))).__name__,
            AuditEvent.object_id.in_(made),
        )
    )
    return next((made[ident] for ident, after in events if json.loads(after or "{}").get(field) == key), None)


def _head(session: Session, wait: bool) -> AuditChainHead | None:
    """The chain's head row, locked until commit; None when another transaction holds it and wait is False.

    On SQLite the transaction already holds the database's one write lock, so the head is always free."""
    query = (
        select(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .with_for_update(skip_locked=not wait)
        .execution_options(populate_existing=True)
    )
    head = session.execute(query).scalar_one_or_none()
    # None: locked by another transaction, or not made yet (a database made by create_all; migration 0012 makes it).
    # A plain read tells which without waiting (an INSERT would wait for a transaction sealing at that moment).
    if head is None and session.scalar(select(AuditChainHead.id).where(AuditChainHead.id == 1)) is None:
        session.execute(insert_ignore(AuditChainHead).values(id=1, last_seq=0, last_hash=GENESIS_HASH))
        head = session.execute(query).scalar_one_or_none()
    return head


def _seal(head: AuditChainHead, events: Iterable[AuditEvent]) -> int:
    """Give each event the next seq and its chain hash, in order; moves the head (the caller holds it)."""
    count = 0
    for event in events:
        event.seq, event.prev_hash = head.last_seq + 1, head.last_hash
        event.hash = event_hash(event)
        head.last_seq, head.last_hash = event.seq, event.hash
        count += 1
    return count


@sa_event.listens_for(Session, "before_commit")
def _write_events(session: Session) -> None:
    """Insert the transaction's events, sealed now if the head is free (it is held only for the commit itself).

    A writer never waits for the head: when another transaction is sealing, its events go in unsealed and the
    worker's seal_pending() chains them moments later. So no change in the firm waits on another's audit trail.

    (No service uses savepoints; a savepoint's release would not write the events, its rollback would not drop
    them: record() inside session.begin_nested() needs more than this.)"""
    if session.in_nested_transaction():
        return  # a savepoint released: the events go with the whole transaction's commit
    events = take_per_transaction(session, _PENDING)
    if not events:
        return
    head = _head(session, wait=False)
    if head is not None:
        _seal(head, events)
    session.add_all(events)


def seal_pending(batch: int = 1000) -> int:
    """Chain the events written while the head was busy, oldest first; commits. The number sealed."""
    if not db.session.scalar(select(AuditEvent.id).where(AuditEvent.seq.is_(None)).limit(1)):
        db.session.commit()  # nothing waits (the usual case): no lock taken, no write
        return 0
    sealed = 0
    while True:
        head = _head(db.session(), wait=True)
        pending = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq.is_(None))
            .order_by(AuditEvent.id)
            .limit(batch)
            .execution_options(populate_existing=True)
        ).all()
        count = _seal(head, pending) if head is not None else 0
        db.session.commit()
        sealed += count
        if count < batch:
            return sealed


def waiting() -> int:
    """Events written but not yet sealed."""
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None))) or 0


def snapshot(obj: Model, fields: Iterable[str]) -> dict[str, Any]:
    """The named fields of a model as plain values, for before/after."""
    return {field: getattr(obj, field) for field in fields}


def _head_end() -> tuple[AuditChainHead | None, int]:
    head = db.session.get(AuditChainHead, 1, populate_existing=True)
    return head, head.last_seq if head is not None else 0


def verify(batch: int = 1000) -> list[str]:
    """Problems in the chain, first one first; an empty list when it is intact (events still waiting to be sealed
    are checked against their digest)."""
    problems: list[str] = []
    expected_seq, prev_hash, end = 1, GENESIS_HASH, 0
    # Up to the head's end as read before the events, then again as far as it has moved meanwhile, until it stands
    # still: read only after the events, the head would name the events sealed during the check missing.
    while True:
        head, new_end = _head_end()
        if new_end <= end:
            beyond = db.session.scalar(select(func.min(AuditEvent.seq)).where(AuditEvent.seq > end))
            if beyond is None or _head_end()[1] > end:
                if beyond is None:
                    break
                continue  # sealed just now: checked on the next round
            problems.append(f"event #{beyond} lies beyond the chain's recorded end (#{end}): inserted")
            break
        query = select(AuditEvent).where(AuditEvent.seq > end, AuditEvent.seq <= new_end).order_by(AuditEvent.seq)
        end = new_end
        for event in db.session.scalars(query.execution_options(yield_per=batch)):
            assert event.seq is not None and event.hash is not None
            if event.seq != expected_seq:
                gap = f"#{expected_seq}" if event.seq == expected_seq + 1 else f"#{expected_seq} to #{event.seq - 1}"
                problems.append(f"event {gap} is missing (the chain jumps to #{event.seq})")
            elif event.prev_hash != prev_hash:
                problems.append(f"event #{event.seq} does not follow the event before it (inserted or reordered)")
            if (event.digest is not None and digest(event) != event.digest) or event_hash(event) != event.hash:
                problems.append(
                    f"event #{event.seq} was altered ({event.action} on {event.object_type} {event.object_id})"
                )
            expected_seq, prev_hash = event.seq + 1, event.hash
    last = expected_seq - 1
    if last < end:
        problems.append(f"event #{last + 1} is missing (the chain should end at #{end})")
    elif head is not None and head.last_hash != prev_hash and not problems:
        problems.append(f"event #{last} does not match the chain's recorded end")
    unsealed = select(AuditEvent).where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id)
    for event in db.session.scalars(unsealed.execution_options(yield_per=batch)):
        if digest(event) != event.digest:
            problems.append(
                f"event id {event.id}, not yet sealed, was altered ({event.action} on {event.object_type} "
                f"{event.object_id})"
            )
    return problems
