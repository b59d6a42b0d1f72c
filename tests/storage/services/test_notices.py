"""Every kind of staff notice reaches each staff member in their own language, in the console (a notification
row) and in their linked Telegram chat (an outbox row), produced by the service that sends it for real:
the handoff tick (assigned, requeued), a transfer (with and without a note), a follow-up (low survey score,
revisit asking for help)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from functools import partial
from itertools import count

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialogs.notices import FOLLOW_UP_REASONS, STAFF_NOTICES
from storage import clock
from storage.clock import FrozenClock
from storage.models import Conversation, Customer, District, Listing, OutboxMessage, Staff, StaffNotification
from storage.repositories import conversations
from storage.services import handoff, owner_leads, revisits, surveys, verification
from storage.services.notices import notify_staff
from storage.unit_of_work import Actor, Workplace
from tests.workplace import SETTINGS
from tests.workplace import workplace_for as workplace

_ids = count(7000)
ZH_CHAT, EN_CHAT = 555_001, 555_002


async def _staff(session: AsyncSession, name: str, language: str, chat_id: int, **extra: object) -> Staff:
    person = Staff(email=f"{name.split()[0].lower()}@example.com", name=name, role="agent", password_hash="x",
                   language=language, telegram_chat_id=chat_id,
                   online_until=clock.now() + timedelta(hours=8), **extra)
    session.add(person)
    await session.flush()
    return person


async def _waiting(session: AsyncSession, name: str) -> Conversation:
    n = next(_ids)
    customer = Customer(telegram_user_id=n, chat_id=n, first_name=name, language="en", tags=[])
    session.add(customer)
    await session.flush()
    conversation = await conversations.current(session, customer)
    await handoff.request_handoff(session, conversation, "asked")
    return conversation


async def _told(sessions: async_sessionmaker[AsyncSession], person: Staff) -> tuple[list[str], list[str]]:
    """(console notifications, Telegram messages) this person received, oldest first."""
    async with sessions() as session:
        console = (await session.scalars(select(StaffNotification.text).where(
            StaffNotification.staff_id == person.id).order_by(StaffNotification.id))).all()
        telegram = (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.chat_id == person.telegram_chat_id).order_by(OutboxMessage.id))).all()
    return list(console), [row.payload["text"] for row in telegram]


# Each scenario makes the real service send one kind of notice to a Chinese- and an English-speaking staff
# member, and returns what each must read: (zh staff, en staff, text for zh, text for en).
Scenario = Callable[[Workplace, FrozenClock], Awaitable[tuple[Staff, Staff, str, str]]]


async def _assigned(place: Workplace, frozen: FrozenClock) -> tuple[Staff, Staff, str, str]:
    async with place.open() as work:
        li = await _staff(work.session, "Li Wei", "zh", ZH_CHAT)
        emma = await _staff(work.session, "Emma Stone", "en", EN_CHAT)
        await _waiting(work.session, "Ann")
    async with place.open() as work:
        await _waiting(work.session, "Bob")
    async with place.open() as work:
        assert await handoff.assignment_tick(work) == (0, 2)
    # Oldest first, and the tie between two agents who never took anything goes to the first one.
    return li, emma, "已将客户 Ann 分配给您", "Bob was assigned to you"


async def _requeued(place: Workplace, frozen: FrozenClock) -> tuple[Staff, Staff, str, str]:
    li, emma, _, _ = await _assigned(place, frozen)
    frozen.advance(minutes=6)  # neither answered their customer within HANDOFF_REASSIGN_MINUTES (5)
    async with place.open() as work:
        requeued, _ = await handoff.assignment_tick(work)
    assert requeued == 2
    # The whole team hears of both; each reads about their colleague's silence in their own language.
    return (li, emma, "与 Bob 的会话已重新排队：Emma Stone 在 5 分钟内未回复。",
            "Conversation with Ann is back in the queue: Li Wei did not answer within 5 minutes.")


async def _transfer_both_ways(place: Workplace, note: str) -> tuple[Staff, Staff]:
    async with place.open() as work:
        li = await _staff(work.session, "Li Wei", "zh", ZH_CHAT)
        emma = await _staff(work.session, "Emma Stone", "en", EN_CHAT)
        conversation = await _waiting(work.session, "Ann")
    async with place.open(Actor.staff(li.id)) as work:
        await handoff.take_over(work, conversation.id)
        await handoff.transfer(work, conversation.id, emma.id, note)
    async with place.open(Actor.staff(emma.id)) as work:
        await handoff.transfer(work, conversation.id, li.id, note)
    return li, emma


async def _transferred(place: Workplace, frozen: FrozenClock) -> tuple[Staff, Staff, str, str]:
    li, emma = await _transfer_both_ways(place, "")
    return li, emma, "Emma Stone 将与 Ann 的会话转交给您", "Li Wei transferred a conversation with Ann to you"


async def _transferred_with_note(place: Workplace, frozen: FrozenClock) -> tuple[Staff, Staff, str, str]:
    li, emma = await _transfer_both_ways(place, "VIP")
    return (li, emma, "Emma Stone 将与 Ann 的会话转交给您：VIP",
            "Li Wei transferred a conversation with Ann to you: VIP")


async def _follow_up(place: Workplace, frozen: FrozenClock) -> tuple[Staff, Staff, str, str]:
    async with place.open() as work:
        li = await _staff(work.session, "Li Wei", "zh", ZH_CHAT, team="repair", is_team_lead=True)
        emma = await _staff(work.session, "Emma Stone", "en", EN_CHAT, team="sales", is_team_lead=True)
        ann = (await _waiting(work.session, "Ann")).customer_id
        bob = (await _waiting(work.session, "Bob")).customer_id
        survey = await surveys.create_survey(work.session, subject_type="ticket", subject_id=1, customer_id=ann,
                                             staff_id=li.id)
        revisit = await revisits.schedule_revisit(work.session, customer_id=bob, reason="periodic", subject_id=1,
                                                  due_at=clock.now(), settings=SETTINGS)
    assert survey is not None and revisit is not None
    async with place.open(Actor.customer(ann)) as work:  # a low score: the lead of the repairer's team
        result = await surveys.answer(work.session, survey.id, score=1, customer_id=ann,
                                      notify=partial(notify_staff, work))
    assert result.follow_up is not None and result.follow_up.assignee_id == li.id
    async with place.open(Actor.customer(bob)) as work:  # "I need help": the lead with the fewest open tasks
        await revisits.answer(work.session, revisit.id, "need_help", customer_id=bob,
                              notify=partial(notify_staff, work))
    return (li, emma, "需要回访客户 Ann：满意度评分低",
            "Follow-up needed for Bob: the customer asked for help at a revisit")


async def _two_listings(place: Workplace, li_days: int = 0) -> tuple[Staff, Staff, Listing, Listing]:
    async with place.open() as work:
        li = await _staff(work.session, "Li Wei", "zh", ZH_CHAT)
        emma = await _staff(work.session, "Emma Stone", "en", EN_CHAT)
        mine, hers = (Listing(ref_code=ref, deal_type="rent", property_type="apartment", city="Beijing",
                              price=Decimal(8000), area_m2=80.0, agent_id=agent.id)
                      for ref, agent in (("R-LI-1", li), ("R-EM-1", emma)))
        work.session.add_all([mine, hers])
    return li, emma, mine, hers


async def _listing_stale(place: Workplace, frozen: FrozenClock) -> tuple[Staff, Staff, str, str]:
    li, emma, _, _ = await _two_listings(place)
    frozen.advance(days=SETTINGS.verify_rent_days + 1)
    async with place.open() as work:
        assert await verification.tick(work) == (2, 0)
    return (li, emma, "房源 R-LI-1 已经 15 天未核实：请确认是否仍可租售并核实，否则 7 天后将不再推荐。",
            "Listing R-EM-1 was last verified 15 days ago: check it is still available and verify it, or it stops "
            "being recommended in 7 days.")


async def _reports(place: Workplace, times: int) -> tuple[Staff, Staff]:
    li, emma, mine, hers = await _two_listings(place)
    for _ in range(times):
        async with place.open() as work:
            customer = Customer(telegram_user_id=next(_ids), first_name="Ann", language="en", tags=[])
            work.session.add(customer)
            await work.session.flush()
            for listing in (mine, hers):
                await verification.report(work, await work.session.get(Listing, listing.id), customer.id, "taken")
    return li, emma


async def _listing_report(place: Workplace, frozen: FrozenClock) -> tuple[Staff, Staff, str, str]:
    li, emma = await _reports(place, 1)
    return li, emma, "有客户反馈房源 R-LI-1：已经租出或售出。请核实。", \
        "A customer reported listing R-EM-1: already rented or sold. Check it and verify it."


async def _listing_paused(place: Workplace, frozen: FrozenClock) -> tuple[Staff, Staff, str, str]:
    li, emma = await _reports(place, SETTINGS.listing_reports_to_pause)
    return li, emma, "房源 R-LI-1 已被反馈 2 次（最近一次：已经租出或售出），在您核实之前不再推荐。", \
        "Listing R-EM-1 was reported 2 times (latest: already rented or sold); it is no longer recommended until " \
        "you verify it."


async def _owner_lead(place: Workplace, frozen: FrozenClock) -> tuple[Staff, Staff, str, str]:
    async with place.open() as work:
        work.session.add(District(city="Beijing", name="Wangjing", name_zh="望京", aliases=[], neighbours=[]))
        li = await _staff(work.session, "Li Wei", "zh", ZH_CHAT)
        emma = await _staff(work.session, "Emma Stone", "en", EN_CHAT)
        customer = Customer(telegram_user_id=next(_ids), first_name="Olga", language="en", tags=[])
        work.session.add(customer)
        await work.session.flush()
        await owner_leads.create_lead(work, customer, request="call", valuation={}, intake={
            "intent": "let", "district": "Wangjing", "area_m2": 85.0, "bedrooms": 2})
    return (li, emma, "新业主线索：Olga，出租，望京，85 m²，2室。需求：请经纪人打电话。",
            "New owner lead from Olga: to let, Wangjing, 85 m², 2 br. They asked: an agent's call.")


async def _team_transfer(place: Workplace, note: str) -> tuple[Staff, Staff]:
    """Olga (the owner) hands Ann's chat to the complaint team: Li and Emma, its other members, are told."""
    async with place.open() as work:
        li = await _staff(work.session, "Li Wei", "zh", ZH_CHAT, team="complaints")
        emma = await _staff(work.session, "Emma Stone", "en", EN_CHAT, team="complaints")
        olga = await _staff(work.session, "Olga Owner", "en", 555_003, team="complaints")
        conversation = await _waiting(work.session, "Ann")
    async with place.open(Actor.staff(olga.id)) as work:
        await handoff.take_over(work, conversation.id)
        await handoff.transfer_to_team(work, conversation.id, "complaints", note)
    return li, emma


