"""deals: signed sales and leases, milestone tracks, move-in fees and inspection slots

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 20:04:27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql, sqlite

import storage.models.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "milestone_steps",
        sa.Column("track", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=24), nullable=False),
        sa.Column("days", sa.Integer(), nullable=True),
        sa.Column("notify", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("track", "code", name=op.f("pk_milestone_steps")),
    )
    op.create_table(
        "inspection_slots",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("starts_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_inspection_slots_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_slots")),
    )
    with op.batch_alter_table("inspection_slots", schema=None) as batch_op:
        batch_op.create_index("ix_inspection_slots_project", ["project_id", "starts_at"], unique=False)

    op.create_table(
        "project_fees",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("per_m2", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_project_fees_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_fees")),
    )
    with op.batch_alter_table("project_fees", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_fees_project_id"), ["project_id"], unique=False)

    op.create_table(
        "deals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("contract_no", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("customer_name", sa.String(length=128), nullable=False),
        sa.Column("customer_phone", sa.String(length=32), nullable=False),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("listing_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("viewing_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("price", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payment_method", sa.String(length=16), nullable=False),
        sa.Column("handover_date", sa.Date(), nullable=True),
        sa.Column("staff_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("contract_area", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("measured_area", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("unit_price", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("loan_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("bank", sa.String(length=64), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_deals_customer_id_customers"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"], ["listings.id"], name=op.f("fk_deals_listing_id_listings"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_deals_project_id_projects"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_deals_staff_id_staff"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_deals_unit_id_units"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["viewing_id"], ["viewings.id"], name=op.f("fk_deals_viewing_id_viewings"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deals")),
        sa.UniqueConstraint("contract_no", name=op.f("uq_deals_contract_no")),
    )
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deals_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deals_customer_phone"), ["customer_phone"], unique=False)
        batch_op.create_index(batch_op.f("ix_deals_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deals_staff_id"), ["staff_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deals_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "milestones",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("deal_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("track", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("staff_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("started_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("entered_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "data",
            sa.JSON()
            .with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
            .with_variant(sqlite.JSON(), "sqlite"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_milestones_deal_id_deals"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_milestones_staff_id_staff"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestones")),
        sa.UniqueConstraint("deal_id", "track", name=op.f("uq_milestones_deal_id")),
    )
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_milestones_deal_id"), ["deal_id"], unique=False)
        batch_op.create_index("ix_milestones_due", ["finished_at", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_milestones_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "deal_attachments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("deal_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("milestone_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("document", sa.String(length=48), nullable=True),
        sa.Column("telegram_file_id", sa.String(length=256), nullable=True),
        sa.Column("path", sa.String(length=512), nullable=True),
        sa.Column("uploaded_by_customer", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_deal_attachments_deal_id_deals"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"],
            ["milestones.id"],
            name=op.f("fk_deal_attachments_milestone_id_milestones"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_attachments")),
    )
    with op.batch_alter_table("deal_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deal_attachments_deal_id"), ["deal_id"], unique=False)

    op.create_table(
        "milestone_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("milestone_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=True),
        sa.Column("to_status", sa.String(length=24), nullable=True),
        sa.Column("actor_staff_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("actor_customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "data",
            sa.JSON()
            .with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
            .with_variant(sqlite.JSON(), "sqlite"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["actor_customer_id"],
            ["customers.id"],
            name=op.f("fk_milestone_events_actor_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["actor_staff_id"], ["staff.id"], name=op.f("fk_milestone_events_actor_staff_id_staff"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"],
            ["milestones.id"],
            name=op.f("fk_milestone_events_milestone_id_milestones"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestone_events")),
    )
    with op.batch_alter_table("milestone_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_milestone_events_milestone_id"), ["milestone_id"], unique=False)

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("has_deal", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("has_deal")

    with op.batch_alter_table("milestone_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestone_events_milestone_id"))

    op.drop_table("milestone_events")
    with op.batch_alter_table("deal_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deal_attachments_deal_id"))

    op.drop_table("deal_attachments")
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestones_staff_id"))
        batch_op.drop_index("ix_milestones_due")
        batch_op.drop_index(batch_op.f("ix_milestones_deal_id"))

    op.drop_table("milestones")
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deals_unit_id"))
        batch_op.drop_index(batch_op.f("ix_deals_staff_id"))
        batch_op.drop_index(batch_op.f("ix_deals_project_id"))
        batch_op.drop_index(batch_op.f("ix_deals_customer_phone"))
        batch_op.drop_index(batch_op.f("ix_deals_customer_id"))

    op.drop_table("deals")
    with op.batch_alter_table("project_fees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_fees_project_id"))

    op.drop_table("project_fees")
    with op.batch_alter_table("inspection_slots", schema=None) as batch_op:
        batch_op.drop_index("ix_inspection_slots_project")

    op.drop_table("inspection_slots")
    op.drop_table("milestone_steps")
