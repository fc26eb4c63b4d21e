"""invoice pay links, invoice outbox messages, invoice and notice templates

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 22:04:17.422237

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

KINDS_BEFORE = "kind IN ('request', 'reminder')"
KINDS = "kind IN ('request', 'reminder', 'invoice', 'applied', 'scheduled')"


def upgrade():
    with op.batch_alter_table('email_template', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_email_template_kind'), type_='check')
        batch_op.create_check_constraint('kind', KINDS)

    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invoice_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_message_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_message_invoice_id_invoice'), 'invoice', ['invoice_id'], ['id'])

    with op.batch_alter_table('pay_link', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invoice_id', sa.Integer(), nullable=True))
        batch_op.alter_column('trust_request_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_pay_link_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_pay_link_invoice_id_invoice'), 'invoice', ['invoice_id'], ['id'])
        batch_op.create_check_constraint('pays_one_thing', '(trust_request_id IS NULL) != (invoice_id IS NULL)')


def downgrade():
    op.execute("DELETE FROM pay_link WHERE invoice_id IS NOT NULL")
    op.execute("DELETE FROM email_template WHERE kind IN ('invoice', 'applied', 'scheduled')")
    with op.batch_alter_table('pay_link', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_pay_link_pays_one_thing'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_pay_link_invoice_id_invoice'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_pay_link_invoice_id'))
        batch_op.alter_column('trust_request_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('invoice_id')

    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_message_invoice_id_invoice'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_message_invoice_id'))
        batch_op.drop_column('invoice_id')

    with op.batch_alter_table('email_template', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_email_template_kind'), type_='check')
        batch_op.create_check_constraint('kind', KINDS_BEFORE)
