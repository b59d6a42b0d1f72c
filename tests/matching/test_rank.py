"""Ranking on a real database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import update

from matching.cli import run_match
from matching.criteria import Criteria
from matching.rank import count_matches, explain_no_results, find_matches
from matching.snapshot import snapshot_for
from storage.models import Customer, Listing, ListingFeedback
from storage.vocabulary import LISTING_STATUSES
from tests.matching.seed import listing, seed_districts

RENT_2BR_CHAOYANG = Criteria(
    deal_type="rent",
    districts=["Chaoyang"],
    budget_max=8000,
    bedrooms_min=2,
    bedrooms_max=2,
    move_in_by=date(2026, 3, 1),
)


async def test_chosen_district_beats_neighbour_beats_nearby(any_sessions) -> None:
    async with any_sessions() as session:
        d = await seed_districts(session)
        far = listing(d, "Changping", ref_code="FAR", lat=40.5, lon=116.0)  # a neighbour, yet 60 km away
        session.add_all(
            [
                listing(d, "Wangjing", ref_code="NEIGHBOUR"),
                listing(d, "Chaoyang", ref_code="CHOSEN"),
                listing(d, "Shijingshan", ref_code="OUTSIDE"),  # not a neighbour, 20 km away: filtered out
                far,
                listing(d, "Chaoyang", ref_code="SOLD", status="sold"),
                listing(d, "Chaoyang", ref_code="SALE", deal_type="sale", price=7000),
            ]
        )
        await session.commit()
        matches = await find_matches(session, RENT_2BR_CHAOYANG)
    refs = [m.ref_code for m in matches]
    assert refs[0] == "CHOSEN"
    assert set(refs) == {"CHOSEN", "NEIGHBOUR", "FAR"}
    assert matches[0].score == 100
    assert matches[0].score > matches[1].score
    assert matches[0].reasons[0] == "In Chaoyang" and matches[0].reasons_zh[0] == "位于朝阳"
    neighbour = next(m for m in matches if m.ref_code == "NEIGHBOUR")
    assert neighbour.reasons[0] == "In Wangjing, next to Chaoyang"
    assert neighbour.reasons_zh[0] == "位于望京，紧邻朝阳"


async def test_budget_tolerance_and_misses(any_sessions) -> None:
    async with any_sessions() as session:
        d = await seed_districts(session)
        session.add_all(
            [
                listing(d, ref_code="IN", price=7900),
                listing(d, ref_code="OVER5", price=8400),
                listing(d, ref_code="OVER20", price=9600),
            ]
        )
        await session.commit()
        matches = await find_matches(session, RENT_2BR_CHAOYANG)
    assert [m.ref_code for m in matches] == ["IN", "OVER5"]
    over = matches[1]
    assert "¥8,400/month, 5% over your budget" in over.misses
    assert "月租¥8,400，超出预算5%" in over.misses_zh


async def test_must_haves_pets_and_move_in(any_sessions) -> None:
    async with any_sessions() as session:
        d = await seed_districts(session)
        session.add_all(
            [
                listing(d, ref_code="ALL", features=["parking", "elevator"], pets_allowed=True),
                listing(d, ref_code="UNKNOWN_PETS", features=["parking"], pets_allowed=None),
                listing(d, ref_code="NO_PETS", features=["parking"], pets_allowed=False),
                listing(d, ref_code="NO_PARKING", features=["elevator"], pets_allowed=True),
                listing(d, ref_code="LATE", features=["parking"], pets_allowed=True, available_from=date(2026, 6, 1)),
                listing(d, ref_code="SOON", features=["parking"], pets_allowed=True, available_from=date(2026, 3, 10)),
            ]
        )
        await session.commit()
        criteria = Criteria(deal_type="rent", must_have=["parking"], pets=True, move_in_by=date(2026, 3, 1))
        matches = await find_matches(session, criteria)
    assert [m.ref_code for m in matches] == ["ALL", "UNKNOWN_PETS", "SOON"]
    assert "Has parking" in matches[0].reasons and "有车位" in matches[0].reasons_zh
    assert "Available only from 2026-03-10" in matches[2].misses
    assert "Pets not mentioned by the landlord" in matches[1].misses


async def test_feedback_lowers_similar_listings_and_hides_the_rejected_one(any_sessions) -> None:
    async with any_sessions() as session:
        d = await seed_districts(session)
        customer = Customer(telegram_user_id=1, chat_id=1, first_name="Li")
        rejected = listing(d, "Haidian", ref_code="REJECTED")
        haidian = listing(d, "Haidian", ref_code="HAIDIAN")
        wangjing = listing(d, "Wangjing", ref_code="WANGJING")
        session.add_all([customer, rejected, haidian, wangjing])
        await session.flush()
        before = await find_matches(session, RENT_2BR_CHAOYANG, customer_id=customer.id)
        session.add(ListingFeedback(customer_id=customer.id, listing_id=rejected.id, reason="too_far"))
        await session.commit()
        after = await find_matches(session, RENT_2BR_CHAOYANG, customer_id=customer.id)
        anonymous = await find_matches(session, RENT_2BR_CHAOYANG)
    assert {m.ref_code for m in before} == {"REJECTED", "HAIDIAN", "WANGJING"}
    assert [m.ref_code for m in after] == ["WANGJING", "HAIDIAN"]
    haidian_after = after[1]
    assert haidian_after.score == next(m.score for m in before if m.ref_code == "HAIDIAN") - 15
    assert haidian_after.misses == ["Similar to one you turned down (too far)"]
    assert haidian_after.misses_zh == ["与您拒绝过的房源相似（太远）"]
    assert len(anonymous) == 3


async def test_changes_in_this_process_are_seen_at_once(any_sessions) -> None:
    async with any_sessions() as session:
        d = await seed_districts(session)
        first = listing(d, ref_code="FIRST")
        session.add(first)
        await session.commit()
        assert [m.ref_code for m in await find_matches(session, RENT_2BR_CHAOYANG)] == ["FIRST"]
        first.status = "rented"
        session.add(listing(d, ref_code="SECOND"))
        await session.commit()
        assert [m.ref_code for m in await find_matches(session, RENT_2BR_CHAOYANG)] == ["SECOND"]


async def test_changes_behind_the_snapshot_never_leak_into_results(any_sessions) -> None:
    """Plain SQL (as another process would do) bypasses the change hooks; results are still correct."""
    async with any_sessions() as session:
        d = await seed_districts(session)
        session.add_all([listing(d, ref_code="A", price=6000), listing(d, ref_code="B", price=7000)])
        await session.commit()
        assert [m.ref_code for m in await find_matches(session, RENT_2BR_CHAOYANG)] == ["B", "A"]
        connection = await session.connection()
        await connection.execute(update(Listing.__table__).where(Listing.ref_code == "B").values(status="rented"))
        await connection.execute(update(Listing.__table__).where(Listing.ref_code == "A").values(price=9500))
        await session.commit()
        assert await find_matches(session, RENT_2BR_CHAOYANG) == []


async def test_sql_candidates_give_the_same_answer(any_sessions) -> None:
    async with any_sessions() as session:
        d = await seed_districts(session)
        session.add_all(
            [
                listing(d, name, price=price, bedrooms=beds)
                for name in ("Chaoyang", "Wangjing", "Haidian", "Daxing", "Sanlitun")
                for price in (5000, 7500, 8600, 12000)
                for beds in (1, 2, 3)
            ]
        )
        await session.commit()
        via_snapshot = await find_matches(session, RENT_2BR_CHAOYANG, top=50)
        via_sql = await find_matches(session, RENT_2BR_CHAOYANG, top=50, source="sql")
        counted = await count_matches(session, RENT_2BR_CHAOYANG)
    assert [(m.ref_code, m.score) for m in via_snapshot] == [(m.ref_code, m.score) for m in via_sql]
    assert counted == len(via_snapshot) > 10


async def test_why_no_results(any_sessions) -> None:
    async with any_sessions() as session:
        d = await seed_districts(session)
        session.add_all([listing(d, "Chaoyang", price=9000), listing(d, "Chaoyang", price=9500, bedrooms=1)])
        await session.commit()
        criteria = Criteria(deal_type="rent", districts=["Chaoyang"], budget_max=6000, bedrooms_min=2, bedrooms_max=2)
        assert await find_matches(session, criteria) == []
        relaxations = await explain_no_results(session, criteria)
    by_name = {r.constraint: r for r in relaxations}
    assert relaxations[0].constraint == "budget"
    assert by_name["budget"].results == 1
    assert by_name["budget"].message_en == "Relaxing your budget would give 1 result"
    assert by_name["budget"].message_zh == "放宽预算可找到1套房源"
    assert by_name["bedrooms"].results == 0 and by_name["districts"].results == 0
    assert "area" not in by_name  # not stated, so not offered


async def test_match_command_json_and_table(any_sessions) -> None:
    async with any_sessions() as session:
        d = await seed_districts(session)
        session.add_all([listing(d, "Chaoyang", ref_code="JSON1", price=7000)])
        await session.commit()
    out = json.loads(await run_match(any_sessions, "朝阳两居 8000以内", "rent", 5, True, today=date(2026, 1, 15)))
    assert out["criteria"]["deal_type"] == "rent"
    assert out["criteria"]["districts"] == ["Chaoyang"]
    assert out["criteria"]["budget_max"] == 8000
    assert out["criteria"]["area_min"] is None
    assert out["results"][0]["ref_code"] == "JSON1"
    assert 0 <= out["results"][0]["score"] <= 100 and out["results"][0]["reasons"]
    table = await run_match(any_sessions, "rent 2br in Chaoyang under 8k", None, 5, False, today=date(2026, 1, 15))
    assert "JSON1" in table and "In Chaoyang" in table
    nothing = await run_match(any_sessions, "rent 2br in Chaoyang under 3k", None, 5, False, today=date(2026, 1, 15))
    assert "No matching listings." in nothing
    assert "Relaxing your budget would give 1 result" in nothing


async def test_hooks_do_not_load_expired_objects(any_engine) -> None:
    """With expire_on_commit (the ORM default) the change hooks see an edit without lazy-loading anything."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    sessions = async_sessionmaker(any_engine, expire_on_commit=True)
    async with sessions() as session:
        d = await seed_districts(session)
        session.add(listing(d, ref_code="EXPIRING"))
        await session.commit()
        assert [m.ref_code for m in await find_matches(session, RENT_2BR_CHAOYANG)] == ["EXPIRING"]
        row = (await session.execute(Listing.__table__.select())).first()
        stored = await session.get(Listing, row.id)
        await session.commit()  # expires `stored`
        stored.status = "withdrawn"
        await session.commit()
        snapshot = await snapshot_for(session)  # refreshed from the ids the hooks collected
        assert snapshot.cols.status.tolist() == [LISTING_STATUSES.index("withdrawn")]
        assert await find_matches(session, RENT_2BR_CHAOYANG) == []


