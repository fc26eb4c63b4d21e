"""Two people moving the same money at the same moment: one wins, the other is told why.

Each thread has its own app context and so its own database connection. On
PostgreSQL the services lock the ledger rows (SELECT ... FOR UPDATE); on SQLite
every transaction begins with BEGIN IMMEDIATE and the second writer waits for the
first (trustweb/database.py). The same tests run on both.
"""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories import bank_and_held_totals, gen_trust_setup, trust_ledger
from trustweb.extensions import db
from trustweb.ledger.rules import AlreadyReversed, InsufficientFunds, LedgerError
from trustweb.models import AuditEvent, BankAccount, JournalEntry
from trustweb.services import audit, trust
from trustweb.services.books import check_books
from trustweb.services.trust import Holder


def at_once(app, actions):
    """Run each action in its own thread and app context, released together; what each returned or raised."""
    start = threading.Barrier(len(actions))
    outcomes = [None] * len(actions)

    def run(i, action):
        with app.app_context():
            try:
                start.wait(timeout=30)
                outcomes[i] = action()
            except Exception as error:  # noqa: BLE001 - the caller checks every outcome
                db.session.rollback()
                outcomes[i] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, action)) for i, action in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck waiting for a lock"
    return outcomes


def successes(outcomes):
    return [o for o in outcomes if isinstance(o, int)]


def failures(outcomes):
    return [o for o in outcomes if isinstance(o, Exception)]


@pytest.fixture
def setup(app):
    with app.app_context():
        ids = gen_trust_setup()
    return ids


def account(ids):
    return db.session.get(BankAccount, ids.account)


def deposit(ids, holder, amount, cleared=True):
    return trust.record_deposit(
        account=account(ids),
        holder=holder,
        amount_cents=amount,
        entry_date=trust.firm_today() - timedelta(days=1),
        method="wire",
        payer="Client",
        cleared=cleared,
    ).id


def assert_books_sound(ids):
    bank, held = bank_and_held_totals(ids.account)
    assert bank == held
    assert check_books() == []
    assert audit.verify() == []


def test_two_payments_of_sixty_percent_at_once_one_is_refused(app, setup):
    matter = Holder(setup.client_a, setup.matter_a1)

    def pay(n):
        def action():
            entry = trust.record_disbursement(
                account=account(setup),
                holder=matter,
                amount_cents=60_000,
                entry_date=trust.firm_today(),
                payee=f"Payee {n}",
                description="Settlement payment",
            )
            return entry.id

        return action

    for _ in range(5):  # a race lost once could be luck; five times is the lock
        with app.app_context():
            ledger = trust_ledger(setup.account, matter)
            deposit(setup, matter, 100_000 - (ledger.balance_cents if ledger else 0))
        outcomes = at_once(app, [pay(1), pay(2)])
        assert len(successes(outcomes)) == 1, outcomes
        assert [type(e) for e in failures(outcomes)] == [InsufficientFunds], outcomes
        with app.app_context():
            ledger = trust_ledger(setup.account, matter)
            assert (ledger.balance_cents, ledger.available_cents) == (40_000, 40_000)
            assert_books_sound(setup)


def test_two_cheques_with_the_same_number_at_once_one_is_refused(app, setup):
    """Two lawyers pay from different matters and both type cheque 7001: the number is used once."""
    with app.app_context():
        deposit(setup, Holder(setup.client_a, setup.matter_a1), 50_000)
        deposit(setup, Holder(setup.client_b, setup.matter_b1), 50_000)

    def pay(holder, cheque):
        def action():
            entry = trust.record_disbursement(
                account=account(setup),
                holder=holder,
                amount_cents=1_000,
                entry_date=trust.firm_today(),
                payee="Clerk",
                description="Filing fee",
                cheque_number=cheque,
            )
            return entry.id

        return action

    for cheque in ("7001", "7002", "7003"):
        a1, b1 = Holder(setup.client_a, setup.matter_a1), Holder(setup.client_b, setup.matter_b1)
        outcomes = at_once(app, [pay(a1, cheque), pay(b1, cheque)])
        assert len(successes(outcomes)) == 1, outcomes
        assert [type(e) for e in failures(outcomes)] == [LedgerError], outcomes
        assert f"Cheque {cheque} is already recorded" in str(failures(outcomes)[0])
    with app.app_context():
        assert_books_sound(setup)


