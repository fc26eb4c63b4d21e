"""request form: the firm's default due date for new requests, and an index for the client search

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('firm_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_due_days', sa.Integer(), server_default='14', nullable=False))
        batch_op.create_check_constraint('request_due_days', 'request_due_days BETWEEN 0 AND 365')
    with op.batch_alter_table('firm_settings', schema=None) as batch_op:
        batch_op.alter_column('request_due_days', server_default=None)
    # Names that start with what is typed, in any case; text_pattern_ops lets PostgreSQL answer LIKE 'x%' from it
    # whatever the database's collation.
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE INDEX ix_contact_name_lower ON contact (lower(name) text_pattern_ops)')
    else:
        op.execute('CREATE INDEX ix_contact_name_lower ON contact (lower(name))')


def downgrade():
    op.drop_index('ix_contact_name_lower', table_name='contact')
    with op.batch_alter_table('firm_settings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_firm_settings_request_due_days'), type_='check')
        batch_op.drop_column('request_due_days')
