"""Why a listing was suggested (reasons) and where it falls short (misses), in English and Chinese.

Ranking emits codes with parameters; `render` turns them into text for one language, so the dialogs,
the console and the CLI all say the same thing.
"""

from __future__ import annotations

from typing import Any

FEATURE_NAMES = {
    "parking": ("parking", "车位"),
    "elevator": ("an elevator", "电梯"),
    "near_metro": ("near the metro", "近地铁"),
    "balcony": ("a balcony", "阳台"),
    "garden": ("a garden", "花园"),
    "gym": ("a gym", "健身房"),
    "pool": ("a pool", "泳池"),
    "school": ("a good school nearby", "学区"),
    "south_facing": ("south-facing", "朝南"),
}
PROPERTY_NAMES = {
    "apartment": ("Apartment", "公寓"),
    "house": ("House", "住宅"),
    "villa": ("Villa", "别墅"),
    "office": ("Office", "写字楼"),
    "shop": ("Shop", "商铺"),
    "parking": ("Parking space", "车位"),
}
FEEDBACK_NAMES = {
    "too_far": ("too far", "太远"),
    "too_expensive": ("too expensive", "太贵"),
    "too_small": ("too small", "太小"),
    "layout": ("layout", "户型不合适"),
    "other": ("not for you", "不合适"),
}
CONSTRAINT_NAMES = {
    "budget": ("your budget", "预算"),
    "districts": ("the districts", "区域"),
    "bedrooms": ("the number of bedrooms", "居室数"),
    "area": ("the size", "面积"),
    "must_have": ("the must-haves", "必备条件"),
    "move_in": ("the move-in date", "入住日期"),
    "property_types": ("the property type", "房源类型"),
    "pets": ("pets allowed", "可养宠物"),
    "furnished": ("the furniture", "家具要求"),
    "decoration": ("the decoration", "装修要求"),
}
DECORATION_NAMES = {
    "fine": ("Finely decorated", "精装修"),
    "basic": ("Basic decoration", "简装修"),
    "bare": ("Bare shell", "毛坯"),
}

MESSAGES: dict[str, tuple[str, str]] = {
    # reasons
    "kind": ("{kind_en} for {deal_en}", "{deal_zh}{kind_zh}"),
    "loc_in": ("In {district}", "位于{district_zh}"),
    "loc_neighbour": ("In {district}, next to {near}", "位于{district_zh}，紧邻{near_zh}"),
    "loc_nearby": ("{km} km from {near}", "距{near_zh}{km}公里"),
    "price_within": ("{price} is within your budget", "{price}，在预算内"),
    "price_below": ("{price}, below your budget range", "{price}，低于预算区间"),
    "rooms_match": ("{n} bedrooms as wanted", "{n}室，符合要求"),
    "rooms_studio": ("A studio as wanted", "开间，符合要求"),
    "rooms_extra": ("{n} bedrooms, one more than asked", "{n}室，比要求多一间"),
    "area_ok": ("{area} m² fits the size you want", "{area}平米，面积合适"),
    "area_large": ("{area} m², roomier than asked", "{area}平米，比要求更宽敞"),
    "move_in_ok": ("Available from {date}, in time for your move", "{date}起可入住，赶得上您的入住时间"),
    "feature_has": ("Has {feature_en}", "有{feature_zh}"),
    "pets_ok": ("Pets allowed", "可养宠物"),
    "furnished_ok": ("Furnished", "带家具"),
    "unfurnished_ok": ("Unfurnished, as wanted", "不带家具，符合要求"),
    "partly_furnished_ok": ("Partly furnished, as wanted", "部分家具，符合要求"),
    "decoration_ok": ("{level_en}", "{level_zh}"),
    # misses
    "price_over": ("{price}, {pct}% over your budget", "{price}，超出预算{pct}%"),
    "area_small": ("{area} m², a little under the size you want", "{area}平米，比期望略小"),
    "move_in_late": ("Available only from {date}", "{date}才可入住"),
    "move_in_unknown": ("Availability date not stated", "未注明可入住日期"),
    "pets_unknown": ("Pets not mentioned by the landlord", "未注明是否可养宠物"),
    "furnished_unknown": ("Furniture not stated", "未注明是否带家具"),
    "partly_furnished": ("Only partly furnished", "仅部分家具"),
    "decoration_unknown": ("Decoration not stated", "未注明装修情况"),
    "feedback_similar": ("Similar to one you turned down ({why_en})", "与您拒绝过的房源相似（{why_zh}）"),
    # warnings from parsing
    "budget_swapped": ("The budget range looked reversed, so I swapped it", "预算区间似乎写反了，已为您调换"),
    "area_swapped": ("The size range looked reversed, so I swapped it", "面积区间似乎写反了，已为您调换"),
    "text_truncated": ("Your message was very long; I read the beginning only", "消息太长，只读取了开头部分"),
    "not_understood": ("Sorry, I could not understand that", "抱歉，没能理解您的需求"),
    "deal_type_ambiguous": ("Do you want to rent or to buy?", "请问您是想租房还是买房？"),
    "seller_intent": ("It sounds like you want to sell; an agent can help", "您似乎想出售房产，顾问可以帮您"),
    "landlord_intent": (
        "It sounds like you want to let your home; an agent can help", "您似乎想出租自己的房子，顾问可以帮您"
    ),
    "bad_date": ("That date does not exist; please check it", "日期无效，请检查"),
    # why no results
    "relax": ("Relaxing {constraint_en} would give {count_en}", "放宽{constraint_zh}可找到{count}套房源"),
    "relax_none": ("Relaxing {constraint_en} alone would not help", "仅放宽{constraint_zh}仍无结果"),
}


def format_price(price: float, deal_type: str | None, lang: str) -> str:
    amount = f"¥{price:,.0f}"
    if deal_type == "rent":
        return f"{amount}/month" if lang == "en" else f"月租{amount}"
    if lang == "zh" and price >= 10_000:
        wan = f"{price / 10_000:,.2f}".rstrip("0").rstrip(".")
        return f"{amount}（{wan}万）"
    return amount


def render(code: str, lang: str, **params: Any) -> str:
    """Text for a reason, miss or warning code in 'en' or 'zh'; unknown params are ignored."""
    en, zh = MESSAGES[code]
    template = zh if lang == "zh" else en
    values = dict(params)
    if "feature" in values:
        values["feature_en"], values["feature_zh"] = FEATURE_NAMES.get(values["feature"], (values["feature"],) * 2)
    if "why" in values:
        values["why_en"], values["why_zh"] = FEEDBACK_NAMES.get(values["why"], (values["why"],) * 2)
    if "constraint" in values:
        values["constraint_en"], values["constraint_zh"] = CONSTRAINT_NAMES.get(
            values["constraint"], (values["constraint"],) * 2
        )
    if "level" in values:
        values["level_en"], values["level_zh"] = DECORATION_NAMES.get(values["level"], (values["level"],) * 2)
    if "kind" in values:
        values["kind_en"], values["kind_zh"] = PROPERTY_NAMES.get(values["kind"], (values["kind"],) * 2)
    if "deal" in values:
        values["deal_en"], values["deal_zh"] = ("rent", "出租") if values["deal"] == "rent" else ("sale", "出售")
    if "count" in values:
        values["count_en"] = f"{values['count']} result" + ("" if values["count"] == 1 else "s")
    if "price_value" in values:
        values["price"] = format_price(values["price_value"], values.get("deal_type"), lang)
    for key in ("district", "near"):
        if key in values and f"{key}_zh" not in values:
            values[f"{key}_zh"] = values[key]
    return template.format(**values)
