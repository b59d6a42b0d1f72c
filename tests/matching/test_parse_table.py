"""The phrasing table: free text in English, Chinese and both, with the criteria it must give.

Every contract key not listed must come out empty (null): nothing is invented.
"""

from __future__ import annotations

from datetime import date

import pytest

from matching.criteria import CONTRACT_KEYS
from matching.parse import parse_need
from storage.text import has_chinese
from tests.matching.fixtures import beijing_index

TODAY = date(2026, 1, 15)
INDEX = beijing_index()

CASES = [
    (
        "2br apartment in Chaoyang under 8000/month",
        {
            "deal_type": "rent",
            "property_types": ["apartment"],
            "districts": ["Chaoyang"],
            "budget_max": 8000,
            "bedrooms_min": 2,
            "bedrooms_max": 2,
        },
    ),
    (
        "Looking to rent a 2-bed flat near Wangjing, budget 5k-7k, move in March, pets allowed",
        {
            "deal_type": "rent",
            "property_types": ["apartment"],
            "districts": ["Wangjing"],
            "budget_min": 5000,
            "budget_max": 7000,
            "bedrooms_min": 2,
            "bedrooms_max": 2,
            "move_in_by": "2026-03-01",
            "pets": True,
        },
    ),
    (
        "buy a 3 bedroom house in Shunyi under 3 million with parking",
        {
            "deal_type": "sale",
            "property_types": ["house"],
            "districts": ["Shunyi"],
            "budget_max": 3000000,
            "bedrooms_min": 3,
            "bedrooms_max": 3,
            "must_have": ["parking"],
        },
    ),
    (
        "two bedrooms in Haidan, around 90 sqm, elevator",
        {
            "districts": ["Haidian"],
            "bedrooms_min": 2,
            "bedrooms_max": 2,
            "area_min": 81,
            "area_max": 99,
            "must_have": ["elevator"],
        },
    ),
    (
        "studio near Sanlitun ¥6,000 furnished no pets",
        {
            "deal_type": "rent",  # issue 15: a monthly-sized budget with no deal word means rent
            "districts": ["Sanlitun"],
            "budget_max": 6000,
            "currency": "CNY",
            "bedrooms_min": 0,
            "bedrooms_max": 0,
            "furnished": True,
            "pets": False,
        },
    ),
    (
        "Chaoyng 2 bedroom rent 9000-5000",
        {
            "deal_type": "rent",
            "districts": ["Chaoyang"],
            "budget_min": 5000,
            "budget_max": 9000,
            "bedrooms_min": 2,
            "bedrooms_max": 2,
            "warnings": ["budget_swapped"],
        },
    ),
    (
        "rent in Dongcheng with parking, no furniture, from 2026-03-15",
        {
            "deal_type": "rent",
            "districts": ["Dongcheng"],
            "move_in_by": "2026-03-15",
            "must_have": ["parking"],
            "furnished": False,
        },
    ),
    (
        "Xicheng 3-4 bedrooms for sale 12,000,000",
        {"deal_type": "sale", "districts": ["Xicheng"], "budget_max": 12000000, "bedrooms_min": 3, "bedrooms_max": 4},
    ),
    (
        "office space for rent in Guomao, 200 sqm",
        {"deal_type": "rent", "property_types": ["office"], "districts": ["Guomao"], "area_min": 180, "area_max": 220},
    ),
    (
        "I want to buy a villa in Shunyi, budget 12 million",
        {"deal_type": "sale", "property_types": ["villa"], "districts": ["Shunyi"], "budget_max": 12000000},
    ),
    (
        "Need a parking space in Tongzhou to rent, 800/month",
        {"deal_type": "rent", "property_types": ["parking"], "districts": ["Tongzhou"], "budget_max": 800},
    ),
    (
        "rent a shop in Sanlitun, at least 50 m2, max 30k per month",
        {
            "deal_type": "rent",
            "property_types": ["shop"],
            "districts": ["Sanlitun"],
            "budget_max": 30000,
            "area_min": 50,
        },
    ),
    (
        "3 bed flat to rent in Haidian or Xicheng, 10,000-15,000 RMB, next month",
        {
            "deal_type": "rent",
            "property_types": ["apartment"],
            "districts": ["Haidian", "Xicheng"],
            "budget_min": 10000,
            "budget_max": 15000,
            "currency": "CNY",
            "bedrooms_min": 3,
            "bedrooms_max": 3,
            "move_in_by": "2026-02-01",
        },
    ),
    (
        "buying a 2 bedroom apartment in Changping, ~4.5m, near metro",
        {
            "deal_type": "sale",
            "property_types": ["apartment"],
            "districts": ["Changping"],
            "budget_min": 4050000,
            "budget_max": 4950000,
            "bedrooms_min": 2,
            "bedrooms_max": 2,
            "must_have": ["near_metro"],
        },
    ),
    (
        "Looking for a 1 bedroom in Yizhuang, about 4000 a month, available from April",
        {
            "deal_type": "rent",
            "districts": ["Yizhuang"],
            "budget_min": 3600,
            "budget_max": 4400,
            "bedrooms_min": 1,
            "bedrooms_max": 1,
            "move_in_by": "2026-04-01",
        },
    ),
    (
        "rent 2br Fengtai under 6k, elevator and balcony, pets",
        {
            "deal_type": "rent",
            "districts": ["Fengtai"],
            "budget_max": 6000,
            "bedrooms_min": 2,
            "bedrooms_max": 2,
            "must_have": ["elevator", "balcony"],
            "pets": True,
        },
    ),
    (
        "family of 4, need 3 bedrooms, Daxing, buy, under 5 million, school",
        {
            "deal_type": "sale",
            "districts": ["Daxing"],
            "budget_max": 5000000,
            "bedrooms_min": 3,
            "bedrooms_max": 3,
            "must_have": ["school"],
        },
    ),
    (
        "Shijingshan studio rent 3500 per month, asap",
        {
            "deal_type": "rent",
            "districts": ["Shijingshan"],
            "budget_max": 3500,
            "bedrooms_min": 0,
            "bedrooms_max": 0,
            "move_in_by": "2026-01-15",
        },
    ),
    (
        "apartment in CBD for rent, 2 bedrooms, furnished, 15k",
        {
            "deal_type": "rent",
            "property_types": ["apartment"],
            "districts": ["Guomao"],
            "budget_max": 15000,
            "bedrooms_min": 2,
            "bedrooms_max": 2,
            "furnished": True,
        },
    ),
    (
        "Rent in Tongzhuo 2 bedroom 5000",
        {"deal_type": "rent", "districts": ["Tongzhou"], "budget_max": 5000, "bedrooms_min": 2, "bedrooms_max": 2},
    ),
    (
        "Flat in Haidian District, 80-100 sqm, 2-3 bedrooms, rent",
        {
            "deal_type": "rent",
            "property_types": ["apartment"],
            "districts": ["Haidian"],
            "bedrooms_min": 2,
            "bedrooms_max": 3,
            "area_min": 80,
            "area_max": 100,
        },
    ),
    (
        "Wangjing 2 bed 9000 south facing with gym and pool",
        {
            "deal_type": "rent",  # issue 15: a monthly-sized budget with no deal word means rent
            "districts": ["Wangjing"],
            "budget_max": 9000,
            "bedrooms_min": 2,
            "bedrooms_max": 2,
            "must_have": ["gym", "pool", "south_facing"],
        },
    ),
    (
        "buy 4 bedrooms house Shunyi 8,000,000 with garden",
        {
            "deal_type": "sale",
            "property_types": ["house"],
            "districts": ["Shunyi"],
            "budget_max": 8000000,
            "bedrooms_min": 4,
            "bedrooms_max": 4,
            "must_have": ["garden"],
        },
    ),
    (
        "Sanlitun 1br under 10k per month, move in March 15",
        {
            "deal_type": "rent",
            "districts": ["Sanlitun"],
            "budget_max": 10000,
            "bedrooms_min": 1,
            "bedrooms_max": 1,
            "move_in_by": "2026-03-15",
        },
    ),
    (
        "rent a 2 bedroom in Chaoyang, no elevator needed, at least 70 sqm",
        {"deal_type": "rent", "districts": ["Chaoyang"], "bedrooms_min": 2, "bedrooms_max": 2, "area_min": 70},
    ),
    (
        "我想在朝阳租两居，预算8000以内，下个月入住",
        {
            "deal_type": "rent",
            "districts": ["Chaoyang"],
            "budget_max": 8000,
            "bedrooms_min": 2,
            "bedrooms_max": 2,
            "move_in_by": "2026-02-01",
        },
    ),
    (
        "望京附近求租一室一厅，月租5000左右，可养宠物",
        {
            "deal_type": "rent",
            "districts": ["Wangjing"],
            "budget_min": 4500,
            "budget_max": 5500,
            "bedrooms_min": 1,
            "bedrooms_max": 1,
            "pets": True,
        },
    ),
    (
        "海淀买房，3室2厅，100平以上，总价800万以内",
        {
            "deal_type": "sale",
            "districts": ["Haidian"],
            "budget_max": 8000000,
            "bedrooms_min": 3,
            "bedrooms_max": 3,
            "area_min": 100,
        },
    ),
    (
        "预算1.2亿，想买顺义别墅",
        {"deal_type": "sale", "property_types": ["villa"], "districts": ["Shunyi"], "budget_max": 120000000},
    ),
    (
        "租个单间，一万二以内，近地铁",
        {"deal_type": "rent", "budget_max": 12000, "bedrooms_min": 0, "bedrooms_max": 0, "must_have": ["near_metro"]},
    ),
    (
        "三里屯附近 studio 6000/月 带家具",
        {
            "deal_type": "rent",
            "districts": ["Sanlitun"],
            "budget_max": 6000,
            "bedrooms_min": 0,
            "bedrooms_max": 0,
            "furnished": True,
        },
    ),
    (
        "东城区2室1厅 8千 3月15号入住",
        {
            "deal_type": "rent",  # issue 15: a monthly-sized budget with no deal word means rent
            "districts": ["Dongcheng"],
            "budget_max": 8000,
            "bedrooms_min": 2,
            "bedrooms_max": 2,
            "move_in_by": "2026-03-15",
        },
    ),
    (
        "想买个车位 通州 20万左右",
        {
            "deal_type": "sale",
            "property_types": ["parking"],
            "districts": ["Tongzhou"],
            "budget_min": 180000,
            "budget_max": 220000,
        },
    ),
    (
        "国贸写字楼出租 200平左右",
        {"deal_type": "rent", "property_types": ["office"], "districts": ["Guomao"], "area_min": 180, "area_max": 220},
    ),
    (
        "求租西城三居，15000以内，要电梯",
        {
            "deal_type": "rent",
            "districts": ["Xicheng"],
            "budget_max": 15000,
            "bedrooms_min": 3,
            "bedrooms_max": 3,
            "must_have": ["elevator"],
        },
    ),
    (
        "在大兴买两房，300万以下，带车位",
        {
            "deal_type": "sale",
            "districts": ["Daxing"],
            "budget_max": 3000000,
            "bedrooms_min": 2,
            "bedrooms_max": 2,
            "must_have": ["parking"],
        },
    ),
    (
        "昌平回龙观租房，一居室，3000到4000",
        {
            "deal_type": "rent",
            "districts": ["Changping"],
            "budget_min": 3000,
            "budget_max": 4000,
            "bedrooms_min": 1,
            "bedrooms_max": 1,
        },
    ),
    (
        "亦庄租两室一厅，月租6千，拎包入住",
        {
            "deal_type": "rent",
            "districts": ["Yizhuang"],
            "budget_max": 6000,
            "bedrooms_min": 2,
            "bedrooms_max": 2,
            "furnished": True,
        },
    ),
    (
        "丰台买房 三室 预算500万 学区",
        {
            "deal_type": "sale",
            "districts": ["Fengtai"],
            "budget_max": 5000000,
            "bedrooms_min": 3,
            "bedrooms_max": 3,
            "must_have": ["school"],
        },
    ),
    (
        "石景山租房 两居 5000左右 不要家具",
        {
            "deal_type": "rent",
            "districts": ["Shijingshan"],
            "budget_min": 4500,
            "budget_max": 5500,
            "bedrooms_min": 2,
            "bedrooms_max": 2,
            "furnished": False,
        },
    ),
    (
        "通州买别墅 1500万以内 带花园",
        {
            "deal_type": "sale",
            "property_types": ["villa"],
            "districts": ["Tongzhou"],
            "budget_max": 15000000,
            "must_have": ["garden"],
        },
    ),
    (
        "朝阳区租商铺 月租3万以内 80平以上",
        {
            "deal_type": "rent",
            "property_types": ["shop"],
            "districts": ["Chaoyang"],
            "budget_max": 30000,
            "area_min": 80,
        },
    ),
    (
        "海淀中关村租一居，7000以内，朝南，近地铁",
        {
            "deal_type": "rent",
            "districts": ["Haidian"],
            "budget_max": 7000,
            "bedrooms_min": 1,
            "bedrooms_max": 1,
            "must_have": ["near_metro", "south_facing"],
        },
    ),
    (
        "顺义买房，四居，800万左右，带车位和花园",
        {
            "deal_type": "sale",
            "districts": ["Shunyi"],
            "budget_min": 7200000,
            "budget_max": 8800000,
            "bedrooms_min": 4,
            "bedrooms_max": 4,
            "must_have": ["parking", "garden"],
        },
    ),
    (
        "望京租两居 预算9000-5000",
        {
            "deal_type": "rent",
            "districts": ["Wangjing"],
            "budget_min": 5000,
            "budget_max": 9000,
            "bedrooms_min": 2,
            "bedrooms_max": 2,
            "warnings": ["budget_swapped"],
        },
    ),
    (
        "租房 东城 1室 5千以下 马上入住",
        {
            "deal_type": "rent",
            "districts": ["Dongcheng"],
            "budget_max": 5000,
            "bedrooms_min": 1,
            "bedrooms_max": 1,
            "move_in_by": "2026-01-15",
        },
    ),
    (
        "大兴亦庄买三居 2026-05-01交房 400万",
        {
            "deal_type": "sale",
            "districts": ["Daxing", "Yizhuang"],
            "budget_max": 4000000,
            "bedrooms_min": 3,
            "bedrooms_max": 3,
            "move_in_by": "2026-05-01",
        },
    ),
    (
        "西城买房 80平 两居 1000万以内",
        {
            "deal_type": "sale",
            "districts": ["Xicheng"],
            "budget_max": 10000000,
            "bedrooms_min": 2,
            "bedrooms_max": 2,
            "area_min": 72,
            "area_max": 88,
        },
    ),
    (
        "朝阳三里屯租开间 6000 可以养狗",
        {
            "deal_type": "rent",
            "districts": ["Chaoyang", "Sanlitun"],
            "budget_max": 6000,
            "bedrooms_min": 0,
            "bedrooms_max": 0,
            "pets": True,
        },
    ),
    (
        "海淀租三室，1.5万以内，有阳台，有电梯",
        {
            "deal_type": "rent",
            "districts": ["Haidian"],
            "budget_max": 15000,
            "bedrooms_min": 3,
            "bedrooms_max": 3,
            "must_have": ["elevator", "balcony"],
        },
    ),
    (
        "求租昌平两居，4千左右，四月入住",
        {
            "deal_type": "rent",
            "districts": ["Changping"],
            "budget_min": 3600,
            "budget_max": 4400,
            "bedrooms_min": 2,
            "bedrooms_max": 2,
            "move_in_by": "2026-04-01",
        },
    ),
    (
        "通州租房 2居 预算四千五 不养宠物",
        {
            "deal_type": "rent",
            "districts": ["Tongzhou"],
            "budget_max": 4500,
            "bedrooms_min": 2,
            "bedrooms_max": 2,
            "pets": False,
        },
    ),
    (
        "丰台 出租 一居 2500-3500 带家具",
        {
            "deal_type": "rent",
            "districts": ["Fengtai"],
            "budget_min": 2500,
            "budget_max": 3500,
            "bedrooms_min": 1,
            "bedrooms_max": 1,
            "furnished": True,
        },
    ),
    (
        "石景山买两居 350万 南向 近地铁",
        {
            "deal_type": "sale",
            "districts": ["Shijingshan"],
            "budget_max": 3500000,
            "bedrooms_min": 2,
            "bedrooms_max": 2,
            "must_have": ["near_metro", "south_facing"],
        },
    ),
    (
        "我想买国贸附近的公寓 两室 总价1000万以内",
        {
            "deal_type": "sale",
            "property_types": ["apartment"],
            "districts": ["Guomao"],
            "budget_max": 10000000,
            "bedrooms_min": 2,
            "bedrooms_max": 2,
        },
    ),
    (
        "租望京一居室 月租6000 要健身房",
        {
            "deal_type": "rent",
            "districts": ["Wangjing"],
            "budget_max": 6000,
            "bedrooms_min": 1,
            "bedrooms_max": 1,
            "must_have": ["gym"],
        },
    ),
    (
        "东城买四合院 house 3000万",
        {"deal_type": "sale", "property_types": ["house"], "districts": ["Dongcheng"], "budget_max": 30000000},
    ),
    (
        "朝阳 2室 8000 rent with parking 近地铁",
        {
            "deal_type": "rent",
            "districts": ["Chaoyang"],
            "budget_max": 8000,
            "bedrooms_min": 2,
            "bedrooms_max": 2,
            "must_have": ["parking", "near_metro"],
        },
    ),
    (
        "Haidian 两居 rent 7000以内 furnished",
        {
            "deal_type": "rent",
            "districts": ["Haidian"],
            "budget_max": 7000,
            "bedrooms_min": 2,
            "bedrooms_max": 2,
            "furnished": True,
        },
    ),
    (
        "买房 Shunyi villa 2000万 带泳池",
        {
            "deal_type": "sale",
            "property_types": ["villa"],
            "districts": ["Shunyi"],
            "budget_max": 20000000,
            "must_have": ["pool"],
        },
    ),
    (
        "1 bedroom flat, 45㎡, Dongcheng, rent ¥8000",
        {
            "deal_type": "rent",
            "property_types": ["apartment"],
            "districts": ["Dongcheng"],
            "budget_max": 8000,
            "currency": "CNY",
            "bedrooms_min": 1,
            "bedrooms_max": 1,
            "area_min": 40,
            "area_max": 50,
        },
    ),
    (
        "around 90 in Xicheng to buy, 2 bedrooms",
        {
            "deal_type": "sale",
            "districts": ["Xicheng"],
            "bedrooms_min": 2,
            "bedrooms_max": 2,
            "area_min": 81,
            "area_max": 99,
        },
    ),
    (
        "Dongchen 2br rent 8k",
        {"deal_type": "rent", "districts": ["Dongcheng"], "budget_max": 8000, "bedrooms_min": 2, "bedrooms_max": 2},
    ),
    (
        "Haidain 1 bed to rent, no pets",
        {"deal_type": "rent", "districts": ["Haidian"], "bedrooms_min": 1, "bedrooms_max": 1, "pets": False},
    ),
    (
        "Shunyii villa to buy, 10 million",
        {"deal_type": "sale", "property_types": ["villa"], "districts": ["Shunyi"], "budget_max": 10000000},
    ),
    (
        "2 bedrooms in cheng, rent 6000",
        {
            "deal_type": "rent",
            "budget_max": 6000,
            "bedrooms_min": 2,
            "bedrooms_max": 2,
            "district_candidates": {"cheng": ["Xicheng", "Dongcheng"]},
        },
    ),
    (
        "海淀 两室 90平米 租 八千",
        {
            "deal_type": "rent",
            "districts": ["Haidian"],
            "budget_max": 8000,
            "bedrooms_min": 2,
            "bedrooms_max": 2,
            "area_min": 81,
            "area_max": 99,
        },
    ),
    (
        "3月入住 朝阳 一居 租 6000",
        {
            "deal_type": "rent",
            "districts": ["Chaoyang"],
            "budget_max": 6000,
            "bedrooms_min": 1,
            "bedrooms_max": 1,
            "move_in_by": "2026-03-01",
        },
    ),
]


def test_table_is_big_and_half_chinese():
    chinese = [text for text, _ in CASES if has_chinese(text)]
    assert len(CASES) >= 60
    assert len(chinese) * 2 >= len(CASES)


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[f"{i:02d}" for i in range(len(CASES))])
def test_phrasing(text: str, expected: dict) -> None:
    got = parse_need(text, INDEX, TODAY).to_json()
    for key in CONTRACT_KEYS:
        assert got[key] == expected.get(key), f"{key} of {text!r}"
    for key in ("warnings", "exclude", "district_candidates"):
        assert got.get(key) == expected.get(key), f"{key} of {text!r}"
