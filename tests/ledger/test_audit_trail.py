"""The audit trail and the books, as an auditor checks them (invariant 10).

Events are written in the transaction of the change they describe. The commands
`flask --app wsgi trustweb audit-verify` and `check-books` pass on sound books and
name what a DBA changed behind the application's back: to do that here, the test
first switches off the trigger that keeps the table append-only, as a DBA would.
"""

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from tests.conftest import ON_POSTGRES
from tests.factories import gen_trust_setup, row_counts, trust_ledger
from trustweb.extensions import db
from trustweb.ledger.rules import InsufficientFunds
from trustweb.models import AuditChainHead, AuditEvent, BankAccount, JournalEntry, JournalLine
from trustweb.models.append_only import postgresql_triggers
from trustweb.services import audit, trust
from trustweb.services.trust import Holder


@pytest.fixture
def books(app):
    """A trust account with a little history: a retainer, a fee paid, a transfer, a mistake reversed."""
    with app.app_context():
        ids = gen_trust_setup()
        account = db.session.get(BankAccount, ids.account)
        a1, b1 = Holder(ids.client_a, ids.matter_a1), Holder(ids.client_b, ids.matter_b1)
        yesterday = trust.firm_today() - timedelta(days=1)
        trust.record_deposit(
            account=account, holder=a1, amount_cents=250_000, entry_date=yesterday, method="wire", payer="Ada Archer"
        )
        fee = {"account": account, "holder": a1, "entry_date": yesterday, "payee": "Clerk", "description": "Fee"}
        trust.record_disbursement(amount_cents=3_500, cheque_number="501", **fee)
        mistake = trust.record_disbursement(amount_cents=35_000, cheque_number="502", **fee)
        trust.transfer(
            account=account, source=a1, destination=b1, amount_cents=10_000, entry_date=yesterday, reason="Agreed"
        )
        trust.reverse(mistake, reason="Wrong amount; cheque voided")
        return ids


@pytest.fixture
def unguard(app):
    """Switch off (or drop) a table's append-only trigger, or the guard on ledger balances, as a DBA would; put
    back afterwards on PostgreSQL."""
    disabled, dropped = [], []

    def switch_off(table, operation, drop=False):
        if table == "ledger_account":  # the balance guard, the same name on both databases
            trigger = "ledger_account_balance_guard"
        else:
            trigger = f"{table}_append_only" if ON_POSTGRES else f"{table}_no_{operation}"
        if not ON_POSTGRES:  # the SQLite file is thrown away after the test
            db.session.execute(text(f"DROP TRIGGER {trigger}"))
        elif drop:
            db.session.execute(text(f"DROP TRIGGER {trigger} ON {table}"))
            dropped.append(table)
        else:
            db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
            disabled.append((table, trigger))
        db.session.commit()

    yield switch_off
    with app.app_context():  # the PostgreSQL schema is shared by the whole run
        for table, trigger in disabled:
            db.session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}"))
        for table in dropped:
            for statement in postgresql_triggers(table):
                db.session.execute(text(statement))
        db.session.commit()


def events():
    return db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()


def audit_verify(runner):
    return runner.invoke(args=["trustweb", "audit-verify"])


def check_books(runner):
    return runner.invoke(args=["trustweb", "check-books"])


def test_a_refused_payment_writes_no_event_and_a_paid_one_writes_one(app, books):
    with app.app_context():
        account, a1 = db.session.get(BankAccount, books.account), Holder(books.client_a, books.matter_a1)
        before, head = row_counts(), db.session.get(AuditChainHead, 1).last_seq
        today = trust.firm_today()
        pay = {"account": account, "holder": a1, "entry_date": today, "payee": "Court", "description": "Appeal bond"}
        with pytest.raises(InsufficientFunds):
            trust.record_disbursement(amount_cents=236_501, **pay)
        db.session.rollback()
        assert row_counts() == before
        assert db.session.get(AuditChainHead, 1).last_seq == head

        paid = trust.record_disbursement(amount_cents=36_500, cheque_number="503", **pay)
        new = db.session.scalars(select(AuditEvent).where(AuditEvent.seq > head)).all()
        assert [(e.action, e.object_type, e.object_id) for e in new] == [
            ("trust.disbursement", "JournalEntry", str(paid.id))
        ]
        assert new[0].before is None  # a new entry: there was nothing before it
        after = json.loads(new[0].after)
        assert after["kind"] == "disbursement" and after["cheque_number"] == "503"
        assert sorted(after["lines"]) == sorted([[a1.key(books.account), 36_500], [f"bank:{books.account}", -36_500]])
        assert audit.verify() == []


