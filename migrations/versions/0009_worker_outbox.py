"""the worker: outbox states (failed, skipped, cancelled), backoff, From/Reply-To, live links; scheduled jobs;
the hour of the firm's reminders

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 05:00:00

"""
import re
from datetime import datetime, timezone

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

    backfill_waiting_emails()

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


# The live link a waiting email carries (a pay link, a notice's dispute link), as the worker now keeps it.
LINK = re.compile(r"https?://[^\s\"<>]+/(?:pay|notice)/[A-Za-z0-9_-]{16,}")


def backfill_waiting_emails():
    """Emails queued before the worker (some with a failed try) become due now, with their link, so the worker
    checks them like any other: one for a request paid meanwhile is skipped, not sent."""
    outbox = sa.table(
        'outbox_message',
        sa.column('id', sa.Integer),
        sa.column('status', sa.String),
        sa.column('text_body', sa.Text),
        sa.column('link_url', sa.String),
        sa.column('next_attempt_at', sa.DateTime(timezone=True)),
    )
    bind = op.get_bind()
    now = datetime.now(timezone.utc)
    waiting = bind.execute(sa.select(outbox.c.id, outbox.c.text_body).where(outbox.c.status.in_(['queued', 'sending'])))
    for message_id, body in waiting.all():
        link = LINK.search(body or '')
        bind.execute(
            outbox.update()
            .where(outbox.c.id == message_id)
            .values(next_attempt_at=now, link_url=link.group(0) if link else None)
        )


def downgrade():
    with op.batch_alter_table('firm_settings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_firm_settings_reminder_hour'), type_='check')
        batch_op.drop_column('reminder_hour')
    op.drop_table('scheduled_job')
    # The old send-mail sends whatever is queued: emails given up, skipped or cancelled must not go then.
    op.execute("UPDATE outbox_message SET status = 'sent' WHERE status IN ('failed', 'skipped', 'cancelled')")
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_outbox_message_status'), type_='check')
        batch_op.create_check_constraint('status', OLD_STATUSES)
        batch_op.drop_column('finished_at')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('link_url')
        batch_op.drop_column('sender')
        batch_op.drop_column('reply_to')
