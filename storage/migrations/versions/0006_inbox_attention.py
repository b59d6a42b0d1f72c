"""the inbox's attention: an agent's Available / Away switch, and what staff have seen of each conversation

Revision ID: 0006
Revises: 0005
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('available', sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staff_seen_message_id', sa.BigInteger(), nullable=True))
    # What exists today counts as seen: nobody starts the day with every old message unread.
    op.execute("UPDATE conversations SET staff_seen_message_id = "
               "(SELECT MAX(messages.id) FROM messages WHERE messages.conversation_id = conversations.id)")


def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('staff_seen_message_id')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('available')