def test_an_entry_and_its_event_commit_together_or_not_at_all(app, books, monkeypatch):
    real_record = audit.record

    def record_then_fail(*args, **kwargs):
        real_record(*args, **kwargs)
        raise RuntimeError("the server died between writing the event and committing")

    monkeypatch.setattr(audit, "record", record_then_fail)
    with app.app_context():
        before = row_counts()
        with pytest.raises(RuntimeError):
            trust.record_deposit(
                account=db.session.get(BankAccount, books.account),
                holder=Holder(books.client_b, books.matter_b1),
                amount_cents=1_000,
                entry_date=trust.firm_today(),
                method="cash",
                payer="Ben Baker",
            )
        db.session.rollback()
        assert row_counts() == before
        assert audit.verify() == []


def test_audit_verify_passes_an_intact_chain(app, books, runner):
    with app.app_context():
        count = len(events())
    result = audit_verify(runner)
    assert result.exit_code == 0, result.output
    assert f"The audit trail is intact: {count} events" in result.output


def test_audit_verify_names_an_altered_event(app, books, runner, unguard):
    with app.app_context():
        unguard("audit_event", "update")
        payment = next(e for e in events() if e.action == "trust.disbursement")
        doctored = json.loads(payment.after) | {"counterparty": "Someone Else"}
        db.session.execute(
            text("UPDATE audit_event SET after = :after WHERE seq = :seq"),
            {"after": json.dumps(doctored), "seq": payment.seq},
        )
        db.session.commit()
        seq = payment.seq
    result = audit_verify(runner)
    assert result.exit_code != 0
    assert f"event #{seq} was altered (trust.disbursement" in result.output


def test_audit_verify_names_an_event_removed_from_the_middle(app, books, runner, unguard):
    with app.app_context():
        unguard("audit_event", "delete")
        all_events = events()
        middle = all_events[len(all_events) // 2].seq
        db.session.execute(text("DELETE FROM audit_event WHERE seq = :seq"), {"seq": middle})
        db.session.commit()
    result = audit_verify(runner)
    assert result.exit_code != 0
    assert f"event #{middle} is missing" in result.output


def test_audit_verify_names_the_last_event_removed(app, books, runner, unguard):
    with app.app_context():
        unguard("audit_event", "delete")
        last = events()[-1].seq
        db.session.execute(text("DELETE FROM audit_event WHERE seq = :seq"), {"seq": last})
        db.session.commit()
    result = audit_verify(runner)
    assert result.exit_code != 0
    assert f"event #{last} is missing (the chain should end at #{last})" in result.output


def test_check_books_passes_sound_books(books, runner):
    result = check_books(runner)
    assert result.exit_code == 0, result.output
    assert "The books are sound" in result.output


def test_check_books_names_a_ledger_whose_balance_was_changed(app, books, runner, unguard):
    with app.app_context():
        ledger = trust_ledger(books.account, Holder(books.client_a, books.matter_a1))
        name = ledger.name
        unguard("ledger_account", "update")
        db.session.execute(
            text("UPDATE ledger_account SET balance_cents = balance_cents + 100000 WHERE id = :id"), {"id": ledger.id}
        )
        db.session.commit()
    result = check_books(runner)
    assert result.exit_code != 0
    assert f"{name}: stored balance $3,365.00 but its lines add up to $2,365.00" in result.output


def test_check_books_names_the_ledger_and_entry_of_a_changed_line(app, books, runner, unguard):
    with app.app_context():
        ledger = trust_ledger(books.account, Holder(books.client_b, books.matter_b1))
        line = db.session.scalar(select(JournalLine).where(JournalLine.ledger_account_id == ledger.id))
        name, entry = ledger.name, db.session.get(JournalEntry, line.entry_id).number
        unguard("journal_line", "update")
        db.session.execute(text("UPDATE journal_line SET amount_cents = -1000 WHERE id = :id"), {"id": line.id})
        db.session.commit()
    result = check_books(runner)
    assert result.exit_code != 0
    assert f"{name}: stored balance $100.00 but its lines add up to $10.00" in result.output
    assert f"entry {entry} does not balance" in result.output


@pytest.mark.parametrize("drop", [True, False], ids=["dropped", "disabled"])
def test_check_books_notices_a_missing_append_only_trigger(app, books, runner, unguard, drop):
    with app.app_context():
        unguard("journal_entry", "delete", drop=drop)
    result = check_books(runner)
    assert result.exit_code != 0
    trigger = "journal_entry_append_only" if ON_POSTGRES else "journal_entry_no_delete"
    assert f"the database trigger {trigger} that keeps the journal append-only is missing or disabled" in result.output
    assert result.output.count("trigger") == 1  # the other tables' triggers are in place


def test_check_books_notices_that_the_guard_on_balances_is_off(app, books, runner, unguard):
    with app.app_context():
        unguard("ledger_account", "update")
    result = check_books(runner)
    assert result.exit_code != 0
    expected = "the database trigger ledger_account_balance_guard that keeps ledger balances in step with the journal"
    assert f"{expected} is missing or disabled" in result.output
    assert result.output.count("trigger") == 1
