"""The audit trail without a lock every writer waits on (invariant 10, ARCHITECTURE.md "The audit trail").

A transaction writes its events at commit and seals them into the chain only if the chain's head is free at that
moment; otherwise they wait, unsealed but carrying a digest of their fields, for the worker's seal_pending(). These
tests hold the head the way a sealing transaction does and check that no writer waits for it, that what waits is
sealed once and in order, and that a change to an event is named whether it was sealed yet or not.
"""

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, insert, select, text, update

from tests.conftest import ON_POSTGRES
from tests.factories import gen_trust_setup
from tests.ledger.test_races import at_once, deposit, failures
from trustweb.extensions import db
from trustweb.models import AuditChainHead, AuditEvent, BankAccount
from trustweb.models.audit import GENESIS_HASH
from trustweb.models.base import utcnow
from trustweb.services import audit, journal, trust
from trustweb.services.trust import Holder
from trustweb.worker import Worker

only_on_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="SQLite has one writer at a time: the head is never busy")


@pytest.fixture
def setup(app):
    with app.app_context():
        return gen_trust_setup()


class Holding:
    """Another transaction holding a lock, in its own thread and connection, until released."""

    def __init__(self, app, action):
        self.held, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run, args=(app, action))

    def _run(self, app, action):
        with app.app_context():
            try:
                action()
                self.held.set()
                self.release.wait(30)
                db.session.commit()
            finally:
                db.session.remove()

    def __enter__(self):
        self.thread.start()
        assert self.held.wait(10), "could not take the lock"
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(10)


def hold_head():
    """As a transaction sealing its events does: the head locked and moved, not yet committed."""
    db.session.execute(select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update()).scalar_one()
    db.session.execute(update(AuditChainHead).where(AuditChainHead.id == 1).values(last_seq=AuditChainHead.last_seq))


def in_thread(app, action):
    """Start action in its own app context; (thread, result list, done event)."""
    result, done = [], threading.Event()

    def run():
        with app.app_context():
            try:
                result.append(action())
            except Exception as error:  # noqa: BLE001 - the test reads it
                db.session.rollback()
                result.append(error)
            finally:
                db.session.remove()
                done.set()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result, done


def seqs():
    return list(db.session.scalars(select(AuditEvent.seq).order_by(AuditEvent.id)))


def a_deposit(setup, cents=1_000):
    return deposit(setup, Holder(setup.client_a, setup.matter_a1), cents)


def test_a_transaction_seals_its_own_events_when_it_commits(app, setup):
    with app.app_context():
        before = db.session.get(AuditChainHead, 1).last_seq
        a_deposit(setup)
        head = db.session.get(AuditChainHead, 1)
        new = db.session.scalars(select(AuditEvent).where(AuditEvent.seq > before)).all()
        assert [e.action for e in new] == ["trust.deposit"]
        assert head.last_seq == new[0].seq == before + 1 and head.last_hash == new[0].hash
        assert new[0].digest == audit.digest(new[0])
        assert audit.waiting() == 0 and audit.verify() == []


@only_on_postgres
def test_no_writer_waits_while_the_head_is_held_and_the_worker_seals_what_waited(app, setup):
    with app.app_context():
        sealed_before = db.session.get(AuditChainHead, 1).last_seq
    with Holding(app, hold_head):
        outcomes = at_once(app, [lambda: a_deposit(setup, 1_000), lambda: a_deposit(setup, 2_000)])
        assert failures(outcomes) == []
        with app.app_context():
            assert audit.waiting() == 2  # written with their deposits, not yet in the chain
            assert audit.verify() == []  # checked against their digests meanwhile
    with app.app_context():
        assert audit.seal_pending() == 2
        assert audit.waiting() == 0
        assert seqs() == list(range(1, sealed_before + 3))
        assert audit.verify() == []


@only_on_postgres
def test_many_writers_and_a_sealer_at_once_leave_one_chain_without_gaps(app, setup):
    holders = [Holder(setup.client_a, setup.matter_a1), Holder(setup.client_b, setup.matter_b1), trust.FIRM]

    def pay_in(n):
        return lambda: deposit(setup, holders[n % 3], 100 * (n + 1))

    def seal_repeatedly():
        return sum(audit.seal_pending() for _ in range(20))

    outcomes = at_once(app, [pay_in(n) for n in range(12)] + [seal_repeatedly, seal_repeatedly])
    assert failures(outcomes) == []
    with app.app_context():
        audit.seal_pending()
        count = db.session.scalar(select(func.count()).select_from(AuditEvent))
        assert sorted(seqs()) == list(range(1, count + 1))
        assert audit.verify() == []


@only_on_postgres
def test_an_entry_waits_for_a_sign_off_of_its_account_in_progress(app, setup):
    """Signing holds the account's row whole: an entry booked meanwhile waits for it, then reads the period afresh
    (so it cannot slip into the period being signed)."""

    def signing():
        journal.hold_account(setup.account, journal.SIGNING)

    with Holding(app, signing):
        thread, result, done = in_thread(app, lambda: a_deposit(setup))
        assert not done.wait(1), "the entry was booked while the account was being signed off"
    assert done.wait(10)
    thread.join(5)
    assert isinstance(result[0], int), result


@only_on_postgres
def test_entries_do_not_wait_on_each_other_for_their_account(app, setup):
    def posting():
        journal.hold_account(setup.account, journal.POSTING)

    with Holding(app, posting):
        thread, result, done = in_thread(app, lambda: a_deposit(setup))
        assert done.wait(10), "an entry waited for another entry of the same account"
        thread.join(5)
        assert isinstance(result[0], int), result


