"""Reading consultations (storage.services.consultations writes them)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Consultation, Staff


async def for_customer(session: AsyncSession, customer_id: int, limit: int = 50) -> list[tuple[Consultation, str]]:
    """The customer's consultations, newest first, each with the name of the staff member who entered it."""
    rows = await session.execute(
        select(Consultation, Staff.name).join(Staff, Staff.id == Consultation.staff_id)
        .where(Consultation.customer_id == customer_id)
        .order_by(Consultation.created_at.desc(), Consultation.id.desc()).limit(limit)
    )
    return [(consultation, name) for consultation, name in rows.tuples().all()]
