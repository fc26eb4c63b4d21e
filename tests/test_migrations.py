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
