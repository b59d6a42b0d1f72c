"""District names, aliases, misspellings and neighbours; the cached loader follows changes."""

from __future__ import annotations

from datetime import date

from matching import districts as districts_module
from matching.criteria import Criteria
from matching.districts import DistrictIndex, load_district_index
from storage.models import District
from tests.matching.fixtures import beijing_index
from tests.matching.seed import seed_districts

INDEX = beijing_index()


def test_exact_names_and_aliases_in_both_scripts() -> None:
    assert INDEX.resolve("Chaoyang").match == "Chaoyang"
    assert INDEX.resolve("朝阳").match == "Chaoyang"
    assert INDEX.resolve("朝阳区").match == "Chaoyang"
    assert INDEX.resolve("chaoyang district").match == "Chaoyang"
    assert INDEX.resolve("CBD").match == "Guomao"
    assert INDEX.resolve("中关村").match == "Haidian"
    assert INDEX.resolve("望京").match == "Wangjing"


def test_clear_misspelling_is_accepted() -> None:
    assert INDEX.resolve("Chaoyng") == districts_module.Resolution("Chaoyang", [])
    assert INDEX.resolve("Haidain").match == "Haidian"
    assert INDEX.resolve("Shijinshan").match == "Shijingshan"


def test_unclear_text_gives_candidates_not_a_guess() -> None:
    resolution = INDEX.resolve("cheng")
    assert resolution.match is None
    assert set(resolution.candidates) == {"Xicheng", "Dongcheng"}


def test_nonsense_gives_nothing() -> None:
    assert INDEX.resolve("zzzzzz") == districts_module.Resolution(None, [])
    assert INDEX.resolve("") == districts_module.Resolution(None, [])


def test_find_in_text_without_spaces_and_with_words() -> None:
    found = [m.match for m in INDEX.find_in_text("我想在朝阳或者海淀租房")]
    assert found == ["Chaoyang", "Haidian"]
    found = [m.match for m in INDEX.find_in_text("flat in wangjing or sanlitun village please")]
    assert found == ["Wangjing", "Sanlitun"]


def test_find_in_text_does_not_match_inside_words() -> None:
    assert INDEX.find_in_text("cbdx") == []


def test_neighbours_are_symmetric_and_resolved() -> None:
    assert "Wangjing" in INDEX.neighbours("Chaoyang")
    assert "Chaoyang" in INDEX.neighbours("Wangjing")
    assert "Chaoyang" not in INDEX.neighbours("Chaoyang")
    assert INDEX.neighbours("Nowhere") == []


def test_build_accepts_csv_style_lists() -> None:
    index = DistrictIndex.build(
        [
            {"name": "A Town", "aliases": "甲镇; Atown", "neighbours": "B Town"},
            {"name": "B Town", "aliases": [], "neighbours": []},
        ]
    )
    assert index.resolve("甲镇").match == "A Town"
    assert index.resolve("甲").match is None
    assert index.neighbours("B Town") == ["A Town"]


async def test_loader_caches_and_refreshes_on_change(sessions) -> None:
    async with sessions() as session:
        await seed_districts(session)
        await session.commit()
        first = await load_district_index(session)
        assert await load_district_index(session) is first
        session.add(District(city="Beijing", name="Mentougou", name_zh="门头沟", aliases=["门头沟"], neighbours=[]))
        await session.commit()
        refreshed = await load_district_index(session)
        assert refreshed is not first
        assert refreshed.resolve("门头沟").match == "Mentougou"
        assert refreshed.by_id[refreshed.id_by_name["Mentougou"]] == "Mentougou"


def test_criteria_json_round_trip() -> None:
    criteria = Criteria(
        deal_type="rent",
        districts=["Chaoyang"],
        budget_max=8000.0,
        move_in_by=date(2026, 3, 1),
        must_have=["parking"],
        warnings=["budget_swapped"],
        exclude=["garden"],
        district_candidates={"cheng": ["Xicheng", "Dongcheng"]},
    )
    data = criteria.to_json()
    assert data["move_in_by"] == "2026-03-01"
    assert data["budget_max"] == 8000 and data["property_types"] is None
    assert Criteria.from_json(data) == criteria
    assert Criteria.from_json(None) == Criteria()
    assert Criteria.from_json({"unknown": 1, "pets": True}) == Criteria(pets=True)
