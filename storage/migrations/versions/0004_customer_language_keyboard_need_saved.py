"""customers remember a language learned from their writing and a reply keyboard left showing; needs remember
when they were saved (alerts start from then)

Revision ID: 0004
Revises: 0003
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language_from_text', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('reply_keyboard', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('saved_at', storage.models.base.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE needs SET saved_at = updated_at")
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.alter_column('saved_at', existing_type=storage.models.base.UTCDateTime(timezone=True),
                              nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.drop_column('saved_at')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('reply_keyboard')
        batch_op.drop_column('language_from_text')
