"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from tests.conftest import ON_POSTGRES, PG_URL, PostgresSchema, make_config
from trustweb import create_app
from trustweb.extensions import db


@pytest.fixture
def empty_database(tmp_path):
    """A database with no tables at all: a fresh schema on PostgreSQL, a new file on SQLite."""
    if ON_POSTGRES:
        schema = PostgresSchema(PG_URL)
        schema.create()
        yield PG_URL, schema.engine_options()
        schema.drop()
    else:
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}", None


def test_migrations_match_the_models(empty_database):
    app = create_app(make_config(*empty_database))
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            differences = compare_metadata(context, db.metadata)
        assert differences == []
        db.engine.dispose()


def test_migrations_downgrade_to_nothing_and_up_again(empty_database):
    app = create_app(make_config(*empty_database))
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert {"user", "contact", "matter", "bank_account"} <= set(inspect(db.engine).get_table_names())
        db.engine.dispose()


def test_migrations_create_the_same_checks_and_partial_indexes(empty_database):
    """Autogenerate does not compare CHECK constraints or index conditions; the rules live there."""
    from sqlalchemy import CheckConstraint

    app = create_app(make_config(*empty_database))
    with app.app_context():
        upgrade()
        inspector = inspect(db.engine)
        for table in db.metadata.sorted_tables:
            declared = {c.name for c in table.constraints if isinstance(c, CheckConstraint)}
            migrated = {c["name"] for c in inspector.get_check_constraints(table.name)}
            assert migrated == declared, table.name
        indexes = {i["name"]: i for i in inspector.get_indexes("bank_account")}
        default_index = indexes["uq_bank_account_default_kind"]
        assert default_index["unique"] and default_index["column_names"] == ["kind"]
        where = default_index.get("dialect_options", {})
        assert "is_default" in str(where.get("postgresql_where") or where.get("sqlite_where"))
        db.engine.dispose()


def test_refunds_made_before_0010_are_counted_beside_what_the_request_asked(empty_database):
    """Before 0010 a refund was taken off the request's amount and amount paid; the migration puts them back and
    counts the refund beside them (and its downgrade takes them off again)."""
    from sqlalchemy import text

    from tests.requests.steps import gen_firm, gen_request
    from trustweb.models import TrustRequest, User
    from trustweb.services.payments import record_manual_payment
    from trustweb.services.refunds import refund_payment
    from trustweb.services.trust import firm_today

    app = create_app(make_config(*empty_database))
    with app.app_context():
        upgrade()
        setup = gen_firm()
        lawyer = db.session.get(User, setup.lawyer)
        for n, (asked, refunded) in enumerate(((75_000, 10_000), (50_000, 50_000))):
            trust_request = db.session.get(TrustRequest, gen_request(setup, amount_cents=asked))
            payment = record_manual_payment(
                trust_request,
                amount_cents=asked,
                method="wire",
                received_on=firm_today(),
                reference=None,
                payer="Ada Archer",
                idempotency_key=f"wire-{n:020d}",
                user=lawyer,
            )
            refund_payment(
                payment, refunded, online=False, reason="Overpaid", user=lawyer, idempotency_key=f"r{n:023d}"
            )
        db.session.remove()

        def requests(query):
            with db.engine.connect() as conn:
                return conn.execute(text(query)).all()

        downgrade(revision="0009")
        before = requests("SELECT amount_cents, paid_cents, status FROM trust_request ORDER BY id")
        assert before == [(65_000, 65_000, "paid"), (50_000, 0, "void")]
        upgrade()
        after = requests("SELECT amount_cents, paid_cents, refunded_cents, status FROM trust_request ORDER BY id")
        assert after == [
            (75_000, 75_000, 10_000, "paid"),
            (50_000, 50_000, 50_000, "void"),
        ]
        db.engine.dispose()


def test_emails_waiting_from_before_the_worker_become_due_with_their_link(empty_database):
    """Before 0009 a failed send stayed 'queued' with its error and no next try: the worker takes it up now, and
    knows its pay link, so one for a request paid meanwhile is skipped rather than sent."""
    from sqlalchemy import text

    app = create_app(make_config(*empty_database))
    with app.app_context():
        upgrade(revision="0008")
        body = "Please pay: https://trust.firm.example/pay/AbCdEfGhIjKlMnOpQrStUvWxYz012345\\n"
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO outbox_message (kind, recipients, subject, text_body, status, attempts, last_error,"
                    " created_at) VALUES ('request', 'ada@example.com', 'Retainer', :body, 'queued', 1,"
                    " 'ConnectionRefusedError: [Errno 111] Connection refused', :now)"
                ),
                {"body": body, "now": "2026-01-01 00:00:00"},
            )
        upgrade()
        with db.engine.connect() as conn:
            link, due = conn.execute(text("SELECT link_url, next_attempt_at FROM outbox_message")).one()
        assert link == "https://trust.firm.example/pay/AbCdEfGhIjKlMnOpQrStUvWxYz012345"
        assert due is not None
        db.engine.dispose()


def test_0019_gives_the_contacts_already_there_their_search_key(empty_database, monkeypatch):
    """Names written before 0019 (more than one batch of them) get name_key, Unicode case folded, so the client
    search finds "Émile Ørsted" by "émile"; downgrading takes the column away again."""
    import importlib
    from datetime import UTC, datetime

    from sqlalchemy import text

    from trustweb.services.clients import find_clients

    migration = importlib.import_module("migrations.versions.0019_contact_name_key")
    monkeypatch.setattr(migration, "BATCH", 2)
    app = create_app(make_config(*empty_database))
    with app.app_context():
        upgrade(revision="0018")
        names = ["Émile Ørsted", "ÅSA LINDQVIST", "Ben Hart", "Straße AG", "Zoë Ng"]
        with db.engine.begin() as conn:
            for name in names:
                conn.execute(
                    text("INSERT INTO contact (kind, name, created_at, updated_at) VALUES ('person', :name, :at, :at)"),
                    {"name": name, "at": datetime.now(UTC)},
                )
        upgrade()
        with db.engine.connect() as conn:
            keys = conn.execute(text("SELECT name_key FROM contact ORDER BY id")).scalars().all()
        assert keys == ["émile ørsted", "åsa lindqvist", "ben hart", "strasse ag", "zoë ng"]
        assert [c.name for c in find_clients("ÉMILE")] == ["Émile Ørsted"]
        assert [c.name for c in find_clients("lind")] == ["ÅSA LINDQVIST"]
        db.session.remove()
        downgrade(revision="0018")
        assert "name_key" not in {c["name"] for c in inspect(db.engine).get_columns("contact")}
        db.engine.dispose()
