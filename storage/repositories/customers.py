"""Customers by their channel identity: a Telegram user (user id, chat id) or a web chat visitor (visitor id)."""

from __future__ import annotations

import functools

from sqlalchemy import ColumnElement, Select, bindparam, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.db import LIKE_ESCAPE, like_pattern
from storage.models import Conversation, Customer
from storage.services.phones import normalise_phone
from storage.vocabulary import Channel

# session.info key: the open conversation loaded with its customer (get_or_create), taken once by
# storage.repositories.conversations.current, so the hot path reads both in one query.
OPEN_CONVERSATION = "homedesk.open_conversation"


async def by_telegram_id(session: AsyncSession, telegram_user_id: int) -> Customer | None:
    return await session.scalar(select(Customer).where(Customer.telegram_user_id == telegram_user_id))


async def by_web_visitor(session: AsyncSession, visitor_id: str) -> Customer | None:
    return await session.scalar(select(Customer).where(Customer.web_visitor_id == visitor_id))


@functools.cache
def _identity_statement(web: bool) -> Select[tuple[Customer, Conversation]]:
    """Built once per channel kind: it runs for every update, and building it cost more than running it (issue 17).
    One customer per identity (unique), so the newest of its open conversations is the first row."""
    identity = (Customer.web_visitor_id == bindparam("identity_key")) if web else (
        Customer.telegram_user_id == bindparam("identity_key"))
    return (
        select(Customer, Conversation)
        .outerjoin(Conversation, (Conversation.customer_id == Customer.id) & (Conversation.status == "open"))
        .where(identity)
        .order_by(Conversation.id.desc())
        .limit(1)
    )


async def _by_identity(session: AsyncSession, channel: str, key: int | str) -> Customer | None:
    """The customer, with their newest open conversation in the same query (left for conversations.current)."""
    web = channel == Channel.WEB
    row = (await session.execute(_identity_statement(web), {"identity_key": str(key) if web else int(key)})).first()
    if row is None:
        return None
    customer, conversation = row
    if conversation is not None:
        session.info.setdefault(OPEN_CONVERSATION, {})[customer.id] = conversation
    return customer


async def get_or_create(
    session: AsyncSession,
    *,
    channel: str = Channel.TELEGRAM,
    external_id: int | str | None = None,
    address: int | None = None,
    telegram_user_id: int | None = None,
    chat_id: int | None = None,
    first_name: str = "",
    last_name: str | None = None,
    username: str | None = None,
    language: str = "en",
) -> tuple[Customer, bool]:
    """The customer for this channel identity, created on first contact. Returns (customer, created).

    Telegram: `external_id` (or `telegram_user_id`) is the user id, `address` (or `chat_id`) the chat replies go
    to. Web: `external_id` is the visitor id of the signed visitor token; replies go by customer id.
    """
    if channel not in (Channel.TELEGRAM, Channel.WEB):
        raise ValueError(f"unknown channel {channel!r}")
    web = channel == Channel.WEB
    key: int | str
    if web:
        if not external_id:
            raise ValueError("a web visitor needs a visitor id")
        key = str(external_id)[:64]
        chat_id = None
    else:
        user_id = telegram_user_id if telegram_user_id is not None else external_id
        if user_id is None:
            raise ValueError("a Telegram customer needs a user id")
        key = int(user_id)
        chat_id = chat_id if chat_id is not None else address if address is not None else key
    customer = await _by_identity(session, channel, key)
    now = clock.now()
    if customer is not None:
        customer.last_seen_at = now
        if customer.channel != channel:  # a merged customer: replies go where they last wrote from
            customer.channel = str(channel)
        if not web:
            customer.chat_id = chat_id
        if customer.unreachable_at is not None:  # they wrote to us, so they unblocked the bot
            customer.unreachable_at = None
        if first_name and customer.first_name != first_name[:128]:
            customer.first_name = first_name[:128]
        if username is not None:
            customer.username = username[:64]
        return customer, False
    customer = Customer(
        channel=str(channel),
        telegram_user_id=None if web else key,
        chat_id=chat_id,
        web_visitor_id=key if web else None,
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
        existing = await _by_identity(session, channel, key)
        if existing is None:  # the conflict was about something else: do not hide it
            raise
        return existing, False
    return customer, True


async def by_id(session: AsyncSession, customer_id: int) -> Customer | None:
    return await session.get(Customer, customer_id)


async def set_language(session: AsyncSession, customer: Customer, language: str) -> None:
    """The customer chose a language themselves (the bot's menu, the web chat's switch): it sticks."""
    customer.language = language
    customer.language_chosen = True


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


def has_tag(session: AsyncSession, tag: str) -> ColumnElement[bool]:
    """Customers whose tag list holds `tag`, decided by the database (JSONB containment on PostgreSQL, json_each on
    SQLite), so a filter and its paging cover every customer."""
    if session.get_bind().dialect.name == "postgresql":
        return Customer.tags.op("@>")(func.jsonb_build_array(tag))
    values = func.json_each(Customer.tags).table_valued("value")
    return exists().select_from(values).where(values.c.value == tag)


async def search(session: AsyncSession, *, query: str = "", tag: str = "", page: int = 1,
                 per_page: int = 100) -> tuple[list[Customer], int]:
    """One page of customers matching a name, username or phone fragment and a tag (most recently seen first),
    and how many match in all."""
    conditions: list[ColumnElement[bool]] = []
    if query:
        like = like_pattern(query)
        digits = normalise_phone(query) if sum(ch.isdigit() for ch in query) >= 3 else ""
        conditions.append(or_(
            func.lower(Customer.first_name).like(like, escape=LIKE_ESCAPE),
            func.lower(func.coalesce(Customer.last_name, "")).like(like, escape=LIKE_ESCAPE),
            func.lower(func.coalesce(Customer.username, "")).like(like, escape=LIKE_ESCAPE),
            func.coalesce(Customer.phone, "").like(like, escape=LIKE_ESCAPE),
            *([func.coalesce(Customer.phone, "").like(f"%{digits}%")] if digits else []),  # phones are stored as digits
        ))
    if tag:
        conditions.append(has_tag(session, tag))
    total = int(await session.scalar(select(func.count(Customer.id)).where(*conditions)) or 0)
    found = await session.scalars(
        select(Customer).where(*conditions)
        .order_by(Customer.last_seen_at.desc().nulls_last(), Customer.id.desc())
        .offset((max(page, 1) - 1) * per_page).limit(per_page))
    return list(found.all()), total
