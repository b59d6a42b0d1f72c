"""complaint handling (verification, responsibility, root cause, improvement) and chat first-response deadlines

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 20:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import storage.models.base
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verification', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('verified_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                      nullable=True))
        batch_op.add_column(sa.Column('verified_at', storage.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('responsible_party', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('root_cause', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('improvement_action', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_tickets_verified_by_staff'), 'staff', ['verified_by'], ['id'])

    op.create_table(
        'chat_waits',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('channel', sa.String(length=8), nullable=False),
        sa.Column('topic', sa.String(length=32), nullable=False),
        sa.Column('team', sa.String(length=64), nullable=True),
        sa.Column('started_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('due_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('answered_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('answered_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.Column('ended_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('ended_how', sa.String(length=12), nullable=True),
        sa.Column('paused_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('promised_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('breached', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['answered_by'], ['staff.id'], name=op.f('fk_chat_waits_answered_by_staff'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'],
                                name=op.f('fk_chat_waits_conversation_id_conversations'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_waits')),
    )
    with op.batch_alter_table('chat_waits', schema=None) as batch_op:
        batch_op.create_index('ix_chat_waits_open', ['answered_at', 'ended_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_chat_waits_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_chat_waits_started_at'), ['started_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('chat_waits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chat_waits_started_at'))
        batch_op.drop_index(batch_op.f('ix_chat_waits_conversation_id'))
        batch_op.drop_index('ix_chat_waits_open')
    op.drop_table('chat_waits')

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tickets_verified_by_staff'), type_='foreignkey')
        batch_op.drop_column('improvement_action')
        batch_op.drop_column('root_cause')
        batch_op.drop_column('responsible_party')
        batch_op.drop_column('verified_at')
        batch_op.drop_column('verified_by')
        batch_op.drop_column('verification')
