"""An event's before and after compared field by field, as the page shows them."""

from trustweb.models import AuditEvent
from trustweb.services.audit import to_json
from trustweb.services.audit_trail import Change, changes, kind_label


def event(before, after):
    return AuditEvent(
        before=None if before is None else to_json(before), after=None if after is None else to_json(after)
    )


# The trail writes its JSON with the keys sorted: the fields come in that order, before's first.
def test_a_change_lists_only_what_moved_and_says_none_where_there_was_nothing():
    edited = event(
        {"status": "draft", "amount_cents": 500_000, "memo": "old", "notes": None},
        {"status": "sent", "amount_cents": 500_000, "due_on": "2026-12-01", "notes": None, "lines": [1, 2]},
    )
    assert changes(edited) == [
        Change("memo", "old", None),
        Change("status", "draft", "sent"),
        Change("due_on", None, "2026-12-01"),
        Change("lines", None, "[1, 2]"),
    ]


def test_a_creation_shows_its_values_and_an_event_without_values_shows_none():
    assert changes(event(None, {"email": "a@firm.example", "active": True, "phone": None})) == [
        Change("active", None, "true"),
        Change("email", None, "a@firm.example"),
    ]
    assert changes(event(None, None)) == []


def test_values_that_are_not_json_are_shown_as_they_are():
    assert changes(AuditEvent(before="<b>not JSON", after=None)) == [Change("(not JSON)", "<b>not JSON", None)]


def test_kinds_of_object_in_the_firms_words():
    assert kind_label("TrustRequest") == "trust request" and kind_label("Matter") == "matter"
