"""New-listing and price-drop alerts: matching needs only, once per listing, three a day, opt-out."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from dialogs import alerts
from storage.models import Customer, Listing, ListingPhoto, Need, OutboxMessage
from tests.dialogs.helpers import FakeCustomer
from tests.journey_data import seed
from tests.workplace import workplace_for


async def _customer_with_need(sessions, user_id: int, language: str = "en") -> int:
    async with sessions() as session, session.begin():
        customer = Customer(telegram_user_id=user_id, chat_id=user_id, first_name="A", language=language)
        session.add(customer)
        await session.flush()
        session.add(Need(customer_id=customer.id, deal_type="rent", active=True,
                         criteria={"deal_type": "rent", "districts": ["Wangjing"], "budget_max": 10000}))
        return customer.id


async def _add_listing(sessions, ref: str, price: int, district: str = "Wangjing") -> int:
    async with sessions() as session, session.begin():
        source = await session.scalar(select(Listing).where(Listing.ref_code == "R-WJ-201"))
        listing = Listing(ref_code=ref, deal_type="rent", property_type="apartment", city="Beijing",
                          district_id=source.district_id if district == "Wangjing" else None, district_name=district,
                          price=Decimal(price), bedrooms=2, area_m2=80.0, status="active", features=[],
                          lat=source.lat if district == "Wangjing" else 40.13,
                          lon=source.lon if district == "Wangjing" else 116.65, agent_id=source.agent_id,
                          photos=[ListingPhoto(position=0, url=f"https://img.test/{ref}.jpg")])
        session.add(listing)
        await session.flush()
        return listing.id


async def _outbox(sessions, chat_id: int) -> list[OutboxMessage]:
    async with sessions() as session:
        return list((await session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == chat_id)
                                           .order_by(OutboxMessage.id))).all())


async def _scan(sessions, since) -> int:
    async with workplace_for(sessions).open() as work:
        return await alerts.scan(work, since)


async def test_new_listing_alert_once_and_at_most_three_a_day(sessions, frozen_clock) -> None:
    await seed(sessions)
    await _customer_with_need(sessions, 3001)
    await _customer_with_need(sessions, 3002, language="zh")
    since = frozen_clock.now()
    frozen_clock.advance(minutes=5)
    await _add_listing(sessions, "NEW-1", 8800)
    await _add_listing(sessions, "FAR-1", 8800, district="Shunyi")  # no need matches it
    assert await _scan(sessions, since) == 2
    (en,) = await _outbox(sessions, 3001)
    assert en.payload["caption"].startswith("🔔 A new home matches your search:") and "NEW-1" in en.payload["caption"]
    assert "rec:stop" in [c["token"] for row in en.payload["choices"] for c in row]
    (zh,) = await _outbox(sessions, 3002)
    assert zh.payload["caption"].startswith("🔔 有新房源符合您的需求")
    assert await _scan(sessions, since) == 0  # once per listing
    for n in range(2, 6):
        await _add_listing(sessions, f"NEW-{n}", 8000 + n)
    assert await _scan(sessions, since) == 4  # two more each: three a day
    assert len(await _outbox(sessions, 3001)) == 3


async def test_price_drop_alert_and_opt_out(sessions, frozen_clock) -> None:
    ids = await seed(sessions)
    await _customer_with_need(sessions, 3003)
    since = frozen_clock.now()
    frozen_clock.advance(minutes=5)
    async with sessions() as session, session.begin():
        listing = await session.get(Listing, ids["R-WJ-202"])
        listing.previous_price, listing.price = listing.price, Decimal(8900)
    assert await _scan(sessions, since) == 1
    (alert,) = await _outbox(sessions, 3003)
    assert "Price drop: ¥9,500/month → ¥8,900/month" in alert.payload["caption"]
    replies = await FakeCustomer(sessions, user_id=3003).press("rec:stop")
    assert "no more new-listing alerts" in replies[-1].text
    await _add_listing(sessions, "NEW-9", 8100)
    assert await _scan(sessions, since) == 0


async def test_tick_looks_back_a_day_without_repeating_itself(sessions, frozen_clock) -> None:
    await seed(sessions)
    await _customer_with_need(sessions, 3004)
    frozen_clock.advance(hours=25)  # the seeded listings are old news by now
    await _add_listing(sessions, "NEW-T", 8700)
    frozen_clock.advance(hours=3)  # a run was missed; the next one still finds it
    assert await alerts.tick(workplace_for(sessions)) == 1
    assert await alerts.tick(workplace_for(sessions)) == 0
