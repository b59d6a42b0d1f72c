"""Customers by Telegram identity."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.models import Customer


async def by_telegram_id(session: AsyncSession, telegram_user_id: int) -> Customer | None:
    return await session.scalar(select(Customer).where(Customer.telegram_user_id == telegram_user_id))


async def get_or_create(
    session: AsyncSession,
    *,
    telegram_user_id: int,
    chat_id: int,
    first_name: str = "",
    last_name: str | None = None,
    username: str | None = None,
    language: str = "en",
) -> tuple[Customer, bool]:
    """The customer for this Telegram user, created on first contact. Returns (customer, created)."""
    customer = await by_telegram_id(session, telegram_user_id)
    now = clock.now()
    if customer is not None:
        customer.last_seen_at = now
        customer.chat_id = chat_id
        if customer.unreachable_at is not None:  # they wrote to us, so they unblocked the bot
            customer.unreachable_at = None
        if first_name and customer.first_name != first_name[:128]:
            customer.first_name = first_name[:128]
        if username is not None:
            customer.username = username[:64]
        return customer, False
    customer = Customer(
        telegram_user_id=telegram_user_id,
        chat_id=chat_id,
        first_name=(first_name or "")[:128],
        last_name=last_name[:128] if last_name else None,
        username=username[:64] if username else None,
        language=language,
        last_seen_at=now,
        tags=[],
    )
    try:
        async with session.begin_nested():
            session.add(customer)
    except IntegrityError:  # created by a concurrent update of the same user
        existing = await by_telegram_id(session, telegram_user_id)
        if existing is None:  # the conflict was about something else: do not hide it
            raise
        return existing, False
    return customer, True


async def by_id(session: AsyncSession, customer_id: int) -> Customer | None:
    return await session.get(Customer, customer_id)


async def mark_unreachable(session: AsyncSession, chat_id: int) -> None:
    """Telegram said 403 (or my_chat_member "kicked"): the customer blocked the bot. Nothing is queued for them
    until they unblock it (`mark_reachable`) or write again."""
    for customer in await session.scalars(select(Customer).where(Customer.chat_id == chat_id)):
        if customer.unreachable_at is None:
            customer.unreachable_at = clock.now()


async def mark_reachable(session: AsyncSession, chat_id: int) -> None:
    """Telegram said the customer unblocked the bot (my_chat_member "member"): their reminders and alerts
    are queued again, without waiting for them to write."""
    for customer in await session.scalars(select(Customer).where(Customer.chat_id == chat_id)):
        if customer.unreachable_at is not None:
            customer.unreachable_at = None
