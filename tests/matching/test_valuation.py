"""The valuation: comparables by deal type, place, area and rooms; the middle half of their price per m²; too few
comparables gives no range. The query runs on every backend."""

from __future__ import annotations

from decimal import Decimal

import pytest

from matching.districts import load_district_index
from matching.valuation import Comparable, percentile, rounded, similar, valuate, value
from storage.db import transaction
from storage.models import District, Listing
from tests.matching.fixtures import district_rows


def comparable(listing_id: int, price: float, area: float, bedrooms: int = 2) -> Comparable:
    return Comparable(listing_id=listing_id, ref_code=f"X-{listing_id}", price=price, area_m2=area, bedrooms=bedrooms,
                      district="Wangjing")


def test_percentile_and_rounding():
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.25) == 1.75
    assert percentile([5.0], 0.75) == 5.0
    assert rounded(5_673_750, "sale") == 5_670_000 and rounded(8_449, "rent") == 8_400


def test_similar_keeps_the_band_and_sorts_by_likeness():
    rows = [comparable(1, 6e6, 100), comparable(2, 6e6, 90), comparable(3, 6e6, 130), comparable(4, 6e6, 88, 4),
            comparable(5, 6e6, 60), comparable(6, 0, 89)]
    assert [c.listing_id for c in similar(rows, 89, 2)] == [2, 1]  # 130 and 60 m² out, 4 bedrooms out, price 0 out
    assert [c.listing_id for c in similar(rows, 89, None)] == [2, 4, 1]  # a tie goes to the lower id


def test_value_gives_a_range_only_with_enough_comparables():
    rows = [comparable(1, 5_760_000, 90), comparable(2, 6_120_000, 85), comparable(3, 6_300_000, 100),
            comparable(4, 5_440_000, 80, 1)]
    result = value("sale", "Wangjing", 89, 2, rows, minimum=3)
    assert (result.low, result.estimate, result.high, result.count) == (5_670_000, 5_870_000, 6_140_000, 4)
    assert [c.listing_id for c in result.shown] == [1, 2, 3]
    too_few = value("sale", "Wangjing", 89, 2, rows, minimum=5)
    assert not too_few.enough and too_few.low is None and too_few.count == 4
    again = type(result).from_json(result.to_json())
    assert again == result


async def test_valuate_widens_to_neighbours_and_skips_withheld(any_sessions, frozen_clock):
    async with transaction(any_sessions) as session:
        districts = {row["name"]: District(**row) for row in district_rows()}
        session.add_all(districts.values())
        await session.flush()

        def add(ref: str, district: str, price: int, area: float, **extra: object) -> None:
            session.add(Listing(ref_code=ref, deal_type="rent", property_type="apartment", city="Beijing",
                                district_id=districts[district].id, district_name=district, price=Decimal(price),
                                bedrooms=2, area_m2=area, status=extra.pop("status", "active"), **extra))

        add("A", "Wangjing", 8000, 80)
        add("B", "Wangjing", 9000, 90)
        add("C", "Chaoyang", 8500, 85)  # Wangjing's neighbour
        add("D", "Haidian", 9999, 85)  # not a neighbour
        add("E", "Wangjing", 8800, 88, withheld_at=frozen_clock.now(), withheld_reason="stale")
        add("F", "Wangjing", 8800, 88, status="rented")
    async with any_sessions() as session:
        index = await load_district_index(session)
        result = await valuate(session, deal_type="rent", district="Wangjing", area_m2=85, bedrooms=2, index=index,
                               minimum=3)
        assert result.enough and result.widened and sorted(c.ref_code for c in result.shown) == ["A", "B", "C"]
        alone = await valuate(session, deal_type="rent", district="Haidian", area_m2=85, bedrooms=2, index=index,
                              minimum=3)
        assert not alone.enough and alone.widened and alone.count == 2  # itself and its neighbour Chaoyang


@pytest.mark.parametrize("minimum", [1, 2])
def test_a_low_minimum_values_from_one_comparable(minimum):
    result = value("rent", "Wangjing", 80, 2, [comparable(1, 8000, 80), comparable(2, 9000, 90)][:minimum], minimum)
    assert result.enough and result.low is not None
