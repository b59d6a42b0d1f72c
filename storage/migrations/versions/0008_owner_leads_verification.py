"""owners' leads with their valuation; listings kept true (last verified, withheld, customer reports)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 20:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql, sqlite

import storage.models.base

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite')
WHEN = storage.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verified_at', WHEN, nullable=True))
        batch_op.add_column(sa.Column('verified_by_id', BIG_ID, nullable=True))
        batch_op.add_column(sa.Column('verify_reminded_at', WHEN, nullable=True))
        batch_op.add_column(sa.Column('withheld_at', WHEN, nullable=True))
        batch_op.add_column(sa.Column('withheld_reason', sa.String(length=12), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_listings_verified_by_id_staff'), 'staff', ['verified_by_id'],
                                    ['id'], ondelete='SET NULL')

    op.create_table('listing_reports',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('listing_id', BIG_ID, nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=True),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('resolved_at', WHEN, nullable=True),
    sa.Column('resolved_by_id', BIG_ID, nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_listing_reports_customer_id_customers'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_listing_reports_listing_id_listings'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['staff.id'], name=op.f('fk_listing_reports_resolved_by_id_staff'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listing_reports'))
    )
    with op.batch_alter_table('listing_reports', schema=None) as batch_op:
        batch_op.create_index('ix_listing_reports_open', ['listing_id', 'resolved_at'], unique=False)

    op.create_table('owner_leads',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('intent', sa.String(length=8), nullable=False),
    sa.Column('request', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('intake', JSON, nullable=False),
    sa.Column('valuation', JSON, nullable=False),
    sa.Column('source_text', sa.Text(), nullable=True),
    sa.Column('agent_id', BIG_ID, nullable=True),
    sa.Column('listing_id', BIG_ID, nullable=True),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('updated_at', WHEN, nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['staff.id'], name=op.f('fk_owner_leads_agent_id_staff'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_owner_leads_customer_id_customers'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_owner_leads_listing_id_listings'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_owner_leads'))
    )
    with op.batch_alter_table('owner_leads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_owner_leads_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_owner_leads_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('owner_leads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_owner_leads_status'))
        batch_op.drop_index(batch_op.f('ix_owner_leads_customer_id'))
    op.drop_table('owner_leads')

    with op.batch_alter_table('listing_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_listing_reports_open')
    op.drop_table('listing_reports')

    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_listings_verified_by_id_staff'), type_='foreignkey')
        batch_op.drop_column('withheld_reason')
        batch_op.drop_column('withheld_at')
        batch_op.drop_column('verify_reminded_at')
        batch_op.drop_column('verified_by_id')
        batch_op.drop_column('verified_at')
