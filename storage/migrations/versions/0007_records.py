"""records: FAQ entries can be retired; customers entered by staff carry gender and how they came (phone, walk-in)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 20:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('faq_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_at', storage.models.base.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gender', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('source', sa.String(length=12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('source')
        batch_op.drop_column('gender')
    with op.batch_alter_table('faq_entries', schema=None) as batch_op:
        batch_op.drop_column('retired_at')
