"""The journal and the audit trail refuse UPDATE, DELETE and TRUNCATE in the database itself (invariant 5),
and a ledger's stored balance moves only with the journal lines booked to it.

Checked on the schema create_all() builds (what the tests use) and on the one the
migrations build (what a firm's server has), on SQLite and on PostgreSQL.
"""

from datetime import timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from tests.conftest import ON_POSTGRES, PG_URL, PostgresSchema, make_config
from tests.factories import gen_trust_setup, row_counts
from trustweb import create_app
from trustweb.extensions import db
from trustweb.models import BankAccount, LedgerAccount
from trustweb.models.append_only import APPEND_ONLY_TABLES
from trustweb.services import audit, trust
from trustweb.services.books import check_books
from trustweb.services.trust import Holder

TAMPERING = [
    "UPDATE journal_line SET amount_cents = amount_cents + 100",
    "UPDATE journal_line SET memo = 'tidied up'",
    "DELETE FROM journal_line",
    "UPDATE journal_entry SET description = 'Nothing to see here'",
    "DELETE FROM journal_entry",
    "UPDATE deposit_clearance SET cleared_on = cleared_on",
    "DELETE FROM deposit_clearance",
    "UPDATE audit_event SET after = '{\"amount\": 1}'",
    "DELETE FROM audit_event",
]
# PostgreSQL's TRUNCATE skips row triggers; CASCADE, or the tables that point at these would stop it first.
TRUNCATING = [f"TRUNCATE {table} CASCADE" for table in (*APPEND_ONLY_TABLES, "reconciliation")]
# A balance written by hand, not by booking an entry: the books would disagree with their journal.
BALANCE_TAMPERING = [
    "UPDATE ledger_account SET balance_cents = balance_cents + 100000 WHERE kind = 'client'",
    "UPDATE ledger_account SET balance_cents = 0",
    "UPDATE ledger_account SET balance_cents = balance_cents - 4500, last_entry_date = NULL WHERE kind = 'bank'",
    "INSERT INTO ledger_account (key, kind, bank_account_id, balance_cents, uncleared_cents) "
    "SELECT 'firm:' || id, 'firm', id, 500000, 0 FROM bank_account",
    # A line whose running balance does not follow from its ledger's balance and its amount.
    "INSERT INTO journal_line (entry_id, ledger_account_id, amount_cents, balance_after_cents) "
    "SELECT entry_id, ledger_account_id, amount_cents, balance_after_cents + 1 FROM journal_line "
    "WHERE id = (SELECT max(id) FROM journal_line)",
]


@pytest.fixture(params=["create_all", "migrations"])
def schema_app(request, tmp_path):
    """An app whose tables were made by create_all() (the `app` fixture) or by running the migrations."""
    if request.param == "create_all":
        yield request.getfixturevalue("app")
        return
    schema = PostgresSchema(PG_URL) if ON_POSTGRES else None
    if schema is not None:
        schema.create()
        app = create_app(make_config(PG_URL, schema.engine_options()))
    else:
        app = create_app(make_config(f"sqlite:///{tmp_path / 'migrated.sqlite3'}"))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if schema is not None:
        schema.drop()


def some_history(ids):
    """A cleared retainer, a payment, an uncleared cheque and a reversal: rows in every append-only table."""
    account, matter = db.session.get(BankAccount, ids.account), Holder(ids.client_a, ids.matter_a1)
    common = {"account": account, "holder": matter, "entry_date": trust.firm_today() - timedelta(days=1)}
    trust.record_deposit(amount_cents=90_000, method="wire", payer="Ada Archer", **common)
    fee = trust.record_disbursement(amount_cents=4_500, payee="Clerk", description="Filing fee", **common)
    trust.record_deposit(amount_cents=10_000, method="cheque", payer="Ada Archer", cleared=False, **common)
    trust.reverse(fee, reason="Paid by the client directly")


@pytest.mark.parametrize("statement", TAMPERING)
def test_the_database_refuses_to_change_or_remove_history(schema_app, statement):
    with schema_app.app_context():
        some_history(gen_trust_setup())
        before = row_counts()
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(text(statement))
            db.session.commit()
        db.session.rollback()
        assert row_counts() == before
        assert check_books() == []
        assert audit.verify() == []


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite has no TRUNCATE (its DELETE without WHERE fires the row triggers)")
@pytest.mark.parametrize("statement", TRUNCATING)
def test_the_database_refuses_to_truncate_history(schema_app, statement):
    with schema_app.app_context():
        some_history(gen_trust_setup())
        before = row_counts()
        with pytest.raises(DatabaseError, match="append-only|never changed"):
            db.session.execute(text(statement))
            db.session.commit()
        db.session.rollback()
        assert row_counts() == before
        assert check_books() == []


def balances():
    return dict(db.session.execute(select(LedgerAccount.key, LedgerAccount.balance_cents)).tuples().all())


@pytest.mark.parametrize("statement", BALANCE_TAMPERING)
def test_the_database_refuses_a_balance_that_does_not_follow_from_the_journal(schema_app, statement):
    with schema_app.app_context():
        some_history(gen_trust_setup())
        before = balances()
        with pytest.raises(DatabaseError, match="follows from the journal"):
            db.session.execute(text(statement))
            db.session.commit()
        db.session.rollback()
        assert balances() == before
        assert check_books() == []


def test_booking_an_entry_still_moves_the_balances_it_touches(schema_app):
    with schema_app.app_context():
        ids = gen_trust_setup()
        some_history(ids)
        account, matter = db.session.get(BankAccount, ids.account), Holder(ids.client_a, ids.matter_a1)
        before = balances()
        trust.record_disbursement(
            account=account,
            holder=matter,
            entry_date=trust.firm_today(),
            amount_cents=1_234,
            payee="Court",
            description="Fee",
        )
        db.session.expire_all()
        after = balances()
        assert after[matter.key(ids.account)] == before[matter.key(ids.account)] - 1_234
        assert after[f"bank:{ids.account}"] == before[f"bank:{ids.account}"] - 1_234
        assert check_books() == []
