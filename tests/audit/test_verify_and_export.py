"""Verify the chain from the page (a POST that seals what waits, checks, and is itself audited), and the filtered
events as CSV."""

import csv
import io
import json

import pytest
from sqlalchemy import select, text

from tests.audit.conftest import event_on
from tests.conftest import ON_POSTGRES, csrf_token, signed_in
from tests.statements import statements
from trustweb.extensions import db
from trustweb.models import AuditChainHead, AuditEvent
from trustweb.services import audit


def page_text(response):
    return response.get_data(as_text=True)


def verify(browser):
    """Press Verify the chain; the page it comes back to."""
    response = browser.post("/audit/verify", data={"csrf_token": csrf_token(browser, "/audit/")})
    assert response.status_code == 303 and response.headers["Location"] == "/audit/"
    return page_text(browser.get("/audit/"))


def test_an_intact_trail_says_so_with_its_length_and_the_check_is_recorded(app, office):
    browser = signed_in(app, office.bookkeeper)
    with app.app_context():
        events = db.session.get(AuditChainHead, 1).last_seq
    page = verify(browser)
    assert f"The audit trail is intact: {events} events, chain verified." in page
    with app.app_context():
        checked = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.verified")).one()
        assert json.loads(checked.after)["intact"] is True and checked.user_id == office.bookkeeper
    assert browser.get("/audit/verify").status_code == 405  # a GET never writes
    assert browser.post("/audit/verify").status_code == 400  # no CSRF token


def test_events_waiting_to_be_sealed_are_counted_then_sealed_first(app, office):
    with app.app_context():
        waiting = AuditEvent(**{k: v for k, v in vars(event_on(0, "request.viewed")).items() if not k.startswith("_")})
        db.session.rollback()  # the recorded one is dropped: this one goes in as the busy head would leave it
        waiting.digest = audit.digest(waiting)
        db.session.add(waiting)
        db.session.commit()
        assert waiting.seq is None
    browser = signed_in(app, office.admin)
    assert "1 event waiting to be sealed" in page_text(browser.get("/audit/"))
    page = verify(browser)
    assert "The audit trail is intact:" in page and "1 event waiting to be sealed were sealed first." in page
    assert "No event is waiting to be sealed." in page


@pytest.mark.parametrize("altered", ['{"status":"closed"}', "<b>not JSON"])
def test_a_tampered_event_makes_the_page_say_the_trail_is_broken_and_name_it(app, office, altered):
    with app.app_context():
        tampered = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "matter.updated")).one()
        seq = tampered.seq
        # As a DBA would: the append-only trigger off, a value changed behind the application's back.
        if ON_POSTGRES:
            db.session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
        else:
            db.session.execute(text("DROP TRIGGER audit_event_no_update"))
        db.session.execute(
            text("UPDATE audit_event SET after = :after WHERE id = :id"), {"after": altered, "id": tampered.id}
        )
        db.session.commit()
    try:
        browser = signed_in(app, office.admin)
        listed = page_text(browser.get("/audit/?action=matter.updated"))  # still listed, as it now reads
        assert ("closed" if altered.startswith("{") else "&lt;b&gt;not JSON") in listed
        page = verify(browser)
    finally:
        if ON_POSTGRES:
            with app.app_context():
                db.session.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))
                db.session.commit()
    assert f"The audit trail is broken: event #{seq} was altered (matter.updated on Matter {office.matter})." in page
    assert "The audit trail is intact" not in page


