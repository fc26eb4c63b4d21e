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


def amount_shown(recorded, currencies, object_type="TrustRequest", object_id="1"):
    found = event(None, recorded)
    found.object_type, found.object_id = object_type, object_id
    return {c.field: c.after for c in changes(found, currencies)}["amount_cents"]


def test_an_amount_is_in_the_currency_of_the_account_the_event_names_not_the_firms():
    accounts = {1: "USD", 2: "EUR", 3: "CAD"}
    assert amount_shown({"amount_cents": 100_000, "bank_account_id": 2}, accounts) == "€1,000.00"
    assert amount_shown({"amount_cents": 100_000, "account_id": 3}, accounts) == "CA$1,000.00"
    assert amount_shown({"amount_cents": 100_000}, accounts, "BankAccount", "2") == "€1,000.00"
    # a currency the event recorded is its own, whatever account it names
    assert amount_shown({"amount_cents": 100_000, "bank_account_id": 2, "currency": "GBP"}, accounts) == "£1,000.00"


def test_an_amount_with_no_account_is_in_the_firms_only_currency_else_plain_cents():
    assert amount_shown({"amount_cents": 100_000}, {1: "USD", 2: "USD"}) == "$1,000.00"
    assert amount_shown({"amount_cents": 100_000}, {1: "USD", 2: "CAD"}) == "100000"
    assert amount_shown({"amount_cents": 100_000, "bank_account_id": 9}, {1: "USD", 2: "CAD"}) == "100000"
    assert amount_shown({"amount_cents": 100_000}, {}) == "100000"  # no account at all: nothing to say which