def write_unsealed(**fields):
    """An event as a writer leaves it when the head is busy: written with its digest, seq still NULL."""
    event = AuditEvent(at=utcnow(), actor="system", action="trust.deposit", object_type="JournalEntry", **fields)
    event.digest = audit.digest(event)
    values = {column: getattr(event, column) for column in ("at", "actor", "action", "object_type", "digest")}
    db.session.execute(insert(AuditEvent).values(**values, **fields))
    db.session.commit()
    return db.session.scalar(select(func.max(AuditEvent.id)))


def test_an_unsealed_event_is_sealed_by_the_worker(app, setup):
    with app.app_context():
        a_deposit(setup)
        event_id = write_unsealed(object_id="7", after='{"amount":1}')
        assert audit.waiting() == 1
    with app.app_context():
        Worker(app).run_once()
        event = db.session.get(AuditEvent, event_id)
        head = db.session.get(AuditChainHead, 1)
        assert event.seq == head.last_seq and event.hash == head.last_hash
        assert audit.waiting() == 0 and audit.verify() == []


def test_a_change_to_an_event_waiting_to_be_sealed_is_named(app, setup, runner, unguard):
    with app.app_context():
        a_deposit(setup)
        event_id = write_unsealed(object_id="7", after='{"amount":1}')
        unguard("audit_event", "update")
        db.session.execute(
            text("UPDATE audit_event SET after = :after WHERE id = :id"), {"after": '{"amount":1000}', "id": event_id}
        )
        db.session.commit()
        assert audit.verify() == [f"event id {event_id}, not yet sealed, was altered (trust.deposit on JournalEntry 7)"]
    result = runner.invoke(args=["trustweb", "audit-verify"])
    assert result.exit_code != 0
    assert "Sealed 1 event that were waiting" in result.output
    assert "was altered (trust.deposit on JournalEntry 7)" in result.output


def test_an_event_is_sealed_once_and_its_fields_never_change(app, setup):
    with app.app_context():
        a_deposit(setup)
        sealed = db.session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(update(AuditEvent).where(AuditEvent.id == sealed.id).values(seq=sealed.seq + 100))
        db.session.rollback()
        event_id = write_unsealed(object_id="8")
        # Sealing may set seq, prev_hash and hash where they were NULL, and nothing else.
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(
                update(AuditEvent)
                .where(AuditEvent.id == event_id)
                .values(seq=999, prev_hash="a" * 64, hash="b" * 64, after='{"forged":true}')
            )
        db.session.rollback()
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(update(AuditEvent).where(AuditEvent.id == event_id).values(seq=999))
        db.session.rollback()


def test_events_sealed_before_the_digest_still_verify_and_a_change_to_one_is_named(app, runner, unguard):
    """Events written before migration 0012 have no digest: their hash covers their fields, as it always did."""
    with app.app_context():
        unguard("audit_event", "update")
        prev, at = GENESIS_HASH, utcnow() - timedelta(days=400)
        for seq in (1, 2):
            event = AuditEvent(seq=seq, at=at, actor="system", action="user.created", object_type="User")
            event.object_id, event.after, event.prev_hash = str(seq), json.dumps({"n": seq}), prev
            event.user_id = event.ip = event.before = None
            event.hash = audit.event_hash(event)
            db.session.add(event)
            prev = event.hash
        head = db.session.get(AuditChainHead, 1) or AuditChainHead(id=1)
        head.last_seq, head.last_hash = 2, prev
        db.session.add(head)
        db.session.commit()
        assert audit.verify() == []
        db.session.execute(text("UPDATE audit_event SET after = :after WHERE seq = 1"), {"after": '{"n":3}'})
        db.session.commit()
        assert audit.verify() == ["event #1 was altered (user.created on User 1)"]


def test_the_ledger_locks_of_a_transaction_are_taken_once(app, setup):
    """A second lock_ledgers() in the same transaction asks the database nothing: the rows are held already."""
    with app.app_context():
        account = db.session.get(BankAccount, setup.account)
        holder = Holder(setup.client_a, setup.matter_a1)
        first = journal.lock_ledgers(account, [holder])
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        sa_event.listen(db.engine, "before_cursor_execute", listener)
        try:
            again = journal.lock_ledgers(account, [holder])
        finally:
            sa_event.remove(db.engine, "before_cursor_execute", listener)
        assert again == first and statements == []
        db.session.rollback()


def test_audit_seal_chains_what_waited_for_cron_without_a_worker(app, setup, runner):
    with app.app_context():
        write_unsealed(object_id="9")
    result = runner.invoke(args=["trustweb", "audit-seal"])
    assert result.exit_code == 0 and "Sealed 1 audit event." in result.output
    with app.app_context():
        assert audit.waiting() == 0 and audit.verify() == []


def test_an_event_forged_beyond_the_chains_end_is_named(app, setup, unguard):
    with app.app_context():
        a_deposit(setup)
        end = db.session.get(AuditChainHead, 1).last_seq
        event_id = write_unsealed(object_id="10")
        unguard("audit_event", "update")
        db.session.execute(update(AuditEvent).where(AuditEvent.id == event_id).values(seq=end + 1, hash="f" * 64))
        db.session.commit()
        assert audit.verify() == [f"event #{end + 1} lies beyond the chain's recorded end (#{end}): inserted"]


@only_on_postgres
def test_verify_while_events_are_being_sealed_names_no_missing_event(app, setup):
    """The head is read before the events it covers, so events sealed during a check are no false alarm."""
    stop = threading.Event()

    def keep_writing():
        count = 0
        while not stop.is_set() and count < 200:
            a_deposit(setup, 100)
            count += 1
        return count

    def keep_verifying():
        try:
            return [problem for _ in range(15) for problem in audit.verify()]
        finally:
            stop.set()

    outcomes = at_once(app, [keep_writing, keep_writing, keep_verifying])
    assert failures(outcomes) == [] and outcomes[2] == []
