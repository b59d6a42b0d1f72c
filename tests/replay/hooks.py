"""The world around a conversation: what scripts set up with ``given ...`` and what staff or time do to it.

Each hook is ``async (world, *arguments)``; its name is the step's bare words (``staff replies "..."`` is the hook
"staff replies" with one argument). Staff act through the same services the console uses, as the agent of the
seed ("Wang Li") unless said otherwise. Add a hook here when a new journey needs the world to move.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dialogs import alerts, reminders
from storage.db import transaction
from storage.models import Conversation, Customer, FaqEntry, Listing, Staff, Ticket
from storage.services import handoff, tickets
from storage.unit_of_work import Actor
from tests import factories
from tests.journey_data import seed
from tests.replay.runner import World
from tests.workplace import SETTINGS, workplace_for

LOCAL = ZoneInfo("Asia/Shanghai")
Hook = Callable[..., Awaitable[None]]
HOOKS: dict[str, Hook] = {}


def hook(name: str) -> Callable[[Hook], Hook]:
    def register(function: Hook) -> Hook:
        if name in HOOKS:
            raise ValueError(f"hook {name!r} defined twice")
        HOOKS[name] = function
        return function

    return register


async def run_ticks(world: World) -> None:
    """The scheduler's jobs, once each, at the frozen time: reminders, listing alerts, handoff assignment."""
    workplace = workplace_for(world.sessions, world.bus)
    now = world.clock.now()
    await reminders.tick(workplace, now)
    await alerts.tick(workplace, now=now)
    async with workplace.open() as work:
        await handoff.assignment_tick(work)


# -- the world before the conversation ---------------------------------------------------------------------


@hook("given listings")
async def given_listings(world: World) -> None:
    """tests/journey_data.py: Beijing districts, agents Wang Li (linked to a Telegram chat) and Zhao Min, six homes."""
    agent = world.api.customer(first_name="Wang", language_code="en")
    world.extra_chats["agent"] = agent
    world.ids.update(await seed(world.sessions, agent_chat_id=agent.chat_id))


@hook("given comparables")
async def given_comparables(world: World) -> None:
    """tests/owner_data.py: four sale flats in Wangjing near 89 m² (and one far too big), for owners' valuations."""
    from tests.owner_data import seed_comparables

    world.ids.update(await seed_comparables(world.sessions))


@hook("given a home")
async def given_a_home(world: World, *args: str) -> None:
    """A handed-over flat, Sunny Garden 3-1201, whose owner's phone is the customer's (+86 13800138000).
    Optional arguments: project, building, unit, owner phone, handover date (YYYY-MM-DD)."""
    project, building, unit_no, phone, handover = (*args, *([None] * 5))[:5]
    async with transaction(world.sessions) as session:
        await factories.unit(
            session, project=project or "Sunny Garden", building=building or "3", unit_no=unit_no or "1201",
            phone=phone or "13800138000",
            handover=date.fromisoformat(handover) if handover else date(2025, 6, 1))


@hook("given a faq")
async def given_a_faq(world: World, language: str, question: str, answer: str, keywords: str = "") -> None:
    async with transaction(world.sessions) as session:
        session.add(FaqEntry(language=language, question=question, answer=answer,
                             keywords=[k.strip() for k in keywords.split(",") if k.strip()]))


@hook("given agents")
async def given_agents(world: World) -> None:
    """An agent and a service technician who can take chats and tickets (without the listings)."""
    async with transaction(world.sessions) as session:
        await _ensure_staff(session, world)


@hook("time is")
async def time_is(world: World, local: str) -> None:
    """Set the clock to a local Beijing time, "2026-03-02 22:30" (the scheduled jobs do not run)."""
    world.clock.set(datetime.fromisoformat(local).replace(tzinfo=LOCAL).astimezone(UTC))


@hook("time passes")
async def time_passes(world: World, minutes: str) -> None:
    """N minutes pass and the scheduled jobs run once (as `customer waits N minutes`)."""
    world.clock.advance(minutes=float(minutes))
    await run_ticks(world)


# -- staff ---------------------------------------------------------------------------------------------------


