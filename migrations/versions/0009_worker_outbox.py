"""the worker: outbox states (failed, skipped, cancelled), backoff, From/Reply-To, live links; scheduled jobs;
the hour of the firm's reminders

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 05:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('queued', 'sending', 'sent')"
NEW_STATUSES = "status IN ('queued', 'sending', 'sent', 'failed', 'skipped', 'cancelled')"


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_to', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('sender', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('link_url', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_outbox_message_status'), type_='check')
        batch_op.create_check_constraint('status', NEW_STATUSES)

    op.create_table('scheduled_job',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('last_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_result', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduled_job'))
    )

    with op.batch_alter_table('firm_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminder_hour', sa.Integer(), nullable=True))
    op.execute("UPDATE firm_settings SET reminder_hour = 8")
    with op.batch_alter_table('firm_settings', schema=None) as batch_op:
        batch_op.alter_column('reminder_hour', existing_type=sa.Integer(), nullable=False)
        batch_op.create_check_constraint('reminder_hour', 'reminder_hour BETWEEN 0 AND 23')


def downgrade():
    with op.batch_alter_table('firm_settings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_firm_settings_reminder_hour'), type_='check')
        batch_op.drop_column('reminder_hour')
    op.drop_table('scheduled_job')
    op.execute("UPDATE outbox_message SET status = 'queued' WHERE status IN ('failed', 'skipped', 'cancelled')")
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_outbox_message_status'), type_='check')
        batch_op.create_check_constraint('status', OLD_STATUSES)
        batch_op.drop_column('finished_at')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('link_url')
        batch_op.drop_column('sender')
        batch_op.drop_column('reply_to')
