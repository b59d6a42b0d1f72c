"""Issue 16: customer journeys without dead ends, one test per defect, through the engine (FakeCustomer).

1 names in the customer's language · 2 the language follows what the customer writes · 3 receipts are never
edited away · 4 self-service while a person owns the chat · 5 a reply keyboard never outlives its question ·
6 alerts that fit · 7 the small things.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from dialogs import alerts
from dialogs import reminders as reminder_tick
from dialogs.inbound import Inbound
from dialogs.replies import AskContact, Photo, Say
from storage.models import Conversation, Customer, Listing, ListingPhoto, OutboxMessage, Ticket
from storage.services import tickets
from storage.settings import load_settings
from storage.text import has_chinese
from tests import factories
from tests.dialogs.helpers import FakeCustomer
from tests.journey_data import seed
from tests.workplace import SETTINGS, workplace_for

OFFICE_HOURS = load_settings(business_hours="09:00-18:00", business_days="mon,tue,wed,thu,fri",
                             timezone="Asia/Shanghai")


def labels(reply) -> list[str]:
    return [c.label for row in getattr(reply, "choices", []) for c in row]


def tokens(reply) -> list[str]:
    return [c.token for row in getattr(reply, "choices", []) for c in row]


def text_of(reply) -> str:
    return getattr(reply, "text", None) or getattr(reply, "caption", "")


def token_labelled(replies, label: str) -> str:
    for reply in reversed(replies):
        for row in getattr(reply, "choices", []):
            for choice in row:
                if choice.label == label:
                    return choice.token
    raise AssertionError(f"no button {label!r} in {replies!r}")


async def _customer_row(sessions, user_id: int) -> Customer:
    async with sessions() as session:
        return await session.scalar(select(Customer).where(Customer.telegram_user_id == user_id))


async def _known(sessions, user_id: int, *, language: str = "en", phone: str | None = None) -> None:
    async with sessions() as session, session.begin():
        session.add(Customer(telegram_user_id=user_id, chat_id=user_id, first_name="C", language=language,
                             phone=phone))


# ---- 1. names in the customer's language -------------------------------------------------------------------


async def test_1_a_chinese_booking_names_the_home_in_chinese_everywhere(sessions, frozen_clock) -> None:
    ids = await seed(sessions)
    await _known(sessions, 1601, language="zh", phone="13900001601")
    li = FakeCustomer(sessions, user_id=1601, language_code="zh-hans")
    replies = await li.press(f"book:l:{ids['R-WJ-201']}")
    assert "看房：望京公寓" in replies[0].text and "Wangjing" not in replies[0].text
    replies = await li.press(f"book:d:{ids['R-WJ-201']}:20260304")
    replies = await li.press(tokens(replies[0])[2])  # 10:00
    booked = replies[0].text
    assert booked.startswith("预约成功") and "望京公寓" in booked and "Wangjing" not in booked
    replies = await li.command("viewings")
    assert "望京公寓" in replies[0].text and "Wangjing" not in replies[0].text
    frozen_clock.set(frozen_clock.now().replace(day=3, hour=2))  # Tue 10:00 in Shanghai: a day before
    await reminder_tick.tick(workplace_for(sessions))
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == 1601)
                                      .order_by(OutboxMessage.id))).all()
    reminder = rows[-1].payload["text"]
    assert reminder.startswith("提醒") and "望京" in reminder and "Wangjing" not in reminder
    assert "3月4日 周三 10:00" in reminder  # the same way as every other time the bot writes


# ---- 2. the language follows what the customer writes ------------------------------------------------------


async def test_2_a_chinese_request_from_an_english_app_is_answered_in_chinese(sessions, frozen_clock) -> None:
    await seed(sessions)
    mei = FakeCustomer(sessions, user_id=1602, language_code="en")
    replies = await mei.text("想在朝阳租一居室 预算六千以内")
    assert replies and all(has_chinese(text_of(r)) for r in replies if text_of(r))
    assert "Here is what" not in replies[0].text
    replies = await mei.command("help")  # remembered, although the app still says "en"
    assert replies[0].text.startswith("我可以为您做这些")
    assert (await _customer_row(sessions, 1602)).language == "zh"
    replies = await mei.text("Wangjing")  # one ambiguous word does not flip it back
    assert has_chinese(replies[0].text)
    await mei.command("language")
    await mei.press("menu:lang:en")  # an explicit choice wins over what they write
    replies = await mei.text("想在朝阳租两居室 预算八千以内")
    assert not has_chinese(replies[0].text.replace("朝阳", ""))


async def test_2_a_single_chinese_word_does_not_flip_an_english_customer(sessions, frozen_clock) -> None:
    await seed(sessions)
    ann = FakeCustomer(sessions, user_id=1603, language_code="en")
    replies = await ann.text("望京")
    assert replies[0].text.startswith("Sorry") or "Districts" in replies[0].text or "Got it" in replies[0].text
    assert (await _customer_row(sessions, 1603)).language == "en"


# ---- 3. receipts are never edited away ----------------------------------------------------------------------


async def test_3_navigation_from_a_receipt_sends_a_new_message(sessions, frozen_clock) -> None:
    ids = await seed(sessions)
    await _known(sessions, 1604, phone="13900001604")
    fay = FakeCustomer(sessions, user_id=1604)
    replies = await fay.press(f"book:d:{ids['R-WJ-201']}:20260304")
    replies = await fay.press(tokens(replies[0])[2])
    assert replies[0].text.startswith("Booked!")
    replies = await fay.press(token_labelled(replies, "My viewings"))
    assert "Your upcoming viewings" in replies[0].text and replies[0].edit_message_id is None

    async with sessions() as session, session.begin():
        await factories.unit(session, phone="13900001604", handover=date(2020, 1, 1))
    await fay.press("repair:start")
    await fay.send(Inbound(kind="contact", phone="13900001604", contact_is_own=True))
    await fay.press("repair:cat:plumbing")
    await fay.text("The kitchen tap drips")
    await fay.press("repair:photos:done")
    await fay.press("repair:urg:normal")
    replies = await fay.press("repair:acc:any")
    receipt = replies[0]
    assert "R-2026-000001" in receipt.text
    replies = await fay.press(token_labelled([receipt], "Main menu"))
    assert replies[0].text == "Main menu" and replies[0].edit_message_id is None

    async with sessions() as session, session.begin():
        tech = await factories.staff(session)
        ticket = await session.scalar(select(Ticket))
        await tickets.assign(session, ticket, tech.id, by=tech, settings=SETTINGS)
        await tickets.set_quote(session, ticket, "350", staff=tech, settings=SETTINGS)
    await reminder_tick.tick(workplace_for(sessions))
    await fay.text("hello?")  # reads the outbox again
    quote = next(r for r in fay.replies if isinstance(r, Say) and "350.00 CNY" in r.text)
    replies = await fay.press(token_labelled([quote], "Accept the quote"))
    assert "accepted the quote" in replies[0].text and replies[0].edit_message_id is None


async def test_3_survey_thanks_stay(sessions, frozen_clock) -> None:
    from storage.models import Survey

    ivy = FakeCustomer(sessions, user_id=1605)
    await ivy.command("start")
    async with sessions() as session, session.begin():
        conversation = await session.scalar(select(Conversation))
        survey = Survey(subject_type="conversation", subject_id=conversation.id,
                        customer_id=conversation.customer_id, sent_at=frozen_clock.now())
        session.add(survey)
        await session.flush()
        survey_id = survey.id
    replies = await ivy.press(f"survey:r:{survey_id}:4")
    assert "You rated us 4 of 5" in replies[0].text
    replies = await ivy.press(token_labelled(replies, "Skip"))
    assert replies[0].text == "Thank you for your feedback!" and replies[0].edit_message_id is None


# ---- 4. not stuck while a person owns the chat ------------------------------------------------------------


async def _complain(customer: FakeCustomer) -> list:
    await customer.press("complaint:start")
    await customer.press("complaint:cat:service_attitude")
    await customer.text("Nobody called me back")
    return await customer.press("complaint:photos:done")


async def test_4_self_service_answers_while_waiting_for_a_person(sessions, frozen_clock) -> None:
    dan = FakeCustomer(sessions, user_id=1606, settings=OFFICE_HOURS)
    await _complain(dan)
    replies = await dan.press("tickets:start")
    assert replies and replies[0].text == "Your requests:" and any("C-2026-000001" in x for x in labels(replies[0]))
    replies = await dan.press("vw:start")
    assert replies and "no upcoming viewings" in replies[0].text
    for command in ("start", "help", "language"):
        replies = await dan.command(command)
        assert replies, command
    replies = await dan.command("start")
    assert "Cancel my request for a person" in labels(replies[0])
    replies = await dan.press("repair:start")  # a new self-service flow: answered, and the way out offered
    assert replies and "line" in replies[0].text
    assert "Cancel my request for a person" in " ".join(labels(replies[0]))
    assert await dan.text("Are you there? I am still waiting") == []  # chatting goes to the person
    replies = await dan.press(token_labelled(replies, "Cancel my request for a person and continue"))
    assert "What needs repairing" in replies[-1].text or "phone number" in replies[-1].text
    async with sessions() as session:
        assert (await session.scalar(select(Conversation))).mode == "bot"


async def test_4_at_night_the_customer_keeps_options_and_can_leave_the_queue(sessions, frozen_clock) -> None:
    frozen_clock.advance(hours=12)  # Monday 21:00 in Shanghai
    eve = FakeCustomer(sessions, user_id=1607, settings=OFFICE_HOURS)
    replies = await _complain(eve)
    queue = replies[-1]
    assert "Tue 3 Mar, 09:00" in queue.text
    assert {"Leave a message", "My requests", "Cancel my request for a person"} <= set(labels(queue))
    replies = await eve.press(token_labelled([queue], "Leave a message"))
    assert "Cancel my request for a person" in labels(replies[0])
    replies = await eve.press(token_labelled(replies, "Cancel my request for a person"))
    assert replies[0].text.startswith("You are back with the assistant")
    async with sessions() as session:
        assert (await session.scalar(select(Conversation))).mode == "bot"


async def test_4_with_a_person_the_customer_still_sees_their_data(sessions, frozen_clock) -> None:
    gus = FakeCustomer(sessions, user_id=1608, settings=OFFICE_HOURS)
    await gus.command("start")
    async with sessions() as session, session.begin():
        (await session.scalar(select(Conversation))).mode = "human"
    assert await gus.text("hello?") == []
    assert (await gus.command("start"))[0].choices
    replies = await gus.press("tickets:start")
    assert replies[0].text == "You have no requests yet."
    replies = await gus.press("need:start")
    assert replies and "person" in replies[0].text


# ---- 5. a reply keyboard never outlives its question -----------------------------------------------------


async def test_5_a_stranger_is_left_without_the_share_phone_keyboard(sessions, frozen_clock) -> None:
    async with sessions() as session, session.begin():
        await factories.unit(session)
    zoe = FakeCustomer(sessions, user_id=1609)
    replies = await zoe.press("repair:start")
    assert isinstance(replies[0], AskContact)
    replies = await zoe.send(Inbound(kind="contact", phone="13900000000", contact_is_own=True))
    assert "could not find" in replies[0].text
    removing = [r for r in replies if isinstance(r, Say) and r.remove_keyboard]
    assert removing and not removing[0].choices and not removing[0].edit  # a message that can carry the removal
    assert "complaint:start" in tokens(replies[-1])


async def test_5_leaving_the_phone_question_by_a_button_removes_the_keyboard(sessions, frozen_clock) -> None:
    ids = await seed(sessions)
    kim = FakeCustomer(sessions, user_id=1610)
    replies = await kim.press(f"book:l:{ids['R-WJ-201']}")
    assert isinstance(replies[0], AskContact)
    replies = await kim.press("menu:main")  # from an older message: the phone is no longer asked
    removing = [r for r in replies if isinstance(r, Say) and r.remove_keyboard]
    assert removing and not removing[0].choices and not removing[0].edit
    replies = await kim.command("start")
    assert not any(isinstance(r, Say) and r.remove_keyboard for r in replies)  # removed once, not every time


# ---- 6. alerts that fit -----------------------------------------------------------------------------------


async def _listing(sessions, ref: str, price: int, district: str = "Wangjing", bedrooms: int = 2) -> int:
    async with sessions() as session, session.begin():
        from storage.models import District

        place = await session.scalar(select(District).where(District.name == district))
        source = await session.scalar(select(Listing).where(Listing.ref_code == "R-WJ-201"))
        listing = Listing(ref_code=ref, deal_type="rent", property_type="apartment", city="Beijing",
                          district_id=place.id, district_name=district, price=Decimal(price), bedrooms=bedrooms,
                          area_m2=80.0, status="active", features=[], lat=place.lat, lon=place.lon,
                          agent_id=source.agent_id, available_from=date(2026, 3, 1),
                          photos=[ListingPhoto(position=0, url=f"https://img.test/{ref}.jpg")])
        session.add(listing)
        await session.flush()
        return listing.id


async def _alerts_for(sessions, chat_id: int) -> list[str]:
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == chat_id)
                                      .order_by(OutboxMessage.id))).all()
    return [r.payload.get("caption") or r.payload.get("text") or "" for r in rows
            if "🔔" in (r.payload.get("caption") or r.payload.get("text") or "")]


async def test_6_alerts_start_when_the_search_is_saved_and_fit_it(sessions, frozen_clock) -> None:
    await seed(sessions)
    frozen_clock.advance(minutes=5)
    await _listing(sessions, "OLD-1", 7600)  # on the market before the search was saved
    frozen_clock.advance(minutes=5)
    ann = FakeCustomer(sessions, user_id=1611)
    await ann.text("2-bedroom to rent in Wangjing under 8000")  # complete: saved, matches at once
    frozen_clock.advance(minutes=1)
    assert await alerts.tick(workplace_for(sessions)) == 0
    assert await _alerts_for(sessions, 1611) == []

    frozen_clock.advance(minutes=5)
    await _listing(sessions, "NEAR-1", 7000, district="Chaoyang")  # another district
    await _listing(sessions, "OVER-1", 8600)  # over the cap, within the ranking's tolerance
    frozen_clock.advance(minutes=1)
    await alerts.tick(workplace_for(sessions))
    sent = await _alerts_for(sessions, 1611)
    assert not any("NEAR-1" in a for a in sent)
    assert all("⚠️" in a for a in sent if "OVER-1" in a)  # never over the budget without saying so

    fresh = await _listing(sessions, "NEW-1", 7700)
    async with sessions() as session, session.begin():  # the customer is in the middle of booking
        conversation = await session.scalar(select(Conversation).where(
            Conversation.customer_id == (await _customer_row(sessions, 1611)).id))
        conversation.flow, conversation.step = "book", "day"
        conversation.last_customer_message_at = frozen_clock.now()
    frozen_clock.advance(minutes=1)
    await alerts.tick(workplace_for(sessions))
    assert not any("NEW-1" in a for a in await _alerts_for(sessions, 1611))
    async with sessions() as session, session.begin():
        conversation = await session.scalar(select(Conversation).where(Conversation.id == conversation.id))
        conversation.flow = conversation.step = None
    await alerts.tick(workplace_for(sessions))
    assert any("NEW-1" in a for a in await _alerts_for(sessions, 1611))
    assert fresh


async def test_6_an_alert_never_repeats_a_home_shown_as_a_card(sessions, frozen_clock) -> None:
    ids = await seed(sessions)
    ann = FakeCustomer(sessions, user_id=1612)
    replies = await ann.text("2-bedroom to rent in Wangjing under 10k")  # saved, card 1 shown at once
    shown = next(ref for ref in ("R-WJ-201", "R-WJ-202") if ref in replies[-1].caption)
    frozen_clock.advance(minutes=5)
    async with sessions() as session, session.begin():
        listing = await session.get(Listing, ids[shown])
        listing.previous_price, listing.price = listing.price, listing.price - 300
    frozen_clock.advance(minutes=1)
    await alerts.tick(workplace_for(sessions))
    assert await _alerts_for(sessions, 1612) == []


# ---- 7. small things ----------------------------------------------------------------------------------------


async def test_7_talk_to_a_person_is_offered_once(sessions, frozen_clock) -> None:
    ann = FakeCustomer(sessions, user_id=1613)
    await ann.text("qwertyuiop")
    replies = await ann.text("asdfghjkl")
    assert tokens(replies[0]).count("handoff:start") == 1


async def test_7_a_complete_sentence_shows_results_at_once(sessions, frozen_clock) -> None:
    await seed(sessions)
    ann = FakeCustomer(sessions, user_id=1614)
    replies = await ann.text("2-bedroom to rent near Wangjing under 8k from March")
    summary, card = replies[0], replies[-1]
    assert "Here is what you are looking for" in summary.text and "need:open:rent" in tokens(summary)
    assert isinstance(card, Photo) and "R-WJ-201" in card.caption


async def test_7_an_owner_with_one_home_is_not_asked_which(sessions, frozen_clock) -> None:
    async with sessions() as session, session.begin():
        await factories.unit(session)
    ann = FakeCustomer(sessions, user_id=1615)
    await ann.press("repair:start")
    replies = await ann.send(Inbound(kind="contact", phone="13800138000", contact_is_own=True))
    assert not any("Which home" in text_of(r) for r in replies)
    assert "What needs repairing?" in replies[-1].text
    replies = await ann.press("repair:start")  # a second repair: straight to the category as well
    assert "What needs repairing?" in replies[0].text


async def test_7_photos_counted_in_words_and_cancel_on_every_question(sessions, frozen_clock) -> None:
    async with sessions() as session, session.begin():
        await factories.unit(session)
    ann = FakeCustomer(sessions, user_id=1616)
    await ann.press("repair:start")
    await ann.send(Inbound(kind="contact", phone="13800138000", contact_is_own=True))
    replies = await ann.press("repair:cat:plumbing")
    assert "describe the problem" in replies[0].text and "Cancel" in labels(replies[0])
    await ann.text("The tap drips")
    replies = await ann.send(Inbound(kind="photo", photo_file_ids=("p1",)))
    assert replies[0].text.startswith("Got 1 photo.")
    replies = await ann.send(Inbound(kind="photo", photo_file_ids=("p2",)))
    assert replies[0].text.startswith("Got 2 photos.")
    replies = await ann.press("repair:photos:done")
    assert "How urgent" in replies[0].text and "Cancel" in labels(replies[0])
    zh = FakeCustomer(sessions, user_id=1617, language_code="zh")
    await zh.press("complaint:start")
    await zh.press("complaint:cat:service_attitude")
    await zh.text("态度很差")
    replies = await zh.send(Inbound(kind="photo", photo_file_ids=("p3",)))
    assert replies[0].text.startswith("已收到 1 张照片") and "(s)" not in replies[0].text


async def test_7_handoff_times_read_like_every_other_time(sessions, frozen_clock) -> None:
    frozen_clock.advance(hours=12)
    replies = await FakeCustomer(sessions, user_id=1618, settings=OFFICE_HOURS).text("human")
    assert "Tue 3 Mar, 09:00" in replies[0].text and "2026-03-03" not in replies[0].text
    replies = await FakeCustomer(sessions, user_id=1619, settings=OFFICE_HOURS, language_code="zh").text("人工")
    assert "3月3日 周二 09:00" in replies[0].text


async def test_7_the_viewing_question_names_the_reference(sessions, frozen_clock) -> None:
    ids = await seed(sessions)
    await _known(sessions, 1620, phone="13900001620")
    replies = await FakeCustomer(sessions, user_id=1620).press(f"book:l:{ids['R-WJ-201']}")
    assert "Viewing: Apartment in Wangjing (R-WJ-201)" in replies[0].text


async def test_7_a_card_over_budget_never_ranks_above_one_within_it(sessions, frozen_clock) -> None:
    await seed(sessions)
    await _listing(sessions, "WJ-OVER", 8240)  # 3 % over, in the district asked for
    await _listing(sessions, "CY-UNDER", 7500, district="Chaoyang")  # within budget, next door
    ann = FakeCustomer(sessions, user_id=1621)
    await ann.text("2-bedroom to rent in Wangjing under 8000")
    order = []
    for position in range(3):
        replies = await ann.press(f"rec:s:rent:{position}")
        order.append(replies[-1].caption.split("·")[1].split()[0])
    assert order.index("CY-UNDER") < order.index("WJ-OVER"), order
