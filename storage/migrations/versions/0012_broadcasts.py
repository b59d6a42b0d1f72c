"""notices to owners: broadcasts, and the outbox rows that deliver them

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 20:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql, sqlite

import storage.models.base

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite')


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, storage.models.base.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table('broadcasts',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('text_en', sa.Text(), nullable=False),
    sa.Column('text_zh', sa.Text(), nullable=False),
    sa.Column('audience', JSON, nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    _when('scheduled_at', nullable=False),
    _when('held_until'),
    sa.Column('created_by', BIG_ID, nullable=True),
    sa.Column('estimated', sa.Integer(), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('cursor', sa.BigInteger(), nullable=False),
    _when('started_at'),
    _when('queued_at'),
    _when('finished_at'),
    _when('cancelled_at'),
    sa.Column('cancelled_by', BIG_ID, nullable=True),
    _when('created_at', nullable=False),
    _when('updated_at', nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['staff.id'], name=op.f('fk_broadcasts_created_by_staff'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['cancelled_by'], ['staff.id'], name=op.f('fk_broadcasts_cancelled_by_staff'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcasts'))
    )
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.create_index('ix_broadcasts_due', ['status', 'scheduled_at'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('broadcast_id', BIG_ID, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_outbox_broadcast_id_broadcasts'), 'broadcasts', ['broadcast_id'],
                                    ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_outbox_broadcast', ['broadcast_id', 'status'], unique=False)


def downgrade() -> None:
    op.execute("UPDATE outbox SET status = 'failed', error = 'cancelled' WHERE status = 'cancelled'")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_broadcast')
        batch_op.drop_constraint(batch_op.f('fk_outbox_broadcast_id_broadcasts'), type_='foreignkey')
        batch_op.drop_column('broadcast_id')

    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.drop_index('ix_broadcasts_due')
    op.drop_table('broadcasts')