def test_two_reversals_of_the_same_entry_at_once_one_is_refused(app, setup):
    matter = Holder(setup.client_b, setup.matter_b1)
    with app.app_context():
        deposit(setup, matter, 50_000)
        mistakes = [
            trust.record_disbursement(
                account=account(setup),
                holder=matter,
                amount_cents=5_000,
                entry_date=trust.firm_today(),
                payee="Clerk",
                description="Filing fee (wrong matter)",
            ).id
            for _ in range(3)
        ]

    def undo(entry_id):
        def action():
            return trust.reverse(db.session.get(JournalEntry, entry_id), reason="Charged to the wrong matter").id

        return action

    for entry_id in mistakes:
        outcomes = at_once(app, [undo(entry_id), undo(entry_id)])
        assert len(successes(outcomes)) == 1, outcomes
        assert [type(e) for e in failures(outcomes)] == [AlreadyReversed], outcomes
    with app.app_context():
        assert trust_ledger(setup.account, matter).balance_cents == 50_000
        reversed_ids = db.session.scalars(select(JournalEntry.reverses_id).where(JournalEntry.kind == "reversal"))
        assert sorted(reversed_ids) == mistakes
        assert_books_sound(setup)


def test_a_deposit_cleared_and_reversed_at_the_same_moment_keeps_the_books_sound(app, setup):
    """The bank clears a cheque while the bookkeeper reverses it as bounced: whichever wins, the books agree."""
    matter = Holder(setup.client_a, setup.matter_a2)
    with app.app_context():
        deposit(setup, matter, 7_000, cleared=False)  # another cheque still clearing on the same ledger
        cheques = [deposit(setup, matter, 10_000 + n, cleared=False) for n in range(3)]

    def clear(entry_id):
        def action():
            return trust.mark_cleared(db.session.get(JournalEntry, entry_id), cleared_on=trust.firm_today()).id

        return action

    def bounce(entry_id):
        def action():
            return trust.reverse(db.session.get(JournalEntry, entry_id), reason="Cheque bounced").id

        return action

    for entry_id in cheques:
        outcomes = at_once(app, [clear(entry_id), bounce(entry_id), clear(entry_id)])
        assert all(isinstance(o, int | LedgerError) for o in outcomes), outcomes
        with app.app_context():
            entry = db.session.get(JournalEntry, entry_id)
            # Cleared, reversed, or cleared and then reversed; never cleared twice.
            assert successes(outcomes), outcomes
            assert entry.clearance is not None or entry.reversed_by is not None
            assert_books_sound(setup)


def test_eight_deposits_at_once_all_land_and_the_audit_chain_holds(app, setup):
    holders = [Holder(setup.client_a, setup.matter_a1), Holder(setup.client_b, setup.matter_b1), trust.FIRM]
    with app.app_context():
        events_before = db.session.scalar(select(db.func.count()).select_from(AuditEvent))

    def pay_in(n):
        def action():
            return deposit(setup, holders[n % 3], 1_000 * (n + 1), cleared=n % 2 == 0)

        return action

    outcomes = at_once(app, [pay_in(n) for n in range(8)])
    assert failures(outcomes) == []
    with app.app_context():
        expected = [sum(1_000 * (n + 1) for n in range(8) if n % 3 == i) for i in range(3)]
        assert [trust_ledger(setup.account, h).balance_cents for h in holders] == expected
        # A deposit that committed while another was sealing left its event for the worker: seal it as the worker does.
        audit.seal_pending()
        seqs = list(db.session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
        assert seqs == list(range(1, events_before + 9))
        deposits = db.session.scalars(select(AuditEvent.object_id).where(AuditEvent.action == "trust.deposit"))
        assert sorted(int(i) for i in deposits) == sorted(outcomes)
        assert_books_sound(setup)
