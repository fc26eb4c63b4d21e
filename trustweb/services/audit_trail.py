"""The audit trail as people read it: events filtered and paged newest first, each event's changed fields, the
chain verified on request, and the filtered events as CSV rows.

Writing, sealing and the chain's rules are services/audit.py; this module only reads, except check(), which
seals what waits (as `audit-verify` does), verifies, and records that it did.
"""

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import g, has_app_context
from sqlalchemy import Select, select, text

from trustweb.database import read_transaction
from trustweb.extensions import db
from trustweb.ledger.money import format_cents
from trustweb.models import AuditChainHead, AuditEvent, BankAccount, FirmSettings, User
from trustweb.services import audit
from trustweb.services.reports import spreadsheet_text
from trustweb.services.trust import firm_time

PAGE_SIZE = 50
CSV_BATCH = 1_000


@dataclass
class Filters:
    """What the list is narrowed to; None (or empty) means any."""

    user_id: int | None = None
    no_user: bool = False  # only events no staff user made (commands, the worker, clients)
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    date_from: date | None = None  # the firm's dates, both included
    date_to: date | None = None


def _firm_midnight(day: date) -> datetime:
    """The moment the firm's day begins (the firm's zone), to compare with the stored UTC moments."""
    return datetime.combine(day, time(0), ZoneInfo(FirmSettings.get().timezone))


def filtered(filters: Filters) -> Select[tuple[AuditEvent]]:
    """The events the filters leave, unordered."""
    statement = select(AuditEvent)
    if filters.user_id is not None:
        statement = statement.where(AuditEvent.user_id == filters.user_id)
    elif filters.no_user:
        statement = statement.where(AuditEvent.user_id.is_(None))
    if filters.action:
        statement = statement.where(AuditEvent.action == filters.action)
    if filters.object_type:
        statement = statement.where(AuditEvent.object_type == filters.object_type)
    if filters.object_id:
        statement = statement.where(AuditEvent.object_id == filters.object_id)
    if filters.date_from is not None:
        statement = statement.where(AuditEvent.at >= _firm_midnight(filters.date_from))
    if filters.date_to is not None:
        statement = statement.where(AuditEvent.at < _firm_midnight(filters.date_to + timedelta(days=1)))
    return statement


@dataclass
class Page:
    """One page of events, newest first, and the ids the pager continues from (keyset: no count, no OFFSET)."""

    events: list[AuditEvent]
    older_than: int | None  # the next page's `before`, when there are older events
    newer_than: int | None  # the previous page's `after`, when this is not the newest page


def page(filters: Filters, before: int | None = None, after: int | None = None, size: int = PAGE_SIZE) -> Page:
    """The events just older than `before` (or just newer than `after`, or the newest), one statement."""
    statement = filtered(filters).limit(size + 1)
    if after is not None:
        rows = list(db.session.scalars(statement.where(AuditEvent.id > after).order_by(AuditEvent.id)))
        more_newer = len(rows) > size
        events = rows[:size][::-1]
        return Page(events, events[-1].id if events else None, events[0].id if events and more_newer else None)
    if before is not None:
        statement = statement.where(AuditEvent.id < before)
    rows = list(db.session.scalars(statement.order_by(AuditEvent.id.desc())))
    events = rows[:size]
    older = events[-1].id if len(rows) > size else None
    return Page(events, older, events[0].id if events and before is not None else None)


def choices() -> tuple[list[User], list[str], list[str]]:
    """The users, actions and kinds of object the filters offer: those the trail holds (three statements)."""
    users = list(db.session.scalars(select(User).order_by(User.name, User.id)))
    return users, _distinct("action"), _distinct("object_type")


# A column's distinct values by hopping through its index, one look per value: a plain DISTINCT would read the whole
# index of a trail of millions on each page (PostgreSQL has no skip scan).
_DISTINCT = """
WITH RECURSIVE found(value) AS (
    SELECT min({column}) FROM audit_event
    UNION ALL
    SELECT (SELECT min({column}) FROM audit_event WHERE {column} > found.value) FROM found WHERE found.value IS NOT NULL
)
SELECT value FROM found WHERE value IS NOT NULL
"""


def _distinct(column: str) -> list[str]:
    assert column in ("action", "object_type")  # a column with its own index, never text from a request
    return list(db.session.scalars(text(_DISTINCT.format(column=column))))


def kind_label(object_type: str) -> str:
    """ "TrustRequest" as the firm says it: "trust request"."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", object_type).lower()


def _values(recorded: str | None) -> dict[str, Any]:
    if recorded is None:
        return {}
    try:
        value = json.loads(recorded)
    except ValueError:  # not as the app writes it (altered behind its back): shown as it is, for Verify to name
        return {"(not JSON)": recorded}
    return value if isinstance(value, dict) else {"value": value}


def shown(value: Any, name: str = "", currency: str | None = None) -> str | None:
    """A value as a person reads it: text as it is, an amount in cents (a field named `*_cents`) as money when the
    currency is known, anything else as JSON; None for none (or no such field)."""
    if value is None:
        return None
    if currency and name.endswith("_cents") and isinstance(value, int) and not isinstance(value, bool):
        return format_cents(value, currency)
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


def field_label(name: str) -> str:
    """A recorded field's name in words: "total_cents" is "Total", "contact_id" is "Contact", "due_on" is "Due on"."""
    words = re.sub(r"_(cents|id)$", "", name).replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else name


