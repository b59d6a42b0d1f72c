"""Words the parser understands, per language; one place to add a synonym."""

from __future__ import annotations

# Deal type words. 出租 is listed by customers as 'a rental' more often than 'I let mine', so it means rent.
RENT_EN = r"rent|renting|rental|rentals|lease|leasing|to let|for let|tenants?"
SALE_EN = r"buy|buying|purchase|purchasing|to own|for sale|sell|selling|sale|mortgage|down payment"
RENT_ZH = r"求租|出租|租房|整租|合租|月租|租"
SALE_ZH = r"求购|购买|购房|买房|出售|二手房|新房|全款|首付|按揭|买|卖"

PROPERTY_TYPES_EN = {
    "apartment": r"apartments?|apt|flats?|condos?|condominiums?",
    "house": r"houses?|townhouses?|town house",
    "villa": r"villas?",
    "office": r"offices?|office space|workspace",
    "shop": r"shops?|stores?|storefront|retail(?: space)?|shopfront",
    "parking": r"parking (?:space|spot|lot|place|bay)s?|garage space|car park space",
}
PROPERTY_TYPES_ZH = {
    "apartment": r"公寓|住宅|楼房|单元房",
    "house": r"平房|独门独院|联排",
    "villa": r"别墅",
    "office": r"写字楼|办公室|办公楼|办公",
    "shop": r"商铺|铺面|门面|店面|底商|商铺",
    "parking": r"停车位|车位",
}

FEATURES_EN = {
    "parking": r"parking|car park|garage",
    "elevator": r"elevators?|lifts?",
    "near_metro": r"(?:near|close to|next to|by) (?:the |a )?(?:metro|subway)|metro|subway",
    "balcony": r"balcon(?:y|ies)",
    "garden": r"gardens?|yard",
    "gym": r"gym|fitness",
    "pool": r"(?:swimming )?pool",
    "school": r"school district|schools?",
    "south_facing": r"south[- ]facing|facing south",
}
FEATURES_ZH = {
    "parking": r"车位|停车位|停车",
    "elevator": r"电梯",
    "near_metro": r"近地铁|靠近地铁|地铁口|地铁房|地铁",
    "balcony": r"阳台",
    "garden": r"花园|院子",
    "gym": r"健身房",
    "pool": r"游泳池|泳池",
    "school": r"学区房|学区|学校",
    "south_facing": r"坐北朝南|朝南|南向",
}
PETS_EN = r"pets?|pet[- ]friendly|dogs?|cats?|puppy|kitten"
PETS_ZH = r"可养宠物|宠物|养狗|养猫|狗|猫"
FURNISHED_EN = r"fully furnished|furnished|furniture"
FURNISHED_ZH = r"家具齐全|带家具|拎包入住|家具|家电齐全"
UNFURNISHED_EN = r"unfurnished|no furniture|without furniture|empty"
UNFURNISHED_ZH = r"不带家具|无家具|没有家具|不配家具|空房"
PARTLY_FURNISHED_EN = (
    r"(?:partly|partially|part|semi)[\s-]?furnished|some furniture|basic furniture|partial furniture|"
    r"furniture partly|partly with furniture"
)
PARTLY_FURNISHED_ZH = r"部分家具|部分家电|半家具|简单家具|基本家具|家具不全|少量家具"

# Decoration levels (装修): level -> (English, Chinese). 毛坯/清水房 is a bare shell, not just 'no furniture'.
DECORATION = {
    "fine": (
        r"(?:fully|finely|nicely|well|beautifully|luxuriously|newly|high[- ]end|luxury)[\s-]?(?:decorated|renovated|"
        r"finished|fitted out)|(?:luxury|fine|high[- ]end|quality) (?:decoration|renovation|finish(?:ing)?)|"
        r"renovated|refurbished|move-in ready|turnkey",
        r"精装修|精装|豪装|豪华装修|精致装修|高档装修|精修|装修好|新装修",
    ),
    "basic": (
        r"(?:simply|basically|lightly|modestly|plainly)[\s-]?(?:decorated|renovated|finished)|"
        r"(?:simple|basic|plain|light) (?:decoration|renovation|finish(?:ing)?)",
        r"简装修|简装|简单装修|普通装修|中等装修|中装",
    ),
    "bare": (
        r"bare[\s-]?shell|shell condition|shell unit|unfinished|undecorated|unrenovated|no decoration|"
        r"not decorated|raw (?:unit|flat|apartment|condition)",
        r"毛坯房|毛坯|清水房|清水|未装修|没装修|没有装修",
    ),
}

NEGATION_EN = r"(?:\bno|\bnot|\bwithout|\bw/o|\bnon)[\s-]+(?:[a-z]+\s+)?$"
INDIFFERENT_EN = r"(?:don'?t|do not|doesn'?t|no) need(?:s)?(?: a| an| for)?\s+(?:[a-z]+\s+)?$"
NEGATION_ZH = r"(?:不要|不带|不养|没养|没有|无|不|免|拒绝|别)$"
INDIFFERENT_ZH = r"(?:不需要|不用|无所谓|不必)$"
INDIFFERENT_AFTER_EN = r"^\s?(?:is |are )?(?:not )?(?:needed|required|necessary|important)\b"

MONTHS_EN = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}

# The parser's own English vocabulary: never fuzzy-matched against district names.
STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any apartment apartments approx approximately are
    around as at available balcony bath bathroom bathrooms be bed bedroom bedrooms beds before below between
    big bright budget but buy buying by can cats change changing cheap children city close condo could
    dates daughter december district dogs down each elevator empty family february fitness flat flats floor
    for friendly from fully furnished furniture garage garden good ground have having hello help house
    houses ideally immediately in into january july june kids large lease least less lift like living
    looking march maximum maybe meters metres metro million minimum modern month monthly more most move
    moving near need needs new next nice november october of office offices old only or over parking
    people per pets place please pool prefer preferably price quiet range renting rental school schools
    september shops small something somewhere south spacious square start starting store studio subway
    than thanks thank that the their there these thing this thousand total town under upper very village
    villa villas want wanted wants week weeks where which wife with within without would yard year years
    april august budget rooms room space spot family house need
    """.split()
)