async def _ensure_staff(session: Any, world: World) -> Staff:
    staff_id = world.ids.get("agent")
    if staff_id is not None:
        found = await session.get(Staff, staff_id)
        if found is not None:
            return found
    agent = await factories.staff(session, name="Wang Li", role="agent", team="repair", lead=True)
    world.ids["agent"] = agent.id
    return agent


async def _conversation(session: Any, world: World) -> Conversation:
    customer = await session.scalar(select(Customer).where(Customer.telegram_user_id == world.customer.user_id))
    if customer is None:
        raise LookupError("the customer has not talked to the bot yet")
    conversation = await session.scalar(select(Conversation).where(Conversation.customer_id == customer.id)
                                        .order_by(Conversation.id.desc()))
    if conversation is None:
        raise LookupError("the customer has no conversation")
    return conversation


async def _as_staff(world: World, action: Callable[[Any, int], Awaitable[Any]]) -> None:
    async with transaction(world.sessions) as session:
        agent = await _ensure_staff(session, world)
        conversation_id = (await _conversation(session, world)).id
    async with workplace_for(world.sessions, world.bus).open(Actor.staff(agent.id)) as work:
        await action(work, conversation_id)


@hook("staff takes the chat")
async def staff_takes_the_chat(world: World) -> None:
    await _as_staff(world, handoff.take_over)


@hook("staff replies")
async def staff_replies(world: World, text: str) -> None:
    from dialogs.i18n import esc

    await _as_staff(world, lambda work, cid: handoff.agent_reply(work, cid, {"kind": "say", "text": esc(text)},
                                                                  text=text))


@hook("staff returns the chat to the bot")
async def staff_returns_the_chat(world: World) -> None:
    await _as_staff(world, handoff.return_to_bot)


@hook("staff closes the chat")
async def staff_closes_the_chat(world: World) -> None:
    await _as_staff(world, handoff.close)


# -- tickets (repair, complaint) -------------------------------------------------------------------------------


async def _ticket_action(world: World, action: Callable[[Any, Ticket, Staff], Awaitable[Any]]) -> None:
    async with transaction(world.sessions) as session:
        agent = await _ensure_staff(session, world)
        ticket = await session.scalar(select(Ticket).order_by(Ticket.id.desc()))
        if ticket is None:
            raise LookupError("there is no ticket")
        await action(session, ticket, agent)
    await run_ticks(world)  # ticket updates reach the customer through the reminder tick


@hook("staff assigns the ticket")
async def staff_assigns_the_ticket(world: World) -> None:
    await _ticket_action(world, lambda s, ticket, agent: tickets.assign(s, ticket, agent.id, by=agent,
                                                                        settings=SETTINGS))


@hook("staff sets the ticket to")
async def staff_sets_the_ticket_to(world: World, status: str, note: str = "") -> None:
    await _ticket_action(world, lambda s, ticket, agent: tickets.change_status(
        s, ticket, status, staff=agent, note=note or None, settings=SETTINGS))


@hook("staff quotes")
async def staff_quotes(world: World, amount: str) -> None:
    await _ticket_action(world, lambda s, ticket, agent: tickets.set_quote(s, ticket, amount, staff=agent,
                                                                           settings=SETTINGS))


# -- listings (alerts) -------------------------------------------------------------------------------------------


@hook("staff adds a listing")
async def staff_adds_a_listing(world: World, ref: str, district: str, price: str, bedrooms: str) -> None:
    """A home comes on the market now: ref, district (English name), monthly rent, bedrooms."""
    from storage.models import District

    async with transaction(world.sessions) as session:
        found = await session.scalar(select(District).where(District.name == district))
        if found is None:
            raise LookupError(f"no district {district!r}")
        agent = await _ensure_staff(session, world)
        session.add(Listing(
            ref_code=ref, deal_type="rent", property_type="apartment", city="Beijing", district_id=found.id,
            district_name=district, address="9 New Road", price=Decimal(price), currency="CNY",
            bedrooms=int(bedrooms), bathrooms=1, area_m2=80.0, floor=6, floors_total=20,
            available_from=date(2026, 3, 1), furnished=True, pets_allowed=True, features=["elevator"],
            status="active", description="New on the market.", lat=found.lat, lon=found.lon, agent_id=agent.id,
            created_at=world.clock.now(), updated_at=world.clock.now()))
