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
    """The scheduler's jobs, once each, at the frozen time: deal milestones (move-in notices), reminders, listing
    alerts, handoff assignment."""
    from storage.services import milestones

    workplace = workplace_for(world.sessions, world.bus)
    now = world.clock.now()
    await milestones.tick(workplace, now)
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


# -- deals (loan, move-in, certificate) ------------------------------------------------------------------------


@hook("given a deal")
async def given_a_deal(world: World, payment_method: str = "mortgage", handover: str = "2026-03-16") -> None:
    """Contract HT-2026-001 for Sunny Garden 3-1201, signed under the customer's phone (+86 13800138000), imported
    as `homedesk import-deals` does, with Wang Li responsible, a property fee of 3 CNY per m² (101 m² measured), a
    maintenance fund of 2,000 CNY, and two inspection slots (Thu 5 Mar 10:00, Fri 6 Mar 14:00)."""
    from storage.importers import import_deals
    from storage.models import InspectionSlot, Project, ProjectFee

    async with transaction(world.sessions) as session:
        agent = await _ensure_staff(session, world)
        email = agent.email
    text = ("contract_no,project,building,unit_no,customer_name,customer_phone,signed_on,price,currency,"
            "payment_method,handover_date,staff_email,contract_area,measured_area\n"
            f"HT-2026-001,Sunny Garden,3,1201,Ann Li,13800138000,2026-01-10,3000000,CNY,{payment_method},{handover},"
            f"{email},100,101\n")
    report = await import_deals(world.sessions, text.encode(), settings=SETTINGS)
    if report.errors:
        raise ValueError(f"the deal was refused: {report.errors}")
    async with transaction(world.sessions) as session:
        project = await session.scalar(select(Project).where(Project.name == "Sunny Garden"))
        session.add_all([
            ProjectFee(project_id=project.id, name="Property fee, 3 months", name_zh="物业费（3个月）",
                       amount=Decimal(3), per_m2=True),
            ProjectFee(project_id=project.id, name="Maintenance fund", name_zh="维修基金", amount=Decimal(2000)),
            InspectionSlot(project_id=project.id, starts_at=datetime(2026, 3, 5, 2, tzinfo=UTC), capacity=2),
            InspectionSlot(project_id=project.id, starts_at=datetime(2026, 3, 6, 6, tzinfo=UTC), capacity=2)])


async def _milestone_action(world: World, track: str, action: Callable[[Any, Any], Awaitable[Any]]) -> None:
    from storage.models import Milestone

    async with transaction(world.sessions) as session:
        agent = await _ensure_staff(session, world)
        milestone = await session.scalar(select(Milestone).where(Milestone.track == track)
                                         .order_by(Milestone.id.desc()))
        if milestone is None:
            raise LookupError(f"there is no {track} track")
        from tests.workplace import staff_work

        await action(staff_work(session, agent.id), milestone)
    await run_ticks(world)  # milestone notices reach the customer through the reminder tick


@hook("staff requests documents")
async def staff_requests_documents(world: World, *codes: str) -> None:
    """The loan's documents (checklist codes: id_card, income_proof, ...)."""
    from storage.services import milestones

    await _milestone_action(world, "loan", lambda work, m: milestones.request_documents(work, m, codes))


@hook("staff moves the deal to")
async def staff_moves_the_deal_to(world: World, track: str, step: str, note: str = "") -> None:
    """One track of the deal to its next step: `staff moves the deal to "certificate" "filed"`."""
    from storage.services import milestones

    await _milestone_action(world, track, lambda work, m: milestones.advance(work, m, step, note=note or None))


@hook("staff records the inspection with defects")
async def staff_records_the_inspection(world: World, *defects: str) -> None:
    """Each defect as "category: description" (a repair ticket under warranty each)."""
    from storage.services import milestones

    found = [milestones.Defect(*(part.strip() for part in d.split(":", 1))) for d in defects]
    await _milestone_action(world, "move_in", lambda work, m: milestones.record_inspection(
        work, m, checked=["walls", "plumbing"], defects=found))
