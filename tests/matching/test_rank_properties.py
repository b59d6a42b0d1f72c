"""Property-based checks of ranking against an independent, plain-Python reading of the hard filters.

- every returned listing satisfies the hard filters, and none that does is missed;
- scores are within 0-100 and every result has at least one reason, in both languages;
- adding a perfect listing puts it first, with 100.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.criteria import Criteria
from matching.districts import DistrictIndex, distance_km
from matching.rank import find_matches
from matching.weights import DEFAULT_WEIGHTS as W
from storage.db import session_factory
from storage.models import District, Listing
from tests.dbutil import PG_URL, fresh_engine
from tests.matching.fixtures import BEIJING, district_rows

NAMES = [row[0] for row in BEIJING]
FEATURES = ["parking", "elevator", "near_metro", "balcony", "garden"]
TODAY = date(2026, 3, 1)
tri = st.sampled_from([None, True, False])
dates = st.one_of(st.none(), st.integers(-30, 120).map(lambda d: TODAY + timedelta(days=d)))

listings = st.fixed_dictionaries(
    {
        "district": st.sampled_from(NAMES),
        "deal_type": st.sampled_from(["rent", "sale"]),
        "property_type": st.sampled_from(["apartment", "apartment", "house", "office"]),
        "status": st.sampled_from(["active", "active", "active", "rented"]),
        "price": st.integers(1000, 20000),
        "bedrooms": st.integers(0, 5),
        "area_m2": st.integers(20, 200).map(float),
        "available_from": dates,
        "features": st.lists(st.sampled_from(FEATURES), unique=True, max_size=3),
        "pets_allowed": tri,
        "furnished": tri,
        "offset": st.one_of(st.none(), st.tuples(st.floats(-0.08, 0.08), st.floats(-0.08, 0.08))),
    }
)


@st.composite
def criteria(draw: Any) -> Criteria:
    budget_max = draw(st.one_of(st.none(), st.integers(2000, 20000)))
    budget_min = draw(st.one_of(st.none(), st.integers(1000, budget_max or 20000)))
    bedrooms_min = draw(st.one_of(st.none(), st.integers(0, 3)))
    bedrooms_max = draw(st.one_of(st.none(), st.integers(bedrooms_min or 0, 4)))
    area_min = draw(st.one_of(st.none(), st.integers(20, 150)))
    area_max = draw(st.one_of(st.none(), st.integers(area_min or 20, 220)))
    must_have = draw(st.lists(st.sampled_from(FEATURES), unique=True, max_size=2))
    exclude = draw(st.lists(st.sampled_from([f for f in FEATURES if f not in must_have]), unique=True, max_size=1))
    return Criteria(
        deal_type=draw(st.sampled_from([None, "rent", "sale"])),
        property_types=draw(st.lists(st.sampled_from(["apartment", "house", "office"]), unique=True, max_size=2)),
        districts=draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=2)),
        budget_min=float(budget_min) if budget_min else None,
        budget_max=float(budget_max) if budget_max else None,
        bedrooms_min=bedrooms_min,
        bedrooms_max=bedrooms_max,
        area_min=float(area_min) if area_min else None,
        area_max=float(area_max) if area_max else None,
        move_in_by=draw(st.one_of(st.none(), st.integers(0, 90).map(lambda d: TODAY + timedelta(days=d)))),
        must_have=must_have,
        exclude=exclude,
        pets=draw(tri),
        furnished=draw(tri),
    )


def satisfies(row: Listing, c: Criteria, index: DistrictIndex) -> bool:
    """The hard filters, written out plainly and independently of matching.score."""
    price = float(row.price)
    features = set(row.features or [])
    checks = [
        row.status == "active",
        not c.deal_type or row.deal_type == c.deal_type,
        not c.property_types or row.property_type in c.property_types,
        not c.budget_max or price <= c.budget_max * (1 + W.budget_over),
        not c.budget_min or price >= c.budget_min * (1 - W.budget_under),
        c.bedrooms_min is None or row.bedrooms >= c.bedrooms_min,
        c.bedrooms_max is None or row.bedrooms <= c.bedrooms_max + W.extra_bedrooms,
        not c.area_min or row.area_m2 >= c.area_min * (1 - W.area_tolerance),
        not c.area_max or row.area_m2 <= c.area_max * (1 + W.area_tolerance),
        not c.move_in_by
        or row.available_from is None
        or row.available_from <= c.move_in_by + timedelta(days=W.move_in_grace_days),
        set(c.must_have) <= features,
        not set(c.exclude) & features,
        not c.pets or row.pets_allowed is not False,
        c.furnished is None or row.furnished is not (not c.furnished),
    ]
    if c.districts:
        allowed = set(c.districts) | {n for d in c.districts for n in index.neighbours(d)}
        near = row.lat is not None and any(
            distance_km(row.lat, row.lon, *index.centroid(d)) <= W.radius_km for d in c.districts
        )
        checks.append(index.by_id.get(row.district_id) in allowed or near)
    return all(checks)


def perfect_for(c: Criteria, districts: dict[str, District]) -> dict[str, Any]:
    place = districts[c.districts[0]] if c.districts else districts["Chaoyang"]
    bedrooms = c.bedrooms_min if c.bedrooms_min is not None else (c.bedrooms_max if c.bedrooms_max is not None else 2)
    return {
        "district": place.name,
        "deal_type": c.deal_type or "rent",
        "property_type": c.property_types[0] if c.property_types else "apartment",
        "status": "active",
        "price": int(c.budget_max or c.budget_min or 5000),
        "bedrooms": bedrooms,
        "area_m2": float(c.area_min or c.area_max or 80),
        "available_from": c.move_in_by or TODAY,
        "features": list(c.must_have),
        "pets_allowed": True if c.pets else None,
        "furnished": c.furnished,
        "offset": (0.0, 0.0),
    }


def to_listing(n: int, spec: dict[str, Any], districts: dict[str, District], ref: str | None = None) -> Listing:
    place = districts[spec["district"]]
    offset = spec["offset"]
    fields = {k: v for k, v in spec.items() if k not in ("district", "offset")}
    return Listing(
        ref_code=ref or f"P{n:05d}",
        city="Beijing",
        district_id=place.id,
        district_name=place.name,
        lat=None if offset is None else place.lat + offset[0],
        lon=None if offset is None else place.lon + offset[1],
        **fields,
    )


async def scenario(backend: str, specs: list[dict[str, Any]], c: Criteria) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with fresh_engine(backend, Path(tmp)) as engine:
            sessions = session_factory(engine)
            async with sessions() as session:
                districts = {row["name"]: District(**row) for row in district_rows()}
                session.add_all(districts.values())
                await session.flush()
                session.add_all([to_listing(n, spec, districts) for n, spec in enumerate(specs)])
                await session.commit()
                index = DistrictIndex.build(districts.values())

                matches = await find_matches(session, c, top=1000, index=index)
                rows = {row.id: row for row in (await session.execute(Listing.__table__.select())).all()}
                expected = {i for i, row in rows.items() if satisfies(row, c, index)}
                assert {m.listing_id for m in matches} == expected
                for m in matches:
                    assert 0 <= m.score <= 100
                    assert m.reasons and m.reasons_zh and len(m.reasons) == len(m.reasons_zh)
                    assert len(m.misses) == len(m.misses_zh)
                assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)

                session.add(to_listing(0, perfect_for(c, districts), districts, ref="PERFECT"))
                await session.commit()
                best = await find_matches(session, c, top=3, index=index)
                assert best[0].ref_code == "PERFECT"
                assert best[0].score == 100


@st.composite
def listings_near(draw: Any, c: Criteria) -> dict[str, Any]:
    """Listings on and around the edges of the criteria, where filters are most likely to be wrong."""
    spec = draw(listings)
    if draw(st.booleans()):
        if c.budget_max:
            spec["price"] = round(c.budget_max * draw(st.sampled_from([0.9, 1.0, 1.05, 1.1, 1.1001, 1.2])), 2)
        elif c.budget_min:
            spec["price"] = round(c.budget_min * draw(st.sampled_from([0.69, 0.7, 0.7001, 1.0])), 2)
        if c.deal_type:
            spec["deal_type"] = c.deal_type
        if c.property_types:
            spec["property_type"] = draw(st.sampled_from(c.property_types))
        if c.districts:
            spec["district"] = draw(st.sampled_from(c.districts))
        if c.bedrooms_min is not None:
            spec["bedrooms"] = max(0, c.bedrooms_min + draw(st.sampled_from([-1, 0, 1, 2])))
        if c.area_min:
            spec["area_m2"] = round(c.area_min * draw(st.sampled_from([0.89, 0.9, 1.0, 1.3])), 1)
        if c.move_in_by:
            spec["available_from"] = c.move_in_by + timedelta(days=draw(st.sampled_from([0, 13, 14, 15])))
        spec["features"] = sorted(set(spec["features"]) | set(c.must_have[: draw(st.integers(0, 2))]))
        spec["status"] = "active"
    return spec


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), criteria())
def test_ranking_properties_sqlite(data: st.DataObject, c: Criteria) -> None:
    specs = data.draw(st.lists(listings_near(c), max_size=25))
    asyncio.run(scenario("sqlite", specs, c))


@pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL not set: no PostgreSQL to test against")
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), criteria())
def test_ranking_properties_postgres(data: st.DataObject, c: Criteria) -> None:
    specs = data.draw(st.lists(listings_near(c), max_size=25))
    asyncio.run(scenario("postgres", specs, c))
