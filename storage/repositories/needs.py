"""Needs: what a customer wants, one per customer and deal type (criteria as matching.Criteria JSON)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.models import Customer, Need


async def get(session: AsyncSession, customer_id: int, deal_type: str) -> Need | None:
    return await session.scalar(select(Need).where(Need.customer_id == customer_id, Need.deal_type == deal_type))


async def by_id(session: AsyncSession, need_id: int) -> Need | None:
    return await session.get(Need, need_id)


async def for_customer(session: AsyncSession, customer_id: int, *, active_only: bool = False) -> Sequence[Need]:
    query = select(Need).where(Need.customer_id == customer_id).order_by(Need.deal_type)
    if active_only:
        query = query.where(Need.active.is_(True))
    return (await session.scalars(query)).all()


async def save(
    session: AsyncSession, customer_id: int, deal_type: str, criteria: dict[str, Any], source_text: str | None = None
) -> Need:
    """Create or replace the customer's need for this deal type, make it active and note when (`saved_at`)."""
    need = await get(session, customer_id, deal_type)
    if need is None:
        need = Need(customer_id=customer_id, deal_type=deal_type, criteria=dict(criteria), source_text=source_text,
                    active=True)
        try:
            async with session.begin_nested():
                session.add(need)
        except IntegrityError:  # created by a concurrent update of the same customer
            need = await get(session, customer_id, deal_type)
            if need is None:  # the conflict was about something else: do not hide it
                raise
        else:
            return need
    need.criteria = dict(criteria)
    need.active = True
    need.saved_at = clock.now()
    if source_text is not None:
        need.source_text = source_text
    await session.flush()
    return need


async def deactivate(session: AsyncSession, customer_id: int, deal_type: str) -> bool:
    need = await get(session, customer_id, deal_type)
    if need is None or not need.active:
        return False
    need.active = False
    await session.flush()
    return True


async def active_with_customers(session: AsyncSession) -> Sequence[tuple[Need, Customer]]:
    """Every active need with its customer (who wants alerts and can be reached)."""
    rows = await session.execute(
        select(Need, Customer)
        .join(Customer, Customer.id == Need.customer_id)
        .where(Need.active.is_(True), Customer.notify_new_listings.is_(True), Customer.unreachable_at.is_(None))
        .order_by(Need.id)
    )
    return [(need, customer) for need, customer in rows.all()]