async def test_listings_added_by_another_process_appear_after_the_probe(any_sessions, monkeypatch) -> None:
    """Rows written with plain SQL skip the session hooks; the periodic probe finds them."""
    from matching import snapshot as snapshot_module

    now = [1000.0]
    monkeypatch.setattr(snapshot_module, "monotonic", lambda: now[0])
    async with any_sessions() as session:
        d = await seed_districts(session)
        session.add(listing(d, ref_code="OLD"))
        await session.commit()
        assert [m.ref_code for m in await find_matches(session, RENT_2BR_CHAOYANG)] == ["OLD"]
        values = {
            c: getattr(listing(d, ref_code="NEW", price=6500), c)
            for c in (
                "ref_code",
                "deal_type",
                "property_type",
                "city",
                "district_id",
                "district_name",
                "price",
                "bedrooms",
                "bathrooms",
                "area_m2",
                "available_from",
                "features",
                "status",
                "lat",
                "lon",
            )
        }
        connection = await session.connection()
        await connection.execute(Listing.__table__.insert().values(**values))
        await session.commit()
        assert [m.ref_code for m in await find_matches(session, RENT_2BR_CHAOYANG)] == ["OLD"]  # not probed yet
        now[0] += snapshot_module.PROBE_INTERVAL_S
        assert [m.ref_code for m in await find_matches(session, RENT_2BR_CHAOYANG)] == ["NEW", "OLD"]