async def _team_waiting(place: Workplace, frozen: FrozenClock) -> tuple[Staff, Staff, str, str]:
    li, emma = await _team_transfer(place, "")
    return (li, emma, "Olga Owner 将与 Ann 的会话转交给您的团队（投诉团队），正在等待你们中的一位接手。",
            "Olga Owner transferred a conversation with Ann to your team (complaint team); it is waiting for one "
            "of you.")


async def _team_waiting_with_note(place: Workplace, frozen: FrozenClock) -> tuple[Staff, Staff, str, str]:
    li, emma = await _team_transfer(place, "lift")
    return (li, emma, "Olga Owner 将与 Ann 的会话转交给您的团队（投诉团队），正在等待你们中的一位接手：lift",
            "Olga Owner transferred a conversation with Ann to your team (complaint team); it is waiting for one "
            "of you: lift")


WEEKDAYS = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


async def _viewings_by_the_desk(place: Workplace, frozen: FrozenClock, change: str) -> tuple[Staff, Staff]:
    """Olga at the desk books (and moves or cancels) a viewing of Li's home and one of Emma's for Ann."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from storage.models import Listing
    from storage.services import on_behalf

    async with place.open() as work:
        li = await _staff(work.session, "Li Wei", "zh", ZH_CHAT, working_hours=WEEKDAYS)
        emma = await _staff(work.session, "Emma Stone", "en", EN_CHAT, working_hours=WEEKDAYS)
        olga = await _staff(work.session, "Olga Owner", "en", 555_003)
        homes = [Listing(ref_code=f"R-{n}", deal_type="rent", property_type="apartment", city="Beijing",
                         district_name="Chaoyang", price=Decimal(9000), agent_id=agent.id)
                 for n, agent in enumerate((li, emma))]
        work.session.add_all(homes)
        ann = (await _waiting(work.session, "Ann")).customer_id
    for home in homes:  # Wednesday 4 March 10:00 Shanghai, moved to 15:00
        async with place.open(Actor.staff(olga.id)) as work:
            viewing = await on_behalf.book_viewing(work, ann, home.id, datetime(2026, 3, 4, 2, tzinfo=UTC))
        if change == "moved":
            async with place.open(Actor.staff(olga.id)) as work:
                await on_behalf.reschedule_viewing(work, viewing.id, datetime(2026, 3, 4, 7, tzinfo=UTC))
        if change == "cancelled":
            async with place.open(Actor.staff(olga.id)) as work:
                await on_behalf.cancel_viewing(work, viewing.id)
    return li, emma


async def _viewing_booked_for(place: Workplace, frozen: FrozenClock) -> tuple[Staff, Staff, str, str]:
    li, emma = await _viewings_by_the_desk(place, frozen, "booked")
    return li, emma, "Olga Owner 为 Ann 预约了看房：R-0，3月4日 周三 10:00。", \
        "Olga Owner booked a viewing for Ann: R-1, Wed 4 Mar, 10:00."


async def _viewing_moved_for(place: Workplace, frozen: FrozenClock) -> tuple[Staff, Staff, str, str]:
    li, emma = await _viewings_by_the_desk(place, frozen, "moved")
    return li, emma, "Olga Owner 将 Ann 看 R-0 的时间改到 3月4日 周三 15:00。", \
        "Olga Owner moved Ann's viewing of R-1 to Wed 4 Mar, 15:00."


async def _viewing_cancelled_for(place: Workplace, frozen: FrozenClock) -> tuple[Staff, Staff, str, str]:
    li, emma = await _viewings_by_the_desk(place, frozen, "cancelled")
    return li, emma, "Olga Owner 取消了 Ann 在 3月4日 周三 10:00 看 R-0 的预约。", \
        "Olga Owner cancelled Ann's viewing of R-1 on Wed 4 Mar, 10:00."


SCENARIOS: dict[str, Scenario] = {
    "listing_stale": _listing_stale,
    "listing_report": _listing_report,
    "listing_paused": _listing_paused,
    "owner_lead": _owner_lead,
    "assigned": _assigned,
    "requeued": _requeued,
    "transferred": _transferred,
    "transferred_with_note": _transferred_with_note,
    "follow_up": _follow_up,
    "team_waiting": _team_waiting,
    "team_waiting_with_note": _team_waiting_with_note,
    "viewing_booked_for": _viewing_booked_for,
    "viewing_moved_for": _viewing_moved_for,
    "viewing_cancelled_for": _viewing_cancelled_for,
}


def test_every_staff_notice_kind_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(STAFF_NOTICES)


def test_every_follow_up_reason_is_worded_for_staff() -> None:
    assert set(FOLLOW_UP_REASONS) == set(surveys.FOLLOW_UP_REASONS)


@pytest.mark.parametrize("kind", sorted(SCENARIOS))
async def test_staff_notice_reaches_each_person_in_their_language(any_sessions, frozen_clock, kind) -> None:
    li, emma, for_li, for_emma = await SCENARIOS[kind](workplace(any_sessions), frozen_clock)
    for person, expected in ((li, for_li), (emma, for_emma)):
        console, telegram = await _told(any_sessions, person)
        assert expected in console, (person.language, console)
        assert expected in telegram, (person.language, telegram)
    # Nobody reads the other language.
    li_console, li_telegram = await _told(any_sessions, li)
    emma_console, emma_telegram = await _told(any_sessions, emma)
    assert all(any("\u4e00" <= c <= "\u9fff" for c in text) for text in li_console + li_telegram)
    assert not any("\u4e00" <= c <= "\u9fff" for text in emma_console + emma_telegram for c in text)
