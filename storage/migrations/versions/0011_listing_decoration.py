"""listings carry their decoration level (精装 / 简装 / 毛坯) and whether they are only partly furnished

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 20:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partly_furnished', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('decoration', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.drop_column('decoration')
        batch_op.drop_column('partly_furnished')
