"""audit_event: indexes for the audit trail page's filters (user, action, object, date), each newest first

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 15:10:00

The user and action indexes gain the id, so a filtered page is read newest first from the index; the object and
the moment get theirs.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_user_id')
        batch_op.drop_index('ix_audit_event_action')
        batch_op.create_index('ix_audit_event_user_id', ['user_id', 'id'], unique=False)
        batch_op.create_index('ix_audit_event_action', ['action', 'id'], unique=False)
        batch_op.create_index('ix_audit_event_object', ['object_type', 'object_id', 'id'], unique=False)
        batch_op.create_index('ix_audit_event_at', ['at'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_at')
        batch_op.drop_index('ix_audit_event_object')
        batch_op.drop_index('ix_audit_event_action')
        batch_op.drop_index('ix_audit_event_user_id')
        batch_op.create_index('ix_audit_event_action', ['action'], unique=False)
        batch_op.create_index('ix_audit_event_user_id', ['user_id'], unique=False)
