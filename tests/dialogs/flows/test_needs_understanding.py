"""Issue 15 §1 in the needs dialog, in English and Chinese: values that cannot be right are asked again (quoting the
customer), a deal type read from the budget's size and a dollar budget's conversion are said back, an owner's
sentence does not become a search, decoration and partly furnished are kept."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Conversation, Need
from tests.dialogs.flows.test_journeys import labels, tokens
from tests.dialogs.helpers import FakeCustomer
from tests.journey_data import seed


async def _slots(sessions, customer: FakeCustomer) -> dict:
    async with sessions() as session:
        conversation = await session.scalar(select(Conversation).order_by(Conversation.id.desc()))
        return dict(conversation.slots or {})


async def test_too_many_bedrooms_are_asked_again_in_english(sessions, frozen_clock) -> None:
    await seed(sessions)
    ann = FakeCustomer(sessions, user_id=3101, language_code="en")
    replies = await ann.text("rent 9999999999 bedrooms in Wangjing under 8k")
    last = replies[-1]
    assert "You wrote “9999999999 bedrooms”" in last.text and "How many bedrooms do you need?" in last.text
    assert labels(last)[:2] == ["Studio", "1"]  # the bedrooms question's own buttons
    criteria = (await _slots(sessions, ann))["criteria"]
    assert criteria["bedrooms_min"] is None and criteria["budget_max"] == 8000  # never a budget, never 9 rooms
    replies = await ann.press("need:rooms:2-2")
    async with sessions() as session:
        assert await session.scalar(select(func.count(Need.id))) == 0  # nothing saved on a questioned value


async def test_an_impossible_budget_is_asked_again_in_chinese(sessions, frozen_clock) -> None:
    await seed(sessions)
    han = FakeCustomer(sessions, user_id=3102, language_code="zh-CN")
    replies = await han.text("望京 两居 租房 预算-5000")
    last = replies[-1]
    assert "您填写的预算是“-5000”" in last.text and "请问您的预算是多少" in last.text
    criteria = (await _slots(sessions, han))["criteria"]
    assert criteria["budget_max"] is None and criteria["districts"] == ["Wangjing"]
    assert "questioned" not in criteria  # asked once; the answer decides
    replies = await han.text("1e309")
    assert "您填写的预算是“1e309”" in replies[-1].text  # still not a number anyone means: asked again
    replies = await han.text("8000")
    assert "8000" not in (await _slots(sessions, han)).get("questioned", "")
    assert (await _slots(sessions, han))["criteria"]["budget_max"] == 8000


async def test_an_inferred_deal_type_is_said_back_in_english(sessions, frozen_clock) -> None:
    await seed(sessions)
    ann = FakeCustomer(sessions, user_id=3103, language_code="en")
    replies = await ann.text("2 bedrooms near Wangjing, 8000 max")
    summary = replies[0]
    assert "Rent or buy: Rent" in summary.text
    assert "I took it as renting from the size of the budget" in summary.text
    assert tokens(summary) == ["need:open:rent"]  # the customer can correct it at once
    async with sessions() as session:
        need = await session.scalar(select(Need))
        assert need.deal_type == "rent" and need.criteria["deal_type_inferred"] is True


async def test_a_dollar_budget_is_converted_and_said_back_in_chinese(sessions, frozen_clock) -> None:
    await seed(sessions)
    han = FakeCustomer(sessions, user_id=3104, language_code="zh-CN")
    replies = await han.text("租房 望京 两居 $1,200/month")
    summary = replies[0]
    assert "按 1 美元兑 7.2 元人民币折算：$1,200以内 即 ¥8,640以内" in summary.text
    async with sessions() as session:
        need = await session.scalar(select(Need))
        assert (need.criteria["budget_max"], need.criteria["currency_stated"]) == (8640, "USD")


async def test_an_owner_is_not_turned_into_a_search(sessions, frozen_clock) -> None:
    await seed(sessions)
    ann = FakeCustomer(sessions, user_id=3105, language_code="en")
    replies = await ann.text("I want to sell my 2 bedroom flat in Wangjing")
    assert all("Here is what you are looking for" not in (getattr(r, "text", "") or "") for r in replies)
    han = FakeCustomer(sessions, user_id=3106, language_code="zh-CN")
    replies = await han.text("找房 我想出租我的房子")
    # Routed to the owner intake (issue 15): it has read "let" and asks where the home is; no search is made.
    assert "• 出租" in replies[-1].text and "房子在哪里" in replies[-1].text
    async with sessions() as session:
        assert await session.scalar(select(func.count(Need.id))) == 0


async def test_decoration_and_partly_furnished_are_kept(sessions, frozen_clock) -> None:
    await seed(sessions)
    han = FakeCustomer(sessions, user_id=3107, language_code="zh-CN")
    replies = await han.text("租房 望京 两居 8000以内 精装 部分家具")
    assert "部分家具" in replies[0].text and "精装" in replies[0].text
    async with sessions() as session:
        need = await session.scalar(select(Need))
        assert (need.criteria["decoration"], need.criteria["partly_furnished"], need.criteria["furnished"]) == (
            "fine", True, True)


async def test_a_bare_budget_never_overrides_a_chosen_deal_type(sessions, frozen_clock) -> None:
    await seed(sessions)
    ann = FakeCustomer(sessions, user_id=3108, language_code="en")
    await ann.text("find a home")
    await ann.press("need:deal:sale")
    await ann.press("need:type:apartment")
    await ann.text("Wangjing")
    await ann.press("need:dist:done")
    await ann.text("9000")  # monthly-sized, but the customer chose to buy
    criteria = (await _slots(sessions, ann))["criteria"]
    assert (criteria["deal_type"], criteria.get("deal_type_inferred")) == ("sale", None)
