"""Database triggers that refuse UPDATE, DELETE and (on PostgreSQL) TRUNCATE on the journal and the audit trail.

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


# The one change an audit event takes after it is written: sealed into the chain once (services/audit.py), its seq,
# prev_hash and hash set where they were NULL and nothing else touched.
AUDIT_COLUMNS = (
    "id",
    "at",
    "user_id",
    "actor",
    "ip",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "digest",
)
_SQLITE_SEAL = " AND ".join(
    ["OLD.seq IS NULL", "NEW.seq IS NOT NULL", "NEW.prev_hash IS NOT NULL", "NEW.hash IS NOT NULL"]
    + [f'NEW."{column}" IS OLD."{column}"' for column in AUDIT_COLUMNS]
)
_PG_COLUMNS = ", ".join(f'%s."{column}"' for column in AUDIT_COLUMNS)
PG_AUDIT_FUNCTION = f"""
CREATE OR REPLACE FUNCTION trustweb_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL
       AND NEW.hash IS NOT NULL AND ({_PG_COLUMNS % (("NEW",) * len(AUDIT_COLUMNS))})
       IS NOT DISTINCT FROM ({_PG_COLUMNS % (("OLD",) * len(AUDIT_COLUMNS))}) THEN
        RETURN NEW;  -- sealed into the chain
    END IF;
    RAISE EXCEPTION '% is append-only: correct a mistake with a reversing entry', TG_TABLE_NAME;
END
$$
"""


def sqlite_triggers(table):
    message = f"{table} is append-only: correct a mistake with a reversing entry"
    when = f" WHEN NOT ({_SQLITE_SEAL})" if table == "audit_event" else ""
    return [
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}{when} BEGIN SELECT RAISE(ABORT, '{message}'); END",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} BEGIN SELECT RAISE(ABORT, '{message}'); END",
    ]


def postgresql_triggers(table):
    function = "trustweb_audit_append_only" if table == "audit_event" else "trustweb_append_only"
    return [
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {function}()"
    ]


def postgresql_truncate_trigger(table):
    # TRUNCATE fires no row trigger; SQLite has no TRUNCATE (a DELETE without WHERE fires the row triggers).
    return (
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION trustweb_append_only()"
    )


def _create_triggers(table, connection, **kw):
    if connection.dialect.name == "sqlite":
        statements = sqlite_triggers(table.name)
    elif connection.dialect.name == "postgresql":
        functions = [PG_FUNCTION, PG_AUDIT_FUNCTION] if table.name == "audit_event" else [PG_FUNCTION]
        statements = [*functions, *postgresql_triggers(table.name), postgresql_truncate_trigger(table.name)]
    else:
        raise RuntimeError(f"no append-only triggers for {connection.dialect.name}")
    for statement in statements:
        # Through text(), not exec_driver_sql: psycopg would read the '%' in RAISE as a placeholder.
        connection.execute(text(statement))


def register():
    """Create the triggers whenever create_all() creates these tables (the tests do)."""
    for name in APPEND_ONLY_TABLES:
        event.listen(db.metadata.tables[name], "after_create", _create_triggers)


# Invariant 9: once a trust account's period is reconciled and signed, nothing is dated on or before its end,
# and the signed reconciliation itself never changes. The same SQL is in migration 0008 (and, for TRUNCATE, 0011).


SQLITE_LOCK_TRIGGERS = [
    "CREATE TRIGGER journal_entry_period_locked BEFORE INSERT ON journal_entry "
    "WHEN EXISTS (SELECT 1 FROM reconciliation r WHERE r.bank_account_id = NEW.bank_account_id "
    "AND r.period_end >= NEW.entry_date) BEGIN SELECT RAISE(ABORT, "
    "'that date is in a reconciled and signed-off period; date the entry after it'); END",
    "CREATE TRIGGER reconciliation_no_update BEFORE UPDATE ON reconciliation BEGIN SELECT RAISE(ABORT, "
    "'a signed reconciliation is never changed'); END",
    "CREATE TRIGGER reconciliation_no_delete BEFORE DELETE ON reconciliation BEGIN SELECT RAISE(ABORT, "
    "'a signed reconciliation is never changed'); END",
]
PG_LOCK_STATEMENTS = [
    """
CREATE OR REPLACE FUNCTION trustweb_period_locked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM reconciliation r
               WHERE r.bank_account_id = NEW.bank_account_id AND r.period_end >= NEW.entry_date) THEN
        RAISE EXCEPTION 'that date is in a reconciled and signed-off period; date the entry after it';
    END IF;
    RETURN NEW;
END
$$
""",
    """
CREATE OR REPLACE FUNCTION trustweb_signed_reconciliation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a signed reconciliation is never changed';
END
$$
""",
    "CREATE TRIGGER journal_entry_period_locked BEFORE INSERT ON journal_entry "
    "FOR EACH ROW EXECUTE FUNCTION trustweb_period_locked()",
    "CREATE TRIGGER reconciliation_signed BEFORE UPDATE OR DELETE ON reconciliation "
    "FOR EACH ROW EXECUTE FUNCTION trustweb_signed_reconciliation()",
    "CREATE TRIGGER reconciliation_no_truncate BEFORE TRUNCATE ON reconciliation "
    "FOR EACH STATEMENT EXECUTE FUNCTION trustweb_signed_reconciliation()",
]


def lock_statements(dialect):
    if dialect == "sqlite":
        return SQLITE_LOCK_TRIGGERS
    if dialect == "postgresql":
        return PG_LOCK_STATEMENTS
    raise RuntimeError(f"no period-lock triggers for {dialect}")


def _create_lock_triggers(metadata, connection, **kw):
    # create_all() names the tables it made this time (none when they were there already).
    created = {table.name for table in (kw["tables"] if "tables" in kw else metadata.tables.values())}
    if not {"journal_entry", "reconciliation"} <= created:
        return
    for statement in lock_statements(connection.dialect.name):
        connection.execute(text(statement))


def register_locks():
    """After create_all() made every table (the trigger on journal_entry reads reconciliation)."""
    event.listen(db.metadata, "after_create", _create_lock_triggers)
