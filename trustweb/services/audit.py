"""Writing and verifying the hash-chained audit trail.

record() is called by every service that changes money, requests, users or
settings, inside that service's transaction: the event and the change commit
together or not at all.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import select

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


def event_hash(event: AuditEvent) -> str:
    """SHA-256 over the event's fields and the previous event's hash."""
    fields = {
        "seq": event.seq,
        "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "user_id": event.user_id,
        "actor": event.actor,
        "ip": event.ip,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
        "prev_hash": event.prev_hash,
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _acting_user(user: User | None) -> User | None:
    if user is not None:
        return user
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user
    return None


def lock_chain() -> AuditChainHead:
    """Lock the chain's head row for the rest of the transaction; returns it.

    Every write appends to the chain, so writers already take turns at the head. The services that lock rows
    (a request, an invoice, ledgers) take the head first: every transaction then locks in the same order, head
    before rows, and two of them can never each hold what the other waits for (PostgreSQL would abort one).
    """
    db.session.execute(insert_ignore(AuditChainHead).values(id=1, last_seq=0, last_hash=GENESIS_HASH))
    return db.session.execute(
        select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


def record(
    action: str,
    obj: Model | None = None,
    *,
    object_type: str | None = None,
    object_id: int | str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    user: User | None = None,
) -> AuditEvent:
    """Append an event to the chain in the current transaction (the caller commits)."""
    # The head row is locked so that concurrent writers append one after another.
    head = lock_chain()
    user = _acting_user(user)
    event = AuditEvent(
        seq=head.last_seq + 1,
        at=utcnow(),
        user_id=user.id if user is not None else None,
        actor=user.email if user is not None else "system",
        ip=client_address() if has_request_context() else None,
        action=action,
        object_type=object_type or (type(obj).__name__ if obj is not None else "firm"),
        object_id=str(object_id if object_id is not None else getattr(obj, "id", "")) or None,
        before=to_json(before),
        after=to_json(after),
        prev_hash=head.last_hash,
    )
    event.hash = event_hash(event)
    head.last_seq, head.last_hash = event.seq, event.hash
    db.session.add(event)
    return event


def snapshot(obj: Model, fields: Iterable[str]) -> dict[str, Any]:
    """The named fields of a model as plain values, for before/after."""
    return {field: getattr(obj, field) for field in fields}


def verify(batch: int = 1000) -> list[str]:
    """Problems in the chain, first one first; an empty list when it is intact."""
    problems: list[str] = []
    expected_seq, prev_hash = 1, GENESIS_HASH
    query = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=batch)
    for event in db.session.scalars(query):
        if event.seq != expected_seq:
            missing = f"#{expected_seq}" if event.seq == expected_seq + 1 else f"#{expected_seq} to #{event.seq - 1}"
            problems.append(f"event {missing} is missing (the chain jumps to #{event.seq})")
        elif event.prev_hash != prev_hash:
            problems.append(f"event #{event.seq} does not follow the event before it (inserted or reordered)")
        if event_hash(event) != event.hash:
            problems.append(f"event #{event.seq} was altered ({event.action} on {event.object_type} {event.object_id})")
        expected_seq, prev_hash = event.seq + 1, event.hash
    head = db.session.get(AuditChainHead, 1)
    last = expected_seq - 1
    if head is not None and head.last_seq > last:
        problems.append(f"event #{last + 1} is missing (the chain should end at #{head.last_seq})")
    elif head is not None and head.last_hash != prev_hash and not problems:
        problems.append(f"event #{last} does not match the chain's recorded end")
    return problems
