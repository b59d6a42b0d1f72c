"""The owner intake: one sentence or step by step, the valuation with comparables, a call or a draft listing."""

from __future__ import annotations

from sqlalchemy import select

from dialogs.flows.owners import owner_intent, read_sentence
from dialogs.replies import AskContact, Photo, Say
from storage.models import Listing, OwnerLead, StaffNotification
from tests.dialogs.helpers import FakeCustomer
from tests.journey_data import seed
from tests.owner_data import seed_comparables


def texts(replies):
    return [getattr(r, "text", None) or getattr(r, "caption", "") for r in replies]


def test_owner_intent_phrases():
    for text in ("I want to sell my flat", "selling my apartment in Wangjing", "我想卖房", "我家朝阳的4室想出售"):
        assert owner_intent(text) == "sell", text
    # A bare 出售 / "for sale" is how listing sites describe what a buyer wants: never an owner on its own.
    for text in ("出售 朝阳 4室", "望京出售的两居", "2-bed for sale in Wangjing"):
        assert owner_intent(text) is None, text
    for text in ("let out my home", "I'd like to rent out my apartment", "rent my flat out", "我想出租我的房子",
                 "出租我的两居室"):
        assert owner_intent(text) == "let", text
    for text in ("2-bedroom to rent near Wangjing", "I want to buy a flat", "想在望京租两居室", "let me know"):
        assert owner_intent(text) is None, text


async def test_sentence_reads_every_field(sessions, frozen_clock):
    from datetime import date

    from matching.districts import load_district_index

    await seed(sessions)
    async with sessions() as session:
        index = await load_district_index(session)
    found = read_sentence("I want to sell my 2-bedroom flat in Wangjing, 89 m², 12th floor, renovated, "
                          "expect 6 million", index, date(2026, 3, 2))
    assert found == {"intent": "sell", "district": "Wangjing", "area_m2": 89.0, "bedrooms": 2, "floor": 12,
                     "decoration": "fine", "price": 6_000_000.0}
    zh = read_sentence("我想卖房 望京 两居 89平 12楼 精装 600万", index, date(2026, 3, 2))
    assert zh == {"intent": "sell", "district": "Wangjing", "area_m2": 89.0, "bedrooms": 2, "floor": 12,
                  "decoration": "fine", "price": 6_000_000.0}


async def test_one_sentence_valuation_then_a_call(sessions, frozen_clock):
    ids = await seed(sessions)
    await seed_comparables(sessions)
    ann = FakeCustomer(sessions)
    replies = await ann.text("I want to sell my 2-bedroom flat in Wangjing, 89 m², 12th floor, renovated, "
                             "expect 6 million")
    # Only the optional questions left: when it is available and photos.
    assert "When is it available?" in replies[-1].text
    await ann.press_label("Skip")
    replies = await ann.press_label("Done")
    valuation = replies[0]
    assert isinstance(valuation, Say) and "Valuation: ¥5,670,000 – ¥6,140,000" in valuation.text
    assert "Based on 4 comparable listings." in valuation.text
    cards = [r for r in replies if isinstance(r, Photo)]
    assert [c.caption.split(" · ")[1].split("\n")[0] for c in cards] == ["S-WJ-501", "S-WJ-502", "S-WJ-503"]
    replies = await ann.press_label("📞 Ask an agent to call me")
    assert isinstance(replies[0], AskContact)
    replies = await ann.text("13800138000")
    assert "An agent will call you soon" in replies[-1].text
    async with sessions() as session:
        lead = await session.scalar(select(OwnerLead))
        assert (lead.intent, lead.request, lead.status, lead.phone) == ("sell", "call", "new", "13800138000")
        assert lead.intake["area_m2"] == 89.0 and lead.valuation["count"] == 4 and lead.valuation["low"] == 5_670_000
        notes = (await session.scalars(select(StaffNotification.staff_id))).all()
        assert sorted(notes) == sorted([ids["agent"], ids["agent2"]])


async def test_step_by_step_in_chinese_too_few_comparables(sessions, frozen_clock):
    await seed(sessions)
    bo = FakeCustomer(sessions, language_code="zh", first_name="Bo")
    replies = await bo.command("sell")
    assert "出售还是出租" in replies[-1].text
    await bo.press_label("出租")
    replies = await bo.text("海淀")
    assert "多大" in replies[-1].text
    await bo.text("105平")
    await bo.press_label("3")
    await bo.text("3楼")
    await bo.press_label("简装")
    await bo.text("8500")
    await bo.press_label("现在")
    replies = await bo.press_label("完成")
    assert "只找到 1 套" in replies[0].text
    assert [label for row in replies[-1].choices for label in [c.label for c in row]][:2] == [
        "📞 请经纪人给我打电话", "📝 请帮我挂牌"]
    replies = await bo.press_label("📝 请帮我挂牌")
    async with sessions() as session:
        lead = await session.scalar(select(OwnerLead))
        draft = await session.get(Listing, lead.listing_id)
    assert lead.request == "list" and draft.status == "draft" and draft.deal_type == "rent"
    assert (draft.ref_code, float(draft.price), draft.area_m2, draft.bedrooms, draft.floor) == (
        f"OWN-{lead.id}", 8500.0, 105.0, 3, 3)


async def test_stale_buttons_are_refused(sessions, frozen_clock):
    await seed(sessions)
    ann = FakeCustomer(sessions)
    await ann.command("start")
    for token in ("owner:r:call", "owner:a:rooms:2", "owner:a:nope:1", "owner:a:district:9"):
        replies = await ann.press(token)
        assert "expired" in replies[-1].text, token


async def test_a_misspelled_district_is_asked_back_in_the_readers_language(sessions, frozen_clock):
    await seed(sessions)
    li = FakeCustomer(sessions, language_code="zh", first_name="Li", user_id=1002)
    await li.command("sell")
    await li.press_label("出售")
    replies = await li.text("Haidong")
    question = replies[-1]
    assert "您指的是哪一个" in question.text
    labels = [choice.label for row in question.choices for choice in row]
    assert labels == ["海淀"]
    replies = await li.press_label("海淀")
    assert "房子有多大" in replies[-1].text
    async with sessions() as session:
        from storage.models import Conversation

        conversation = await session.scalar(select(Conversation).order_by(Conversation.id.desc()))
    assert conversation.slots["intake"]["district"] == "Haidian"
    assert "district_candidates" not in conversation.slots["intake"]


async def test_the_community_is_kept_for_the_agent(sessions, frozen_clock):
    await seed(sessions)
    ann = FakeCustomer(sessions, user_id=1003)
    await ann.command("sell")
    await ann.press_label("Let")
    replies = await ann.text("望京SOHO")
    assert "How big is it" in replies[-1].text
    async with sessions() as session:
        from storage.models import Conversation

        conversation = await session.scalar(select(Conversation).order_by(Conversation.id.desc()))
    assert (conversation.slots["intake"]["district"], conversation.slots["intake"]["community"]) == (
        "Wangjing", "望京SOHO")
