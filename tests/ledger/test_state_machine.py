"""Random days in the trust books: whatever staff try, in whatever order, the books stay sound.

A hypothesis state machine deposits (cleared or not), pays out (with and without
a lawyer's override, with cheque numbers that may repeat), transfers within a
client and across clients, clears and reverses, on two clients' three matters and
the firm's own ledger, with amounts that are often wrong (zero, negative, more
than is held, not an integer). It keeps its own plain-arithmetic model of what
every ledger should hold and which action the rules must refuse, and after each
step checks the database against it: balances, check-books, the audit chain.
A refused action must leave the database exactly as it was.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from tests.conftest import ON_POSTGRES, empty_tables
from tests.factories import gen_trust_setup, row_counts
from trustweb.extensions import db
from trustweb.ledger.rules import AlreadyReversed, BadDate, InsufficientFunds, LedgerError, UnclearedFunds, ZeroAmount
from trustweb.models import AuditEvent, BankAccount, JournalEntry, LedgerAccount
from trustweb.services import audit, trust
from trustweb.services.books import check_books
from trustweb.services.trust import FIRM, Holder

SETTINGS = settings(max_examples=25, stateful_step_count=20, deadline=None)
HOLDERS = ("a1", "a2", "b1", "firm")
DAYS_AGO = st.sampled_from([0, 0, 0, 1, 2, 3, -1])  # mostly today; -1 is tomorrow: refused
# Fixed amounts, amounts that are never allowed, and amounts measured against what the ledger holds.
# What is asked for: mostly a share of what the ledger holds (so that money does move), sometimes a
# fixed sum, just too much, nothing or less, or something that is not a whole number of cents.
AMOUNTS = st.one_of(
    st.tuples(st.just("share"), st.integers(min_value=1, max_value=4)),
    st.tuples(st.just("share"), st.integers(min_value=1, max_value=4)),
    st.tuples(st.just("fixed"), st.integers(min_value=1, max_value=200_000)),
    st.sampled_from([("balance", 1), ("available", 0), ("available", 1)]),
    st.tuples(st.just("fixed"), st.integers(min_value=-5_000, max_value=0)),
    st.tuples(st.just("not cents"), st.sampled_from([1.5, 100.0, Decimal("10.00"), "1000", None, True])),
)
OPENING = st.tuples(st.integers(min_value=0, max_value=500_000), st.booleans())
REASONS = st.sampled_from([None, "", "   ", "Agreed in writing by both clients"])
OVERRIDES = st.sampled_from([None, None, "", "   ", "Closing today; the bank confirmed the cheque by phone"])
CHEQUES = st.one_of(st.none(), st.sampled_from(["1001", "1002", "1003"]))


@dataclass
class Entry:
    """What the model knows of an entry it expects the database to hold."""

    id: int
    kind: str
    effects: dict  # holder name -> change to what the ledger holds
    entry_date: date
    deposit_to: str | None = None
    amount: int = 0
    cleared: bool = True
    reversed: bool = False


@dataclass
class Model:
    balance: dict = field(default_factory=lambda: dict.fromkeys(HOLDERS, 0))
    uncleared: dict = field(default_factory=lambda: dict.fromkeys(HOLDERS, 0))
    last_date: dict = field(default_factory=lambda: dict.fromkeys(HOLDERS))
    entries: list = field(default_factory=list)
    cheques: set = field(default_factory=set)
    events: int = 0

    def available(self, name):
        return self.balance[name] - self.uncleared[name]

    def refusal_to_take(self, name, amount, override=False, uncleared_change=0):
        """Why the rules refuse to take amount from a held ledger, or None."""
        after = self.balance[name] - amount
        if after < 0:
            return InsufficientFunds
        if after - (self.uncleared[name] + uncleared_change) < 0 and not override:
            return UnclearedFunds
        return None

    def dated(self, names, entry_date):
        for name in names:
            if self.last_date[name] is None or entry_date > self.last_date[name]:
                self.last_date[name] = entry_date


class TrustBooks(RuleBasedStateMachine):
    """One example: a fresh database, two clients, three matters, and up to 20 actions."""

    open_database = None  # set by the test: returns an app context on an empty database

    def __init__(self):
        super().__init__()
        self.context = self.open_database()
        self.ids = gen_trust_setup()
        self.holders = {
            "a1": Holder(self.ids.client_a, self.ids.matter_a1),
            "a2": Holder(self.ids.client_a, self.ids.matter_a2),
            "b1": Holder(self.ids.client_b, self.ids.matter_b1),
            "firm": FIRM,
        }
        self.today = trust.firm_today()
        self.model = Model(events=db.session.scalar(select(db.func.count()).select_from(AuditEvent)))

    def teardown(self):
        db.session.remove()
        db.engine.dispose()
        self.context.pop()

    # Helpers

    def account(self):
        return db.session.get(BankAccount, self.ids.account)

    def day(self, days_ago):
        return self.today - timedelta(days=days_ago)

    def amount(self, spec, name):
        measure, value = spec
        if measure == "share":
            return self.model.balance[name] * value // 4
        if measure == "balance":
            return self.model.balance[name] + value
        if measure == "available":
            return self.model.available(name) + value
        return value

    def snapshot(self):
        ledgers = db.session.execute(
            select(
                LedgerAccount.key,
                LedgerAccount.balance_cents,
                LedgerAccount.uncleared_cents,
                LedgerAccount.last_entry_date,
            )
        ).all()
        return sorted(tuple(row) for row in ledgers), row_counts()

    def attempt(self, expected, action, **kwargs):
        """Run a service; it must raise exactly `expected` (and change nothing) or, if None, succeed."""
        before = self.snapshot()
        try:
            result = action(**kwargs)
        except Exception as error:  # noqa: BLE001 - compared with what the model expected
            db.session.rollback()
            assert type(error) is expected, f"expected {getattr(expected, '__name__', 'success')}, got {error!r}"
            assert self.snapshot() == before, "a refused action changed the database"
            return None
        assert expected is None, f"expected {expected.__name__}, but {action.__name__} went through"
        self.model.events += 1
        return result

    def first_refusal(self, amount, entry_date):
        if not isinstance(amount, int) or isinstance(amount, bool):
            return TypeError
        if amount <= 0:
            return ZeroAmount
        if entry_date > self.today:
            return BadDate
        return None

    def left_before_last_entry(self, name, entry_date):
        last = self.model.last_date[name]
        return BadDate if last is not None and entry_date < last else None

    # Actions

    @initialize(a1=OPENING, a2=OPENING, b1=OPENING, firm=OPENING)
    def opening_retainers(self, **openings):
        for name, (amount, cleared) in openings.items():
            if amount:
                self.deposit(name, ("fixed", amount), cleared, days_ago=3)

    @rule(name=st.sampled_from(HOLDERS), spec=AMOUNTS, cleared=st.booleans(), days_ago=DAYS_AGO)
    def deposit(self, name, spec, cleared, days_ago):
        amount, entry_date = self.amount(spec, name), self.day(days_ago)
        expected = self.first_refusal(amount, entry_date)
        entry = self.attempt(
            expected,
            trust.record_deposit,
            account=self.account(),
            holder=self.holders[name],
            amount_cents=amount,
            entry_date=entry_date,
            method="cheque" if not cleared else "wire",
            payer="Client",
            cleared=cleared,
        )
        if entry is None:
            return
        m = self.model
        m.balance[name] += amount
        m.uncleared[name] += 0 if cleared else amount
        m.dated([name], entry_date)
        m.entries.append(Entry(entry.id, "deposit", {name: amount}, entry_date, name, amount, cleared))

    @rule(name=st.sampled_from(HOLDERS), spec=AMOUNTS, override=OVERRIDES, cheque=CHEQUES, days_ago=DAYS_AGO)
    def disburse(self, name, spec, override, cheque, days_ago):
        amount, entry_date, m = self.amount(spec, name), self.day(days_ago), self.model
        spends_uncleared = bool((override or "").strip())
        expected = (
            self.first_refusal(amount, entry_date)
            or (LedgerError if cheque and cheque in m.cheques else None)
            or m.refusal_to_take(name, amount, override=spends_uncleared)
            or self.left_before_last_entry(name, entry_date)
        )
        entry = self.attempt(
            expected,
            trust.record_disbursement,
            account=self.account(),
            holder=self.holders[name],
            amount_cents=amount,
            entry_date=entry_date,
            payee="Clerk of the Circuit Court",
            description="Filing fee",
            cheque_number=cheque,
            override_reason=override,
        )
        if entry is None:
            return
        assert entry.override_reason == ((override or "").strip() or None)
        m.balance[name] -= amount
        m.dated([name], entry_date)
        m.cheques.add(cheque or "")
        m.entries.append(Entry(entry.id, "disbursement", {name: -amount}, entry_date))

    @rule(
        source=st.sampled_from(HOLDERS),
        destination=st.sampled_from(HOLDERS),
        spec=AMOUNTS,
        reason=REASONS,
        days_ago=DAYS_AGO,
    )
    def transfer(self, source, destination, spec, reason, days_ago):
        amount, entry_date, m = self.amount(spec, source), self.day(days_ago), self.model
        src, dst = self.holders[source], self.holders[destination]
        other_client = src.is_firm != dst.is_firm or src.contact_id != dst.contact_id
        expected = (
            self.first_refusal(amount, entry_date)
            or (LedgerError if source == destination else None)
            or (LedgerError if other_client and not (reason or "").strip() else None)
            or m.refusal_to_take(source, amount)
            or self.left_before_last_entry(source, entry_date)
        )
        entry = self.attempt(
            expected,
            trust.transfer,
            account=self.account(),
            source=src,
            destination=dst,
            amount_cents=amount,
            entry_date=entry_date,
            reason=reason,
        )
        if entry is None:
            return
        m.balance[source] -= amount
        m.balance[destination] += amount
        m.dated([source, destination], entry_date)
        m.entries.append(Entry(entry.id, "transfer", {source: -amount, destination: amount}, entry_date))

    def waiting(self):
        return [e for e in self.model.entries if e.kind == "deposit" and not e.cleared and not e.reversed]

    @rule(data=st.data(), days_ago=DAYS_AGO)
    @precondition(lambda self: self.waiting())
    def the_bank_clears_a_deposit(self, data, days_ago):
        self.mark_cleared(data.draw(st.sampled_from(self.waiting()), label="deposit"), days_ago)

    @rule(data=st.data(), days_ago=DAYS_AGO)
    @precondition(lambda self: self.model.entries)
    def clear_any_entry(self, data, days_ago):
        self.mark_cleared(data.draw(st.sampled_from(self.model.entries), label="entry"), days_ago)

    def mark_cleared(self, entry, days_ago):
        cleared_on = self.day(days_ago)
        expected = (
            (LedgerError if entry.kind != "deposit" else None)
            or (BadDate if cleared_on > self.today or cleared_on < entry.entry_date else None)
            or (LedgerError if entry.cleared or entry.reversed else None)
        )
        done = self.attempt(
            expected, trust.mark_cleared, entry=db.session.get(JournalEntry, entry.id), cleared_on=cleared_on
        )
        if done is None:
            return
        self.model.uncleared[entry.deposit_to] -= entry.amount
        entry.cleared = True

    @rule(data=st.data(), reason=st.sampled_from(["Entered in error", "Cheque bounced", "Wrong matter", " "]))
    @precondition(lambda self: self.model.entries)
    def reverse(self, data, reason):
        m = self.model
        entry = data.draw(st.sampled_from(m.entries), label="entry")
        undone = {name: -change for name, change in entry.effects.items()}
        uncleared_change = -entry.amount if entry.kind == "deposit" and not entry.cleared else 0
        taken = [(name, -change) for name, change in undone.items() if change < 0]
        expected = (
            (LedgerError if not reason.strip() or entry.kind == "reversal" else None)
            or (AlreadyReversed if entry.reversed else None)
            or next(
                (m.refusal_to_take(name, amount, uncleared_change=uncleared_change) for name, amount in taken), None
            )
        )
        reversal = self.attempt(expected, trust.reverse, entry=db.session.get(JournalEntry, entry.id), reason=reason)
        if reversal is None:
            return
        assert reversal.reverses_id == entry.id
        for name, change in undone.items():
            m.balance[name] += change
        if uncleared_change:
            m.uncleared[entry.deposit_to] += uncleared_change
        m.dated(undone, self.today)
        entry.reversed = True
        m.entries.append(Entry(reversal.id, "reversal", undone, self.today))

    # What must hold after every step

    @invariant()
    def balances_match_the_model(self):
        stored = {
            key: (balance, uncleared)
            for key, balance, uncleared in db.session.execute(
                select(LedgerAccount.key, LedgerAccount.balance_cents, LedgerAccount.uncleared_cents)
            )
        }
        for name, holder in self.holders.items():
            expected = (self.model.balance[name], self.model.uncleared[name])
            assert stored.get(holder.key(self.ids.account), (0, 0)) == expected, name
        bank = stored.get(f"bank:{self.ids.account}", (0, 0))[0]
        assert bank == sum(self.model.balance.values())

    @invariant()
    def no_held_ledger_is_negative_and_the_bank_equals_them(self):
        rows = db.session.execute(select(LedgerAccount.kind, LedgerAccount.balance_cents)).all()
        assert all(balance >= 0 for kind, balance in rows if kind in ("client", "firm"))
        assert sum(b for k, b in rows if k == "bank") == sum(b for k, b in rows if k in ("client", "firm"))

    @invariant()
    def the_journal_holds_what_the_model_expects(self):
        counts = row_counts()
        assert counts["journal_entry"] == len(self.model.entries)
        assert counts["journal_line"] == 2 * len(self.model.entries)  # every kind of entry here has two lines
        assert counts["deposit_clearance"] == sum(e.kind == "deposit" and e.cleared for e in self.model.entries)
        assert counts["audit_event"] == self.model.events
        kinds = list(db.session.scalars(select(JournalEntry.kind).order_by(JournalEntry.id)))
        assert kinds == [e.kind for e in self.model.entries]

    @invariant()
    def the_books_and_the_audit_trail_are_sound(self):
        assert check_books() == []
        assert audit.verify() == []


@pytest.fixture
def open_database(app, pg_schema, request):
    """A function giving a pushed app context on an empty database, once per hypothesis example."""

    def fresh():
        if ON_POSTGRES:
            context = app.app_context()
            context.push()
            empty_tables()
            return context
        request.getfixturevalue("sqlite_files").fresh()  # the last example's connections were disposed
        context = app.app_context()
        context.push()
        return context

    return fresh


def test_any_sequence_of_actions_keeps_the_books_sound(open_database):
    machine = type("TrustDay", (TrustBooks,), {"open_database": staticmethod(open_database)})
    run_state_machine_as_test(machine, settings=SETTINGS)
