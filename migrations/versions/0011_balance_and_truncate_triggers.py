"""refuse TRUNCATE of the journal, the audit trail and reconciliations; ledger balances move only with journal lines

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# Copied from trustweb/models/append_only.py and trustweb/models/balances.py as they were when this migration
# was written (create_all() makes the same triggers for the tests).
APPEND_ONLY_TABLES = ('journal_entry', 'journal_line', 'deposit_clearance', 'audit_event')
SQLITE_BALANCE_TRIGGERS = ["CREATE TRIGGER journal_line_moves_balance AFTER INSERT ON journal_line BEGIN SELECT RAISE(ABORT, 'a journal line''s running balance must be its ledger''s balance plus the line: the balance follows from the journal') FROM ledger_account ledger WHERE ledger.id = NEW.ledger_account_id AND ledger.balance_cents + CASE WHEN ledger.kind IN ('client', 'firm', 'income', 'shortfall') THEN -NEW.amount_cents ELSE NEW.amount_cents END IS NOT NEW.balance_after_cents; UPDATE ledger_account SET balance_cents = NEW.balance_after_cents WHERE id = NEW.ledger_account_id; END", "CREATE TRIGGER ledger_account_balance_guard BEFORE UPDATE OF balance_cents ON ledger_account WHEN NEW.balance_cents IS NOT OLD.balance_cents AND NEW.balance_cents IS NOT (SELECT balance_after_cents FROM journal_line WHERE ledger_account_id = NEW.id ORDER BY id DESC LIMIT 1) BEGIN SELECT RAISE(ABORT, 'a ledger''s balance follows from the journal: book an entry to change it'); END", "CREATE TRIGGER ledger_account_opens_at_zero BEFORE INSERT ON ledger_account WHEN NEW.balance_cents != 0 BEGIN SELECT RAISE(ABORT, 'a ledger''s balance follows from the journal: book an entry to change it'); END"]
PG_BALANCE_STATEMENTS = ["\nCREATE OR REPLACE FUNCTION trustweb_line_moves_balance() RETURNS trigger LANGUAGE plpgsql AS $$\nDECLARE\n    balance bigint;\nBEGIN\n    UPDATE ledger_account ledger SET balance_cents = balance_cents + CASE WHEN ledger.kind IN ('client', 'firm', 'income', 'shortfall') THEN -NEW.amount_cents ELSE NEW.amount_cents END\n     WHERE ledger.id = NEW.ledger_account_id\n    RETURNING balance_cents INTO balance;\n    IF balance IS DISTINCT FROM NEW.balance_after_cents THEN\n        RAISE EXCEPTION 'a journal line''s running balance must be its ledger''s balance plus the line: the balance follows from the journal';\n    END IF;\n    RETURN NULL;\nEND\n$$\n", "\nCREATE OR REPLACE FUNCTION trustweb_balance_guard() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    -- Depth 1 is this trigger: the statement came from outside; deeper, from journal_line_moves_balance.\n    IF pg_trigger_depth() > 1 THEN\n        RETURN NEW;\n    END IF;\n    IF TG_OP = 'INSERT' THEN\n        IF NEW.balance_cents = 0 THEN\n            RETURN NEW;\n        END IF;\n    ELSIF NEW.balance_cents = OLD.balance_cents THEN\n        RETURN NEW;\n    END IF;\n    RAISE EXCEPTION 'a ledger''s balance follows from the journal: book an entry to change it';\nEND\n$$\n", 'CREATE TRIGGER journal_line_moves_balance AFTER INSERT ON journal_line FOR EACH ROW EXECUTE FUNCTION trustweb_line_moves_balance()', 'CREATE TRIGGER ledger_account_balance_guard BEFORE INSERT OR UPDATE OF balance_cents ON ledger_account FOR EACH ROW EXECUTE FUNCTION trustweb_balance_guard()']


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    # Every ledger's stored balance already equals its lines' sum and its newest line's running balance
    # (`flask trustweb check-books` says so); from now on the database keeps it that way.
    if op.get_bind().dialect.name == "postgresql":
        # TRUNCATE fires no row trigger: a statement trigger refuses it. (SQLite has no TRUNCATE.)
        for table in APPEND_ONLY_TABLES:
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION trustweb_append_only()")
        op.execute("CREATE TRIGGER reconciliation_no_truncate BEFORE TRUNCATE ON reconciliation "
                   "FOR EACH STATEMENT EXECUTE FUNCTION trustweb_signed_reconciliation()")
        statements = PG_BALANCE_STATEMENTS
    else:
        statements = SQLITE_BALANCE_TRIGGERS
    for statement in statements:
        op.execute(sa.text(statement))


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP TRIGGER IF EXISTS reconciliation_no_truncate ON reconciliation")
        op.execute("DROP TRIGGER IF EXISTS journal_line_moves_balance ON journal_line")
        op.execute("DROP TRIGGER IF EXISTS ledger_account_balance_guard ON ledger_account")
        op.execute("DROP FUNCTION IF EXISTS trustweb_line_moves_balance()")
        op.execute("DROP FUNCTION IF EXISTS trustweb_balance_guard()")
    else:
        op.execute("DROP TRIGGER IF EXISTS journal_line_moves_balance")
        op.execute("DROP TRIGGER IF EXISTS ledger_account_balance_guard")
        op.execute("DROP TRIGGER IF EXISTS ledger_account_opens_at_zero")
