"""work entered by staff: consultations; who entered a ticket or a viewing; the team a conversation waits for

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 20:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'consultations',
        sa.Column('id', BigId, nullable=False),
        sa.Column('customer_id', BigId, nullable=False),
        sa.Column('staff_id', BigId, nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('topic', sa.String(length=16), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('next_step', sa.Text(), nullable=True),
        sa.Column('next_step_due_at', UTCDateTime(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('done_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                                name=op.f('fk_consultations_customer_id_customers'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_consultations_staff_id_staff')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_consultations')),
    )
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.create_index('ix_consultations_customer', ['customer_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultations_staff_id'), ['staff_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultations_channel'), ['channel'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultations_topic'), ['topic'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultations_next_step_due_at'), ['next_step_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultations_created_at'), ['created_at'], unique=False)

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entered_by_id', BigId, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_tickets_entered_by_id_staff'), 'staff', ['entered_by_id'], ['id'])

    with op.batch_alter_table('viewings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entered_by_id', BigId, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_viewings_entered_by_id_staff'), 'staff', ['entered_by_id'],
                                    ['id'])

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('team', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('team')

    with op.batch_alter_table('viewings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_viewings_entered_by_id_staff'), type_='foreignkey')
        batch_op.drop_column('entered_by_id')

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tickets_entered_by_id_staff'), type_='foreignkey')
        batch_op.drop_column('entered_by_id')

    op.drop_table('consultations')
