"""several instances: the claim's per-chat order check reads an index on (chat_id, status, update_id)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 20:40:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_updates', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_chat_pending', ['chat_id', 'status', 'update_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbound_updates', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_chat_pending')
