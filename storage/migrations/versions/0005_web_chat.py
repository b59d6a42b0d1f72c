"""web chat: customers and outbox rows carry their channel; web visitors have no Telegram identity

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=8), nullable=False, server_default='telegram'))
        batch_op.add_column(sa.Column('web_visitor_id', sa.String(length=64), nullable=True))
        batch_op.alter_column('telegram_user_id', existing_type=sa.BigInteger(), nullable=True)
        batch_op.alter_column('chat_id', existing_type=sa.BigInteger(), nullable=True)
        batch_op.create_unique_constraint(batch_op.f('uq_customers_web_visitor_id'), ['web_visitor_id'])

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=8), nullable=False, server_default='telegram'))
        batch_op.alter_column('chat_id', existing_type=sa.BigInteger(), nullable=True)
        batch_op.create_index('ix_outbox_customer', ['customer_id', 'id'], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM outbox WHERE channel <> 'telegram'")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_customer')
        batch_op.alter_column('chat_id', existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_column('channel')

    op.execute("DELETE FROM customers WHERE channel <> 'telegram'")
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_customers_web_visitor_id'), type_='unique')
        batch_op.alter_column('chat_id', existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column('telegram_user_id', existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_column('web_visitor_id')
        batch_op.drop_column('channel')