def read_csv(response):
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="audit-trail-')
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_the_csv_has_the_filtered_events_with_before_and_after_as_json(app, office):
    with app.app_context():
        event_on(0, "request.viewed", object_type="TrustRequest", object_id="=HYPERLINK(1)")
        db.session.commit()
    browser = signed_in(app, office.bookkeeper)
    header, *lines = read_csv(browser.get(f"/audit/events.csv?object=Matter&id={office.matter}&action=matter.updated"))
    assert header == ["Seq", "Event id", "When", "User", "Address", "Action", "Object", "Object id", "Before", "After"]
    assert len(lines) == 1
    row = dict(zip(header, lines[0], strict=True))
    assert row["Action"] == "matter.updated" and row["Object"] == "Matter" and row["Object id"] == str(office.matter)
    assert json.loads(row["Before"])["description"] == "<script>alert('x')</script>"
    assert json.loads(row["After"]) == {"description": "Purchase of 12 Elm St", "status": "open"}
    everything = read_csv(browser.get("/audit/events.csv"))
    with app.app_context():
        assert len(everything) - 1 == db.session.query(AuditEvent).count()
    injected = [line for line in everything if line[5] == "request.viewed"]
    assert injected[0][7] == "'=HYPERLINK(1)"  # shown as text by a spreadsheet, never run


def test_the_csv_streams_a_long_trail_in_batches(app, office):
    with app.app_context():
        for n in range(2_100):
            event_on(0, "request.viewed", object_type="TrustRequest", object_id=n + 1)
        db.session.commit()
    lines = read_csv(signed_in(app, office.admin).get("/audit/events.csv?action=request.viewed"))
    assert [line[7] for line in lines[1:4]] == ["2100", "2099", "2098"] and len(lines) == 2_101
    assert lines[-1][7] == "1"


def counted(app, browser, url):
    with statements(app) as seen:
        assert browser.get(url).status_code == 200
    return [s for s in seen if not s.startswith("BEGIN")]


def test_the_page_runs_as_many_statements_for_500_events_as_for_3(app, office):
    browser = signed_in(app, office.admin)
    few = counted(app, browser, "/audit/")
    rows = counted(app, browser, "/audit/?action=matter.updated")
    with app.app_context():
        for n in range(500):
            event_on(
                n % 30,
                "request.viewed",
                object_type="TrustRequest",
                object_id=n + 1,
                before={"n": n},
                after={"n": n + 1},
            )
        db.session.commit()
    many = counted(app, browser, "/audit/")
    assert len(many) == len(few), "\n".join(many)
    assert len(counted(app, browser, "/audit/?action=request.viewed")) == len(rows)
    # the session and its user, the firm's settings, the page of events, the three lists of choices, the waiting count,
    # and the bank accounts' currencies (one small table, read once for all the page's amounts: each in its account's)
    assert len(many) == 8, "\n".join(many)
    second = counted(app, browser, "/audit/?before=300&action=request.viewed")
    assert len(second) == len(rows)


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite's write lock: PostgreSQL readers and writers never block each other")
def test_a_payment_is_not_held_up_while_verify_reads_the_chain(app, office, monkeypatch):
    """Verify reads the whole chain (a second and more on a long trail) without the write lock: another writer
    with a short busy timeout writes meanwhile; only the recording of the check takes the lock, briefly."""
    import sqlite3

    with app.app_context():
        path = db.engine.url.database
    read_chain, written = audit.verify, []

    def slowed_verify(*args, **kwargs):
        problems = read_chain(*args, **kwargs)  # the chain is read, its transaction still open
        other = sqlite3.connect(path, timeout=0.1, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # as a payment's POST begins
            other.execute("UPDATE firm_settings SET timezone = timezone")
            other.execute("COMMIT")
            written.append(True)
        finally:
            other.close()
        return problems

    monkeypatch.setattr(audit, "verify", slowed_verify)
    browser = signed_in(app, office.admin)
    token = csrf_token(browser, "/audit/")
    with statements(app) as seen:
        response = browser.post("/audit/verify", data={"csrf_token": token})
    assert response.status_code == 303 and written == [True]
    assert "The audit trail is intact:" in page_text(browser.get("/audit/"))
    reads = next(i for i, s in enumerate(seen) if "FROM audit_event" in s and "ORDER BY audit_event.seq" in s)
    began = [s for s in seen[:reads] if s.startswith("BEGIN")]
    assert began[-1].split("  @")[0] == "BEGIN"  # the chain's reads: no BEGIN IMMEDIATE around them
    assert any(s.startswith("BEGIN IMMEDIATE") for s in seen[reads:])  # the check recorded in a write of its own
