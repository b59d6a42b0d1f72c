"""The one query builder of the matching engine: every SQL it runs, over storage models, portable
between SQLite and PostgreSQL (no dialect-specific functions)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Float, Select, String, bindparam, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from matching.score import Plan
from storage.models import Listing, ListingFeedback
from storage.vocabulary import DEAL_TYPES, PROPERTY_TYPES

# A listing withheld from recommendations (not verified in time, or reported repeatedly; see
# storage.services.verification) reads as not active, so every path (snapshot, SQL, alerts) leaves it out.
WITHHELD = "withheld"
_STATUS = case((Listing.withheld_at.is_not(None), WITHHELD), else_=Listing.status).label("status")

# Columns in matching.score.ROW_FIELDS order.
_ROW_COLUMNS = (
    Listing.id,
    _STATUS,
    Listing.deal_type,
    Listing.property_type,
    cast(Listing.price, Float),  # float, not Decimal: nothing here needs cents exactly
    Listing.district_id,
    Listing.bedrooms,
    Listing.area_m2,
    Listing.available_from,
    Listing.lat,
    Listing.lon,
    Listing.furnished,
    Listing.pets_allowed,
    Listing.features,
    Listing.partly_furnished,
    Listing.decoration,
)


def snapshot_rows(after_id: int, limit: int) -> Select[Any]:
    """One page of the whole table, by id (keyset paging keeps memory flat while loading)."""
    return select(*_ROW_COLUMNS).where(Listing.id > after_id).order_by(Listing.id).limit(limit)


# Built once: constructing a select costs about as much as SQLite answering it.
_ROWS_BY_ID = select(*_ROW_COLUMNS, Listing.ref_code, Listing.district_name).where(
    Listing.id.in_(bindparam("ids", expanding=True))
)


def rows_by_id(ids: Iterable[int]) -> tuple[Select[Any], dict[str, Any]]:
    """Scored columns plus what a result card shows (ref_code, district_name) after them."""
    return _ROWS_BY_ID, {"ids": list(ids)}


def rows_changed_since(updated_at: Any, max_id: int) -> Select[Any]:
    return select(*_ROW_COLUMNS).where(or_(Listing.updated_at >= updated_at, Listing.id > max_id))


def probe() -> Select[Any]:
    """Cheap fingerprint of the table, to notice edits made by other processes."""
    return select(func.count(Listing.id), func.max(Listing.id), func.max(Listing.updated_at))


def candidate_ids(plan: Plan) -> Select[Any]:
    """Ids passing the indexed filters, as one comma-separated string.

    (status, deal_type, property_type, price) is one covering index, so this reads the index only; one
    aggregated string instead of a row per id is what makes tens of thousands of ids affordable.
    """
    stmt = select(func.aggregate_strings(cast(Listing.id, String), ",")).where(Listing.status == "active",
                                                                             Listing.withheld_at.is_(None))
    if plan.deal is not None:
        stmt = stmt.where(Listing.deal_type == DEAL_TYPES[plan.deal])
    if plan.ptypes:
        stmt = stmt.where(Listing.property_type.in_([PROPERTY_TYPES[t] for t in plan.ptypes]))
    if plan.price_hi is not None:
        stmt = stmt.where(Listing.price <= plan.price_hi)
    if plan.price_lo is not None:
        stmt = stmt.where(Listing.price >= plan.price_lo)
    return stmt


def customer_feedback(customer_id: int) -> Select[Any]:
    return (
        select(
            ListingFeedback.listing_id,
            ListingFeedback.reason,
            Listing.deal_type,
            Listing.property_type,
            Listing.district_id,
            cast(Listing.price, Float),
            Listing.area_m2,
            Listing.bedrooms,
        )
        .join(Listing, Listing.id == ListingFeedback.listing_id)
        .where(ListingFeedback.customer_id == customer_id)
        .order_by(ListingFeedback.created_at.desc())
        .limit(200)
    )


async def fetch_all(session: AsyncSession, stmt: Select[Any] | tuple[Select[Any], dict[str, Any]]) -> list[Any]:
    """Run on the session's connection: plain rows, without the ORM's per-row bookkeeping."""
    statement, params = stmt if isinstance(stmt, tuple) else (stmt, {})
    connection = await session.connection()
    return list((await connection.execute(statement, params)).all())
