"""Database triggers that refuse UPDATE and DELETE on the journal and the audit trail.

The same SQL is in the migration that first created them; tests check both.
"""

from sqlalchemy import event, text

from trustweb.extensions import db

APPEND_ONLY_TABLES = ("journal_entry", "journal_line", "deposit_clearance", "audit_event")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION trustweb_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: correct a mistake with a reversing entry', TG_TABLE_NAME;
END
$$
"""


def sqlite_triggers(table):
    message = f"{table} is append-only: correct a mistake with a reversing entry"
    return [
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} BEGIN SELECT RAISE(ABORT, '{message}'); END",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} BEGIN SELECT RAISE(ABORT, '{message}'); END",
    ]


def postgresql_triggers(table):
    return [
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION trustweb_append_only()"
    ]


def _create_triggers(table, connection, **kw):
    if connection.dialect.name == "sqlite":
        statements = sqlite_triggers(table.name)
    elif connection.dialect.name == "postgresql":
        statements = [PG_FUNCTION, *postgresql_triggers(table.name)]
    else:
        raise RuntimeError(f"no append-only triggers for {connection.dialect.name}")
    for statement in statements:
        # Through text(), not exec_driver_sql: psycopg would read the '%' in RAISE as a placeholder.
        connection.execute(text(statement))


def register():
    """Create the triggers whenever create_all() creates these tables (the tests do)."""
    for name in APPEND_ONLY_TABLES:
        event.listen(db.metadata.tables[name], "after_create", _create_triggers)
