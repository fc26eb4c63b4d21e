"""contact: name_key, the name case folded in Python, for the client search (SQLite's lower() folds only A to Z)

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 16:00:00.000000

"""
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

BATCH = 1000


def name_key(text):
    """As trustweb.models.contacts.name_key was when this migration was written (a migration never imports the app)."""
    return unicodedata.normalize('NFKC', unicodedata.normalize('NFKC', text or '').casefold())[:200]  # the column's size


def upgrade():
    op.drop_index('ix_contact_name_lower', table_name='contact')  # first: SQLite's batch copy below would lose it
    op.add_column('contact', sa.Column('name_key', sa.String(length=200), server_default='', nullable=False))
    # The existing names' keys, computed here in batches by id (the database cannot fold Unicode case on SQLite).
    bind = op.get_bind()
    contact = sa.table('contact', sa.column('id', sa.Integer), sa.column('name', sa.String), sa.column('name_key', sa.String))
    after = 0
    while True:
        rows = bind.execute(
            sa.select(contact.c.id, contact.c.name).where(contact.c.id > after).order_by(contact.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        bind.execute(
            contact.update().where(contact.c.id == sa.bindparam('row_id')).values(name_key=sa.bindparam('key')),
            [{'row_id': row.id, 'key': name_key(row.name)} for row in rows],
        )
        after = rows[-1].id
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.alter_column('name_key', server_default=None)
    if bind.dialect.name == 'postgresql':
        op.execute('CREATE INDEX ix_contact_name_key ON contact (name_key text_pattern_ops)')
    else:
        op.create_index('ix_contact_name_key', 'contact', ['name_key'])


def downgrade():
    op.drop_index('ix_contact_name_key', table_name='contact')
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_column('name_key')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE INDEX ix_contact_name_lower ON contact (lower(name) text_pattern_ops)')
    else:
        op.execute('CREATE INDEX ix_contact_name_lower ON contact (lower(name))')
