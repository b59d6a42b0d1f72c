"""A small Beijing: districts and neighbourhoods with names in both languages, aliases and neighbours."""

from __future__ import annotations

from matching.districts import DistrictIndex

BEIJING = [
    # name, name_zh, aliases, lat, lon, neighbours
    ("Chaoyang", "朝阳", ["朝阳区", "Chaoyang District"], 39.9219, 116.4434,
     ["Dongcheng", "Haidian", "Fengtai", "Shunyi", "Tongzhou", "Changping", "Daxing", "Wangjing", "Sanlitun",
      "Guomao"]),
    ("Wangjing", "望京", ["望京SOHO"], 40.0003, 116.4704, ["Chaoyang"]),
    ("Sanlitun", "三里屯", ["Sanlitun Village"], 39.9366, 116.4551, ["Chaoyang", "Guomao", "Dongcheng"]),
    ("Guomao", "国贸", ["CBD", "China World"], 39.9087, 116.4609, ["Chaoyang", "Sanlitun", "Dongcheng"]),
    ("Haidian", "海淀", ["海淀区", "Zhongguancun", "中关村"], 39.9593, 116.2981,
     ["Xicheng", "Chaoyang", "Changping", "Shijingshan", "Fengtai"]),
    ("Dongcheng", "东城", ["东城区", "Dongcheng District"], 39.9288, 116.4163, ["Xicheng", "Chaoyang", "Fengtai"]),
    ("Xicheng", "西城", ["西城区"], 39.9123, 116.3660, ["Dongcheng", "Haidian", "Fengtai"]),
    ("Fengtai", "丰台", ["丰台区"], 39.8585, 116.2870,
     ["Xicheng", "Dongcheng", "Chaoyang", "Haidian", "Shijingshan", "Daxing"]),
    ("Shunyi", "顺义", ["顺义区"], 40.1300, 116.6546, ["Chaoyang", "Changping", "Tongzhou"]),
    ("Tongzhou", "通州", ["通州区", "城市副中心"], 39.9097, 116.6566, ["Chaoyang", "Daxing", "Shunyi"]),
    ("Changping", "昌平", ["昌平区", "回龙观", "天通苑"], 40.2207, 116.2312, ["Haidian", "Chaoyang", "Shunyi"]),
    ("Daxing", "大兴", ["大兴区"], 39.7269, 116.3413, ["Fengtai", "Chaoyang", "Tongzhou", "Yizhuang"]),
    ("Shijingshan", "石景山", ["石景山区"], 39.9056, 116.2229, ["Haidian", "Fengtai"]),
    ("Yizhuang", "亦庄", ["E-Town", "经开区"], 39.7950, 116.5060, ["Daxing", "Tongzhou", "Chaoyang"]),
]


def district_rows() -> list[dict]:
    return [
        {"city": "Beijing", "name": n, "name_zh": zh, "aliases": [zh, *aliases], "lat": lat, "lon": lon,
         "neighbours": neighbours}
        for n, zh, aliases, lat, lon, neighbours in BEIJING
    ]


def beijing_index() -> DistrictIndex:
    return DistrictIndex.build(district_rows())