@dataclass(frozen=True)
class Change:
    field: str
    before: str | None
    after: str | None

    @property
    def label(self) -> str:
        return field_label(self.field)


def account_currencies() -> dict[int, str]:
    """Every bank account's currency by its id (a firm has a handful): one statement, read once for the request (kept
    on flask.g) however many events the page shows."""
    if has_app_context() and "account_currencies" in g:
        return g.account_currencies
    found: dict[int, str] = dict(db.session.execute(select(BankAccount.id, BankAccount.currency)).tuples().all())
    if has_app_context():
        g.account_currencies = found
    return found


def _account_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


def event_currency(
    event: AuditEvent, before: Mapping[str, Any], after: Mapping[str, Any], currencies: Mapping[int, str]
) -> str | None:
    """The currency the event's amounts are in: the `currency` it recorded, else that of the bank account it names
    (`bank_account_id` or `account_id`, or the account itself), else the firm's when all its accounts share one;
    None when none of these says (the amounts are then shown as the cents recorded, with no sign)."""
    recorded = after.get("currency") or before.get("currency")
    if isinstance(recorded, str) and len(recorded) == 3:
        return recorded
    named = [values.get(key) for values in (after, before) for key in ("bank_account_id", "account_id")]
    if event.object_type == "BankAccount":
        named.insert(0, event.object_id)
    for value in named:
        account_id = _account_id(value)
        if account_id is not None and account_id in currencies:
            return currencies[account_id]
    kinds = set(currencies.values())
    return kinds.pop() if len(kinds) == 1 else None


def changes(event: AuditEvent, currencies: Mapping[int, str] | None = None) -> list[Change]:
    """The fields whose value the event changed (set, altered or cleared), in the order written: before's, then after's
    new ones. A field none before and none after is no change. Amounts are written in the event's currency (see
    event_currency; `currencies` is account_currencies()), or as plain cents when it is not known."""
    before, after = _values(event.before), _values(event.after)
    currency = event_currency(event, before, after, currencies or {})
    names = list(before) + [name for name in after if name not in before]
    return [
        Change(name, shown(before.get(name), name, currency), shown(after.get(name), name, currency))
        for name in names
        if before.get(name) != after.get(name)
    ]


@dataclass
class Verification:
    """What the Verify button found."""

    problems: list[str]
    events: int  # the chain's length when it was checked
    sealed: int  # events that were waiting and were sealed first
    waiting: int = 0  # written meanwhile and not sealed yet
    extra: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        if self.intact:
            return f"The audit trail is intact: {self.events} event{'s' if self.events != 1 else ''}, chain verified."
        more = len(self.problems) - 1
        also = f" ({more} more problem{'s' if more != 1 else ''} after it.)" if more else ""
        return f"The audit trail is broken: {self.problems[0]}.{also}"


def check(user: User) -> Verification:
    """Seal the events that wait (as the worker and `audit-verify` would), verify the whole chain, and record that
    it was verified and what was found; commits. The chain is read without the write lock (a long read: a trail of
    100,000 events would hold every payment past its busy timeout), then the check is recorded in a short write."""
    sealed = audit.seal_pending()
    problems, events = verified_chain()
    result = Verification(problems, events, sealed)
    audit.record(
        "audit.verified",
        object_type="AuditTrail",
        after={"intact": result.intact, "events": result.events, "sealed": sealed, "problems": problems[:5]},
        user=user,
    )
    db.session.commit()
    result.waiting = audit.waiting()
    db.session.commit()
    return result


def verified_chain() -> tuple[list[str], int]:
    """The chain's problems and its length, read in a read transaction of its own (one snapshot on SQLite)."""
    with read_transaction():
        problems = audit.verify()
        head = db.session.get(AuditChainHead, 1, populate_existing=True)
        return problems, head.last_seq if head is not None else 0


CSV_COLUMNS = ("Seq", "Event id", "When", "User", "Address", "Action", "Object", "Object id", "Before", "After")


def csv_batches(filters: Filters) -> Iterator[list[list[Any]]]:
    """The filtered events as CSV rows, newest first, a batch at a time (keyset: each batch one statement)."""
    settings = FirmSettings.get()
    yield [list(CSV_COLUMNS)]
    before: int | None = None
    while True:
        statement = filtered(filters).order_by(AuditEvent.id.desc()).limit(CSV_BATCH)
        if before is not None:
            statement = statement.where(AuditEvent.id < before)
        events = list(db.session.scalars(statement))
        if not events:
            return
        yield [
            [
                event.seq if event.seq is not None else "",
                event.id,
                firm_time(event.at, settings).strftime("%Y-%m-%d %H:%M:%S %Z"),
                spreadsheet_text(event.actor),
                spreadsheet_text(event.ip or ""),
                spreadsheet_text(event.action),
                spreadsheet_text(event.object_type),
                spreadsheet_text(event.object_id or ""),
                spreadsheet_text(event.before or ""),
                spreadsheet_text(event.after or ""),
            ]
            for event in events
        ]
        before = events[-1].id
        if len(events) < CSV_BATCH:
            return
