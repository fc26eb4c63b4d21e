"""a trust request keeps what it asked: refunds counted beside it (refunded_cents), no longer taken off it

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# Of each payment's refunds, the part that had counted toward its request (an excess it brought beyond what was
# due went back first), summed per request: what the old code took off the request's amount and amount paid.
COUNTED_REFUNDS = """
    SELECT COALESCE(SUM(CASE WHEN p.refunded_cents > p.amount_cents - COALESCE(p.applied_cents, p.amount_cents)
                             THEN p.refunded_cents - (p.amount_cents - COALESCE(p.applied_cents, p.amount_cents))
                             ELSE 0 END), 0)
    FROM payment p WHERE p.trust_request_id = trust_request.id
"""


def upgrade():
    with op.batch_alter_table('trust_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refunded_cents', sa.BigInteger(), nullable=False, server_default='0'))
    # Requests refunded before: put back what they asked and what was paid, and count the refunds beside them.
    # One refunded in full was voided with its amount paid at 0 and its amount as it last stood: everything it
    # asked was paid and given back.
    op.execute(f"UPDATE trust_request SET refunded_cents = ({COUNTED_REFUNDS})")
    op.execute(
        "UPDATE trust_request SET paid_cents = refunded_cents, amount_cents = refunded_cents "
        "WHERE refunded_cents > 0 AND status = 'void' AND void_reason = 'Refunded in full.'"
    )
    op.execute(
        "UPDATE trust_request SET paid_cents = paid_cents + refunded_cents, amount_cents = amount_cents + refunded_cents "
        "WHERE refunded_cents > 0 AND NOT (status = 'void' AND void_reason = 'Refunded in full.')"
    )
    with op.batch_alter_table('trust_request', schema=None) as batch_op:
        batch_op.alter_column('refunded_cents', server_default=None)
        batch_op.create_check_constraint('refunds_within_paid', 'refunded_cents >= 0 AND refunded_cents <= paid_cents')


def downgrade():
    with op.batch_alter_table('trust_request', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_trust_request_refunds_within_paid'), type_='check')
    # Best effort: a request refunded in full goes back to nothing paid (the amount it last asked is not known).
    op.execute("UPDATE trust_request SET paid_cents = 0 WHERE status = 'void' AND void_reason = 'Refunded in full.'")
    op.execute(
        "UPDATE trust_request SET paid_cents = paid_cents - refunded_cents, amount_cents = amount_cents - refunded_cents "
        "WHERE refunded_cents > 0 AND NOT (status = 'void' AND void_reason = 'Refunded in full.') "
        "AND amount_cents > refunded_cents"
    )
    with op.batch_alter_table('trust_request', schema=None) as batch_op:
        batch_op.drop_column('refunded_cents')
