"""the audit trail takes no lock a writer waits on: events carry a digest and are sealed into the chain at commit,
or by the worker when another transaction is sealing

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# Copied from trustweb/models/append_only.py as it was when this migration was written (create_all() makes the same
# triggers for the tests). An event may be changed once: sealed, its seq, prev_hash and hash set where NULL.
SQLITE_TRIGGERS = ['CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event WHEN NOT (OLD.seq IS NULL AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL AND NEW."id" IS OLD."id" AND NEW."at" IS OLD."at" AND NEW."user_id" IS OLD."user_id" AND NEW."actor" IS OLD."actor" AND NEW."ip" IS OLD."ip" AND NEW."action" IS OLD."action" AND NEW."object_type" IS OLD."object_type" AND NEW."object_id" IS OLD."object_id" AND NEW."before" IS OLD."before" AND NEW."after" IS OLD."after" AND NEW."digest" IS OLD."digest") BEGIN SELECT RAISE(ABORT, \'audit_event is append-only: correct a mistake with a reversing entry\'); END', "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: correct a mistake with a reversing entry'); END"]
PG_STATEMENTS = ['\nCREATE OR REPLACE FUNCTION trustweb_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    IF TG_OP = \'UPDATE\' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL\n       AND NEW.hash IS NOT NULL AND (NEW."id", NEW."at", NEW."user_id", NEW."actor", NEW."ip", NEW."action", NEW."object_type", NEW."object_id", NEW."before", NEW."after", NEW."digest")\n       IS NOT DISTINCT FROM (OLD."id", OLD."at", OLD."user_id", OLD."actor", OLD."ip", OLD."action", OLD."object_type", OLD."object_id", OLD."before", OLD."after", OLD."digest") THEN\n        RETURN NEW;  -- sealed into the chain\n    END IF;\n    RAISE EXCEPTION \'% is append-only: correct a mistake with a reversing entry\', TG_TABLE_NAME;\nEND\n$$\n', 'CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event FOR EACH ROW EXECUTE FUNCTION trustweb_audit_append_only()']
OLD_SQLITE_UPDATE = "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: correct a mistake with a reversing entry'); END"
GENESIS_HASH = "0" * 64

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:  # the table is copied anew below, which would lose its triggers
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest', sa.String(length=64), nullable=True))
        batch_op.alter_column('seq', existing_type=sa.BigInteger(), nullable=True)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=True)
    if sqlite:
        statements = SQLITE_TRIGGERS
    else:
        statements = [*PG_STATEMENTS[:1], "DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event",
                      *PG_STATEMENTS[1:]]
    for statement in statements:
        op.execute(sa.text(statement))
    # The head exists from the start, so a writer never has to make it.
    op.execute(sa.text("INSERT INTO audit_chain_head (id, last_seq, last_hash) SELECT 1, 0, :genesis "
                       "WHERE NOT EXISTS (SELECT 1 FROM audit_chain_head)").bindparams(genesis=GENESIS_HASH))


def downgrade():
    # Only an empty or fully sealed trail goes back: the old chain had no unsealed events.
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('seq', existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_column('digest')
    if sqlite:
        op.execute(sa.text(OLD_SQLITE_UPDATE))
        op.execute(sa.text(SQLITE_TRIGGERS[1]))
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
                   "FOR EACH ROW EXECUTE FUNCTION trustweb_append_only()")
        op.execute("DROP FUNCTION IF EXISTS trustweb_audit_append_only()")
