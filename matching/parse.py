"""Free text (English, Simplified Chinese, or both) to Criteria. Nothing invented: unstated stays empty.

Parsing runs in passes over a normalised copy of the text. Each pass blanks what it consumed, so
'2室1厅' is never read as a budget, nor '90平' as a price, nor '三里屯' as 'three'.
"""

from __future__ import annotations

import calendar
import logging
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from matching import vocab
from matching.criteria import Criteria
from matching.districts import DistrictIndex
from matching.levels import DEFAULT_LEVELS, PriceLevels
from matching.numbers import CN_BIG_UNITS, CN_NUMERAL_CHARS, apply_suffix, to_number
from matching.owner_intent import owner_intent
from storage.text import is_chinese

log = logging.getLogger(__name__)

MAX_CHARS = 1000  # longer messages are cut here (with a warning); needs are never that long
# A bare number (no currency, multiplier or budget word) above this is a phone number or noise, not a budget.
MAX_AMOUNT = 5e9
AROUND_LOW, AROUND_HIGH = 0.9, 1.1
MAX_BEDROOMS = 10  # more is questioned, never taken

_CN = f"[{CN_NUMERAL_CHARS}]+"
_NUM = rf"(?:\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+|{_CN})"
_SUFFIX = r"(?:\s?(?:千万|百万|k|w|万|千|亿|million|mln|mil|mn|thousand|grand)(?![a-z])|m(?![a-z0-9²]))"
_CURRENCY_PRE = r"(?:¥|us\$|\$|rmb|cny|usd|人民币|美元|美金)\s?"
_CURRENCY_POST = (
    r"(?:\s?(?:元人民币|人民币|元|块钱|块|rmb|cny|yuan|kuai|usd|us dollars?|dollars?|bucks|美元|美金|刀))"
)
_AMOUNT = rf"(?P<cur@>{_CURRENCY_PRE})?(?P<num@>{_NUM})(?P<suf@>{_SUFFIX})?(?P<post@>{_CURRENCY_POST})?"
_RANGE_SEP = r"\s?(?:-|~|–|—|to|至|到)\s?"
_MONEY = re.compile(rf"{_AMOUNT.replace('@', '1')}(?:{_RANGE_SEP}{_AMOUNT.replace('@', '2')})?")

_MAX_BEFORE = re.compile(
    r"(?:under|below|less than|lower than|cheaper than|max(?:imum)?|up to|upto|at most|tops|no more than|"
    r"not more than|no higher than|not higher than|not over|not above|no over|not exceeding|not to exceed|"
    r"no greater than|within|capped at|cap(?: of| is)?|ceiling(?: of| is)?|<=?|≤|"
    r"budget(?: is| of)?|不超过|不超出|不高于|不要超过|别超过|最多|最高|顶多|封顶|控制在|预算|以内)"
    r"\s?(?:is\s|of\s|:\s?)?$"
)
_MIN_BEFORE = re.compile(
    r"(?:over|above|more than|at least|min(?:imum)?|from|starting(?: at| from)?|no less than|not less than|"
    r">=?|≥|至少|最少|最低|起码|不低于|不少于)\s?(?:of\s|:\s?)?$"
)
_AROUND_BEFORE = re.compile(r"(?:around|about|approx(?:imately)?\.?|roughly|~|约|大约|大概|差不多|估计)\s?$")
_MIN_AFTER = re.compile(r"^\s?(?:以上|起步|起|\+|or more|or above|or higher|and up|and above|plus|minimum|min\b)")
_MAX_AFTER = re.compile(
    r"^\s?(?:以内|以下|之内|封顶|tops\b|max(?:imum)?\b|at most|or less|or below|or under|or lower|and below|"
    r"and under|or cheaper)"
)
_AROUND_AFTER = re.compile(r"^\s?(?:左右|上下|前后|or so|ish|-ish)")
_PER_MONTH = re.compile(
    r"^\s?(?:/\s?(?:month|mo|mth|m)\b|/月|per month|per mo\b|a month|monthly|each month|every month|pm\b|p\.m\.|"
    r"每月|一个月|每个月|/个月|月)"
)
_PER_MONTH_BEFORE = re.compile(r"(?:月租|每月|月租金|租金|monthly|rent of|rent|rent budget)\s?(?:is\s|of\s|:\s?)?$")
_PER_YEAR = re.compile(r"^\s?(?:/\s?(?:year|yr)\b|/年|per year|a year|yearly|annually|每年|一年)")
_PER_YEAR_BEFORE = re.compile(r"(?:年租|每年|年租金)\s?$")
_TOTAL_BEFORE = re.compile(r"(?:总价|全款|total|in total|total price)\s?(?:is\s|of\s|:\s?)?$")
_NEGATIVE = re.compile(r"(?:^|[^\da-z万千百亿.])-$")
_DOWN_PAYMENT_BEFORE = re.compile(r"(?:首付|down payment|deposit|押金|定金|订金)\s?(?:of\s|is\s|:\s?)?$")
_SCIENTIFIC = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?e[+-]?\d+)(?![\w.])")
_BETWEEN = re.compile(r"\bbetween\s+(\S+(?:\s\S+){0,2}?)\s+and\s+")

_BEDROOM_UNIT_EN = r"(?:br|bd|bdrm|bdr|bed|beds|bedrooms?|b/r|bedroomed|rooms?)\b"
_BED_NUM_EN = r"(?<![\d.,a-z])(\d+|one|two|three|four|five|six|seven|eight|nine|ten|a|single)"
_BEDS_RANGE_EN = re.compile(rf"{_BED_NUM_EN}\s?(?:-|to|~|or)\s?{_BED_NUM_EN}[\s-]?{_BEDROOM_UNIT_EN}")
_BEDS_EN = re.compile(
    rf"(?P<pre>at least |min(?:imum)? )?{_BED_NUM_EN}\s?(?P<plus>\+)?[\s-]?{_BEDROOM_UNIT_EN}(?P<more> or more|\+)?"
)
# Listing-site shorthand: '3b2b', '1br1ba', '2bd/1ba', '3 bed 2 bath', '2b2b'.
_BEDS_BATHS_EN = re.compile(
    r"(?<![\w.,])(\d+)\s?(?:b|br|bd|bdr|bdrm|bed|beds|bedrooms?)\s?[/,&+]?\s?(?:and\s)?"
    r"(\d+(?:\.5)?)\s?(?:b|ba|bth|bath|baths|bathrooms?)(?![a-z])"
)
_BED_NUM_ZH = r"(?<![\d.])(\d+|[一二两三四五六七八九十]+)"
_BED_UNIT_ZH = r"(?:居室|居|室|房间|房)"
_HALLS_ZH = r"(?:\s?[一二两三\d]\s?(?:厅|卫|厨|阳台))*"
_BEDS_RANGE_ZH = re.compile(
    rf"{_BED_NUM_ZH}\s?(?:-|~|到|至|或)\s?{_BED_NUM_ZH}\s?{_BED_UNIT_ZH}{_HALLS_ZH}"
)
_BEDS_ZH = re.compile(
    rf"(?P<pre>至少|最少)?{_BED_NUM_ZH}\s?{_BED_UNIT_ZH}(?![租金])\s?{_HALLS_ZH}(?P<more>及以上|以上|或以上)?"
)
_STUDIO_OR = re.compile(
    rf"(?:\bstudios?|单间|开间)\s?(?:or|/|或者?|to|-)\s?(?:a\s)?{_BED_NUM_EN}[\s-]?{_BEDROOM_UNIT_EN}"
    rf"|(?:\bstudios?|单间|开间)\s?(?:or|/|或者?|到|-)\s?{_BED_NUM_ZH}\s?{_BED_UNIT_ZH}"
)
_STUDIO = re.compile(r"\bstudios?\b|\bbachelor(?: apartment| flat|'s)?\b|单间|开间|一室户|单身公寓")

_AREA_UNIT = r"(?:m2|sqm|sq\.?\s?m(?:eters?|etres?)?|square\s?met(?:er|re)s?|平方米|平米|平方|平)"
_AREA = re.compile(
    rf"(?P<pre>at least |min(?:imum)? |over |above |more than |under |below |less than |max(?:imum)? |up to |"
    rf"around |about |approx(?:imately)?\.? |~\s?|至少|不小于|不低于|大约|约|大概)?"
    rf"(?P<a>{_NUM})(?:(?:\s?{_AREA_UNIT})?\s?(?:-|~|to|到|至)\s?(?P<b>{_NUM}))?\s?{_AREA_UNIT}"
    rf"(?P<post>\s?(?:以上|及以上|以下|以内|左右|上下|\+|or more|or larger|or less|or smaller|max|min))?"
)
_BARE_AREA = re.compile(
    rf"(?:around|about|approx(?:imately)?\.?|roughly|大约|大概)\s?(?P<a>{_NUM})(?![\d.,a-z万千亿k])"
)

_ISO_DATE = re.compile(r"(20\d\d)\s?[-/.年]\s?(\d{1,2})\s?[-/.月]\s?(\d{1,2})\s?[日号]?")
_CN_DAY = r"(\d{1,2}|[一二三四五六七八九十]{1,3})"
_ZH_MONTH_DAY = re.compile(rf"{_CN_DAY}\s?月\s?{_CN_DAY}\s?[日号]")
_ZH_MONTH = re.compile(rf"(?<![\d个]){_CN_DAY}\s?月(?:份|初|中|底)?(?![租])")
_EN_MONTH_NAMES = "|".join(sorted(vocab.MONTHS_EN, key=len, reverse=True))
_EN_MONTH_DAY = re.compile(rf"\b({_EN_MONTH_NAMES})\.?\s(\d{{1,2}})(?:st|nd|rd|th)?\b")
_EN_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s(?:of\s)?({_EN_MONTH_NAMES})\b")
_EN_MONTH = re.compile(
    rf"\b(?P<pre>in|by|from|before|early|mid|end of|late|start of|since|after)?\s?\b({_EN_MONTH_NAMES})\b"
)
_NEXT_MONTH = re.compile(r"next month|下个月|下月")
_THIS_MONTH = re.compile(r"this month|本月|这个月|这月")
_NEXT_WEEK = re.compile(r"next week|下周|下个星期|下星期")
_NOW = re.compile(r"\basap\b|as soon as possible|immediately|right away|马上|立即|立刻|尽快|随时入住|现在就")

_HTML_TAG = re.compile(r"<[^<>]{0,300}>")
_SPACES = re.compile(r"\s+")


@dataclass
class _Text:
    """The working text; consumed spans are blanked so later passes cannot read them again."""

    value: str

    def blank(self, start: int, end: int) -> None:
        self.value = self.value[:start] + " " * (end - start) + self.value[end:]


def parse_need(text: str, index: DistrictIndex, today: date, levels: PriceLevels | None = None) -> Criteria:
    """Criteria from free text. Never raises: junk in, empty criteria out.

    `levels` are what homes cost here (matching.levels, the USD rate among them): a budget with no deal word
    gets its deal type from them, and amounts or sizes far outside them are questioned, not taken.
    """
    criteria = Criteria()
    if not isinstance(text, str) or not text.strip():
        return criteria
    if len(text) > MAX_CHARS:
        criteria.warnings.append("text_truncated")
        text = text[:MAX_CHARS]
    try:
        _parse(_normalise(text), index, today, criteria, levels or DEFAULT_LEVELS)
        intent = owner_intent(text)
        if intent is not None:
            # An owner's sentence is not a search: say so, so no caller takes it as one silently.
            criteria.warnings.append("seller_intent" if intent == "sell" else "landlord_intent")
    except Exception:  # a parser bug must not take the conversation down; the dialog asks again
        log.exception("need parsing failed")
        return Criteria(warnings=["not_understood"])
    return criteria


_CN_DECIMAL = re.compile(rf"([{CN_NUMERAL_CHARS}\d]+)点([零一二三四五六七八九\d]+)")
_CN_FRACTION_DIGITS = {"零": "0", "一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7",
                       "八": "8", "九": "9"}
_CN_ONE_DIGIT = "一二两三四五六七八九"


def _cn_decimal(m: re.Match[str]) -> str:
    """'三点五' -> '3.5' (then '3.5亿' is read like any number with a multiplier)."""
    whole = to_number(m.group(1))
    if whole is None or whole != int(whole):
        return m.group(0)
    fraction = "".join(_CN_FRACTION_DIGITS.get(ch, ch) for ch in m.group(2))
    return f"{int(whole)}.{fraction}"


def _colloquial(m: re.Match[str]) -> str:
    """'1万2' / '1w2' / '3万五' = 12000 / 12000 / 35000; '8千5' / '8k5' / '8千五' = 8500; '3万5千' = 35000."""
    head = float(m.group(1))
    unit = 10_000 if m.group(2) in ("万", "w") else 1_000
    digit = m.group(3)
    value = to_number(digit) or 0
    tail_unit = m.group(4)
    if tail_unit:  # '3万5千': the digit says its own unit
        return f"{head * unit + value * (1_000 if tail_unit in ('千', 'k') else 100):g}"
    return f"{head * unit + value * unit / 10:g}"


def _normalise(text: str) -> _Text:
    # NFKC folds full-width digits and punctuation, ㎡ to m2 and ￥ to ¥.
    value = unicodedata.normalize("NFKC", text)
    value = _HTML_TAG.sub(" ", value)
    value = value.replace("，", ",").replace("、", ",").replace("。", ".").replace("：", ":").replace("－", "-")
    value = re.sub(r"(?<=\d)\s?m²", "m2", value)
    value = _SPACES.sub(" ", value.lower())
    value = _CN_DECIMAL.sub(_cn_decimal, value)
    value = re.sub(
        rf"(\d+(?:\.\d+)?)\s?([万w千k])([1-9]|[{_CN_ONE_DIGIT}])(?:([千k百])|(?![\d千k百.万w元块]))",
        _colloquial,
        value,
    )
    value = _BETWEEN.sub(lambda m: f"between {m.group(1)} to ", value)  # 'between 5k and 8k' is a range
    value = _CN_NEIGHBOURS.sub(_cn_neighbours, value)
    value = _SQFT_RANGE.sub(lambda m: f"{_sqm(m.group(1))}-{_sqm(m.group(2))}m2", value)
    value = _SQFT.sub(lambda m: f"{_sqm(m.group(1))}m2", value)
    return _Text(value)


# '五六千' is five to six thousand, '三四百万' three to four million: two neighbouring digits before a unit.
_CN_NEIGHBOURS = re.compile(
    r"(?<![一二两三四五六七八九十百千万亿\d])([一二两三四五六七八])([二三四五六七八九])([十百千万])"
)
_SQFT_UNIT = r"\s?(?:sq\.?\s?ft|sqft|square\s?f(?:ee|oo)t|ft2|ft²|平方英尺)\b"
_SQFT = re.compile(rf"(\d[\d,]*(?:\.\d+)?){_SQFT_UNIT}")
_SQFT_RANGE = re.compile(rf"(\d[\d,]*(?:\.\d+)?)\s?(?:-|~|to)\s?(\d[\d,]*(?:\.\d+)?){_SQFT_UNIT}")
SQM_PER_SQFT = 0.092903


def _sqm(feet: str) -> str:
    return f"{round(float(feet.replace(',', '')) * SQM_PER_SQFT)}"


def _cn_neighbours(m: re.Match[str]) -> str:
    first, second = to_number(m.group(1)), to_number(m.group(2))
    if first is None or second != first + 1:
        return m.group(0)
    return f"{m.group(1)}{m.group(3)}-{m.group(2)}{m.group(3)}"


def _parse(text: _Text, index: DistrictIndex, today: date, criteria: Criteria, levels: PriceLevels) -> None:
    _scientific(text, criteria)
    _districts(text, index, criteria)
    if criteria.districts and criteria.districts[0] in index.records:
        levels = levels.for_city(index.records[criteria.districts[0]].city)
    _deal_type(text.value, criteria)
    _move_in(text, today, criteria)
    _area(text, criteria, levels)
    _bedrooms(text, criteria)
    _budget(text, criteria, levels)
    _property_types(text, criteria)
    _features(text.value, criteria)
    _decoration(text.value, criteria)


def _scientific(text: _Text, criteria: Criteria) -> None:
    """'1e309' or '5e3' is no way anyone writes a budget: it is questioned, never read as ¥1 or ¥5."""
    for m in list(_SCIENTIFIC.finditer(text.value)):
        criteria.questioned["budget"] = m.group(1)
        text.blank(m.start(), m.end())


def _districts(text: _Text, index: DistrictIndex, criteria: Criteria) -> None:
    for mention in index.find_in_text(text.value, skip_words=vocab.STOP_WORDS):
        if mention.match:
            if mention.match not in criteria.districts:
                criteria.districts.append(mention.match)
        elif mention.candidates:
            criteria.district_candidates[mention.text.strip()] = list(mention.candidates)
        text.blank(mention.start, mention.end)


def _has(pattern: str, value: str, latin: bool) -> bool:
    if latin:
        return re.search(rf"(?<![a-z])(?:{pattern})(?![a-z])", value) is not None
    return re.search(pattern, value) is not None


def _deal_type(value: str, criteria: Criteria) -> None:
    rent = _has(vocab.RENT_EN, value, True) or _has(vocab.RENT_ZH, value, False)
    sale = _has(vocab.SALE_EN, value, True) or _has(vocab.SALE_ZH, value, False)
    if rent and sale:
        # 'rent or buy': ask rather than guess.
        criteria.warnings.append("deal_type_ambiguous")
        return
    if rent:
        criteria.deal_type = "rent"
    elif sale:
        criteria.deal_type = "sale"


def _month_value(token: str) -> int | None:
    number = to_number(token)
    if number is None or not 1 <= number <= 12 or number != int(number):
        return None
    return int(number)


def _next_date(today: date, month: int, day: int = 1) -> date:
    """The next such date: a month already past means next year; the current month means from today."""
    year = today.year + (month < today.month or (month == today.month and day != 1 and day < today.day))
    candidate = date(year, month, min(day, calendar.monthrange(year, month)[1]))
    return max(candidate, today) if (year, month) == (today.year, today.month) else candidate


def _move_in(text: _Text, today: date, criteria: Criteria) -> None:
    found: date | None = None
    for pattern in (_ISO_DATE,):
        m = pattern.search(text.value)
        if m:
            try:
                found = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                criteria.warnings.append("bad_date")
            text.blank(m.start(), m.end())
    if found is None:
        m = _ZH_MONTH_DAY.search(text.value)
        if m:
            month, day = _month_value(m.group(1)), to_number(m.group(2))
            if month and day and 1 <= day <= 31:
                found = _next_date(today, month, int(day))
                text.blank(m.start(), m.end())
    if found is None:
        for pattern, order in ((_EN_MONTH_DAY, (1, 2)), (_EN_DAY_MONTH, (2, 1))):
            m = pattern.search(text.value)
            if m and m.group(order[0]) != "may":
                day = int(m.group(order[1]))
                if 1 <= day <= 31:
                    found = _next_date(today, vocab.MONTHS_EN[m.group(order[0])], day)
                    text.blank(m.start(), m.end())
                    break
    if found is None:
        for m in _EN_MONTH.finditer(text.value):
            name = m.group(2)
            # 'may' and 'mar' are ordinary words unless a preposition says they are months.
            if name in ("may", "mar") and not m.group("pre"):
                continue
            found = _next_date(today, vocab.MONTHS_EN[name])
            text.blank(m.start(), m.end())
            break
    if found is None:
        m = _ZH_MONTH.search(text.value)
        if m and _month_value(m.group(1)):
            found = _next_date(today, _month_value(m.group(1)) or 1)
            text.blank(m.start(), m.end())
    if found is None:
        for pattern, when in (
            (_NEXT_MONTH, _first_of_next_month(today)),
            (_THIS_MONTH, today),
            (_NEXT_WEEK, today + timedelta(days=7)),
            (_NOW, today),
        ):
            m = pattern.search(text.value)
            if m:
                found = when
                text.blank(m.start(), m.end())
                break
    criteria.move_in_by = found


def _first_of_next_month(today: date) -> date:
    return date(today.year + (today.month == 12), today.month % 12 + 1, 1)


def _around(value: float) -> tuple[float, float]:
    return round(value * AROUND_LOW), round(value * AROUND_HIGH)


def _area(text: _Text, criteria: Criteria, levels: PriceLevels) -> None:
    m = _AREA.search(text.value)
    if m:
        a = to_number(m.group("a"))
        b = to_number(m.group("b")) if m.group("b") else None
        pre, post = (m.group("pre") or "").strip(), (m.group("post") or "").strip()
        text.blank(m.start(), m.end())
        if a is None or a <= 0:
            return
        if not all(levels.area_plausible(v) for v in (a, b) if v is not None):
            criteria.questioned["area"] = m.group(0).strip()  # '5 m2', '90000 sqm': asked, never taken
            return
        if b is not None:
            low, high = sorted((a, b))
            if (a, b) != (low, high):
                criteria.warnings.append("area_swapped")
            criteria.area_min, criteria.area_max = float(low), float(high)
        elif post in ("以上", "及以上", "+", "or more", "or larger", "min") or pre in (
            "at least", "min", "minimum", "over", "above", "more than", "至少", "不小于", "不低于"
        ):
            criteria.area_min = float(a)
        elif post in ("以下", "以内", "or less", "or smaller", "max") or pre in (
            "under", "below", "less than", "max", "maximum", "up to"
        ):
            criteria.area_max = float(a)
        else:
            # A plain '90平' or 'around 90 sqm' means roughly that size.
            low, high = _around(a)
            criteria.area_min, criteria.area_max = float(low), float(high)
        return
    m = _BARE_AREA.search(text.value)
    if m:
        a = to_number(m.group("a"))
        if a is not None and 10 <= a < 1000:
            low, high = _around(a)
            criteria.area_min, criteria.area_max = float(low), float(high)
            text.blank(m.start(), m.end())


def _bed_number(token: str) -> float | None:
    value = to_number(token)
    if value is None or value != int(value) or value < 0:
        return None
    return value


def _take_bedrooms(text: _Text, m: re.Match[str], criteria: Criteria, low: float, high: float | None) -> None:
    text.blank(m.start(), m.end())
    if max(low, high or 0) > MAX_BEDROOMS:
        criteria.questioned["bedrooms"] = m.group(0).strip()  # '9999999999 bedrooms': asked, never taken
        return
    criteria.bedrooms_min, criteria.bedrooms_max = int(low), (None if high is None else int(high))


def _bedrooms(text: _Text, criteria: Criteria) -> None:
    m = _STUDIO_OR.search(text.value)
    if m:  # 'studio or 1 bed': 0 to 1
        count = _bed_number(next(g for g in m.groups() if g))
        if count is not None:
            _take_bedrooms(text, m, criteria, 0, count)
            return
    m = _BEDS_BATHS_EN.search(text.value)
    if m:
        count = _bed_number(m.group(1))
        if count is not None:
            _take_bedrooms(text, m, criteria, count, count)
            return
    for pattern in (_BEDS_RANGE_EN, _BEDS_RANGE_ZH):
        m = pattern.search(text.value)
        if m:
            low, high = _bed_number(m.group(1)), _bed_number(m.group(2))
            if low is not None and high is not None:
                _take_bedrooms(text, m, criteria, min(low, high), max(low, high))
                return
    for pattern in (_BEDS_EN, _BEDS_ZH):
        m = pattern.search(text.value)
        if m:
            count = _bed_number(m.group(2))
            if count is None:
                continue
            open_ended = bool(m.group("pre") or m.group("more") or (pattern is _BEDS_EN and m.group("plus")))
            _take_bedrooms(text, m, criteria, count, None if open_ended else count)
            return
    m = _STUDIO.search(text.value)
    if m:
        criteria.bedrooms_min = criteria.bedrooms_max = 0
        text.blank(m.start(), m.end())


@dataclass
class _Amount:
    low: float
    high: float | None
    start: int
    end: int
    written: str  # the words as typed, for a confirming question
    currency: str | None
    per_month: bool
    per_year: bool
    total: bool  # 'total price': a sale
    explicit_money: bool  # a currency sign, a multiplier or a budget word: not just any number
    negative: bool  # '-5000': no budget is negative
    down_payment: bool  # '首付100万': not the budget
    kind: str  # 'range' | 'max' | 'min' | 'around'


def _amount_value(m: re.Match[str], n: int, fallback_suffix: str | None) -> float | None:
    number = to_number(m.group(f"num{n}"))
    if number is None:
        return None
    suffix = (m.group(f"suf{n}") or "").strip() or fallback_suffix
    if suffix == "grand":
        suffix = "k"
    return apply_suffix(number, suffix)


def _currency(m: re.Match[str]) -> str | None:
    marks = " ".join(filter(None, (m.group("cur1"), m.group("post1"), m.group("cur2"), m.group("post2"))))
    if not marks.strip():
        return None
    usd = ("$", "usd", "dollar", "bucks", "美元", "美金", "刀")
    return "USD" if any(mark in marks for mark in usd) and "人民币" not in marks else "CNY"


def _amounts(value: str) -> list[_Amount]:
    out = []
    for m in _MONEY.finditer(value):
        if not m.group("num1") or not re.search(r"[\d一二两三四五六七八九十百千万亿]", m.group("num1")):
            continue
        suffix2 = (m.group("suf2") or "").strip() or None
        low = _amount_value(m, 1, None if m.group("suf1") else suffix2)
        high = _amount_value(m, 2, None) if m.group("num2") else None
        if low is None:
            continue
        big = re.search(r"[万亿]$", m.group("num2") or "")
        if big and not (m.group("suf1") or suffix2) and not re.search(r"[万亿]", m.group("num1")):
            low *= CN_BIG_UNITS[big.group(0)]  # '三百-四百万': the second number's 万 is the first's too
        before, after = value[max(0, m.start() - 24) : m.start()], value[m.end() : m.end() + 16]
        explicit = bool(
            m.group("cur1") or m.group("post1") or m.group("suf1") or suffix2 or m.group("cur2") or m.group("post2")
            or _MAX_BEFORE.search(before) or _PER_MONTH_BEFORE.search(before) or _PER_MONTH.search(after)
            or _PER_YEAR.search(after) or _MIN_BEFORE.search(before) and re.search(r"budget|预算", before)
        )
        if not explicit and low < 1000 and (high is None or high < 1000):
            continue  # '2', 'room 3', '1=1': not money
        if not explicit and high is None and 1990 <= low <= 2100 and "." not in m.group("num1"):
            continue  # a year
        if not explicit and (low > MAX_AMOUNT or (high is not None and high > MAX_AMOUNT)):
            continue  # a phone number or an order number, not a budget
        if high is not None:
            kind = "range"
        elif _AROUND_BEFORE.search(before) or _AROUND_AFTER.search(after):
            kind = "around"
        elif _MAX_BEFORE.search(before):  # before the 'min' words: 'not over' ends with 'over'
            kind = "max"
        elif _MIN_BEFORE.search(before) or _MIN_AFTER.search(after):
            kind = "min"
        else:
            kind = "max"
        out.append(
            _Amount(
                low=low,
                high=high,
                start=m.start(),
                end=m.end(),
                written=m.group(0).strip(),
                currency=_currency(m),
                per_month=bool(_PER_MONTH.search(after) or _PER_MONTH_BEFORE.search(before)),
                per_year=bool(_PER_YEAR.search(after) or _PER_YEAR_BEFORE.search(before)),
                total=bool(_TOTAL_BEFORE.search(before)),
                explicit_money=explicit,
                negative=bool(_NEGATIVE.search(value[max(0, m.start() - 2) : m.start()])),
                down_payment=bool(_DOWN_PAYMENT_BEFORE.search(before)),
                kind=kind,
            )
        )
    return out


def _budget(text: _Text, criteria: Criteria, levels: PriceLevels) -> None:
    amounts = _amounts(text.value)
    if not amounts:
        return
    budget_min: float | None = None
    budget_max: float | None = None
    stated: tuple[float | None, float | None] = (None, None)
    used: _Amount | None = None
    for amount in amounts:
        low, high = amount.low, amount.high
        text.blank(amount.start, amount.end)
        if amount.down_payment:
            continue
        if amount.negative or low <= 0 or not math.isfinite(low) or (high is not None and not math.isfinite(high)):
            criteria.questioned["budget"] = ("-" if amount.negative else "") + amount.written
            continue
        if amount.per_year:
            low, high = low / 12, (high / 12 if high is not None else None)
        rate = levels.usd_cny if amount.currency == "USD" else 1.0
        cny_low, cny_high = low * rate, (high * rate if high is not None else None)
        deal = "rent" if amount.per_month or amount.per_year else criteria.deal_type
        if not all(levels.budget_plausible(v, deal) for v in (cny_low, cny_high) if v is not None):
            criteria.questioned["budget"] = amount.written  # '三点五亿' for a flat, '¥3': asked, never taken
            continue
        if amount.kind == "range" and cny_high is not None:
            if cny_low > cny_high:
                criteria.warnings.append("budget_swapped")
                cny_low, cny_high = cny_high, cny_low
            budget_min, budget_max, stated = cny_low, cny_high, (min(low, high or low), max(low, high or low))
        elif amount.kind == "around":
            budget_min, budget_max = _around(cny_low)
            stated = _around(low)
        elif amount.kind == "min" and budget_min is None:
            budget_min, stated = cny_low, (low, stated[1])
        elif amount.kind == "max" and budget_max is None:
            budget_max, stated = cny_low, (stated[0], low)
        else:
            continue
        used = used or amount
        if amount.currency and not criteria.currency_stated:
            criteria.currency_stated = amount.currency
        if amount.kind in ("range", "around"):
            break
    if budget_min is not None and budget_max is not None and budget_min > budget_max:
        criteria.warnings.append("budget_swapped")
        budget_min, budget_max = budget_max, budget_min
        stated = (stated[1], stated[0])
    if used is None:
        return
    criteria.questioned.pop("budget", None)  # a budget was read after all: an odd number beside it is noise
    criteria.budget_min = float(round(budget_min, 2)) if budget_min is not None else None
    criteria.budget_max = float(round(budget_max, 2)) if budget_max is not None else None
    if criteria.currency_stated:
        criteria.currency = "CNY"  # budget_min/max are always CNY; what was written is kept beside them
    if criteria.currency_stated == "USD":
        criteria.exchange_rate = levels.usd_cny
        criteria.budget_stated_min = float(stated[0]) if stated[0] is not None else None
        criteria.budget_stated_max = float(stated[1]) if stated[1] is not None else None
    _infer_deal(criteria, used, levels)


def _infer_deal(criteria: Criteria, amount: _Amount, levels: PriceLevels) -> None:
    """No deal word: 'per month' means rent, 'total price' a sale, else the budget's size against the levels."""
    if criteria.deal_type is not None or "deal_type_ambiguous" in criteria.warnings:
        return
    if amount.per_month or amount.per_year:
        criteria.deal_type = "rent"
        return
    if amount.total:
        criteria.deal_type = "sale"
        return
    reference = criteria.budget_max if criteria.budget_max is not None else criteria.budget_min
    deal = levels.deal_for(reference) if reference is not None else None
    if deal is not None:
        criteria.deal_type = deal
        criteria.deal_type_inferred = True  # said back to the customer, who can correct it


def _property_types(text: _Text, criteria: Criteria) -> None:
    value = text.value
    for slug, pattern in vocab.PROPERTY_TYPES_EN.items():
        if slug == "parking":
            for m in re.finditer(rf"(?<![a-z])(?:{pattern})(?![a-z])", value):
                if not _WITH_BEFORE.search(value[: m.start()]):
                    criteria.property_types.append(slug)
                    break
        elif _has(pattern, value, True):
            criteria.property_types.append(slug)
    for slug, pattern in vocab.PROPERTY_TYPES_ZH.items():
        if slug in criteria.property_types:
            continue
        if slug == "parking":
            for m in re.finditer(pattern, value):
                before = value[max(0, m.start() - 2) : m.start()]
                # '带车位' is a flat with parking; '买个车位' or a message that is only '车位' is a parking space.
                if not re.search(r"[带有含配送要需加和,&+]$|[带有含配送]\S?$", before) and not criteria.property_types:
                    criteria.property_types.append(slug)
                    break
        elif re.search(pattern, value):
            criteria.property_types.append(slug)


_WITH_BEFORE = re.compile(r"(?:with|w/|has|have|plus|incl\w*|and|&|\+)\s?(?:a |an )?$")


def _is_parking_space(value: str, m: re.Match[str]) -> bool:
    """'parking space' as the thing wanted (not 'a flat with a parking space')."""
    followed = re.match(r"\s?(?:space|spot|lot|place|bay)", value[m.end() : m.end() + 8])
    return bool(followed) and not _WITH_BEFORE.search(value[: m.start()])


def _negation(value: str, start: int, latin: bool, end: int | None = None) -> str | None:
    """'exclude' for 'no X'/'不要X', 'ignore' for 'don't need X'/'X not needed'/'不需要X', None otherwise."""
    end = start if end is None else end
    if latin:
        window = value[max(0, start - 24) : start]
        if re.search(vocab.INDIFFERENT_EN, window) or re.search(vocab.INDIFFERENT_AFTER_EN, value[end : end + 20]):
            return "ignore"
        return "exclude" if re.search(vocab.NEGATION_EN, window) else None
    window = value[max(0, start - 4) : start]
    if re.search(vocab.INDIFFERENT_ZH, window):
        return "ignore"
    return "exclude" if re.search(vocab.NEGATION_ZH, window) else None


def _mentions(value: str, pattern: str, latin: bool) -> list[re.Match[str]]:
    if latin:
        return list(re.finditer(rf"(?<![a-z])(?:{pattern})(?![a-z])", value))
    return list(re.finditer(pattern, value))


def _features(value: str, criteria: Criteria) -> None:
    for table, latin in ((vocab.FEATURES_EN, True), (vocab.FEATURES_ZH, False)):
        for slug, pattern in table.items():
            if slug == "parking" and "parking" in criteria.property_types:
                continue
            for m in _mentions(value, pattern, latin):
                if slug == "parking" and latin and _is_parking_space(value, m):
                    continue
                verdict = _negation(value, m.start(), latin, m.end())
                if verdict == "exclude":
                    if slug not in criteria.exclude:
                        criteria.exclude.append(slug)
                elif verdict is None and slug not in criteria.must_have and slug not in criteria.exclude:
                    criteria.must_have.append(slug)
                break
    _tri_state(value, criteria)


def _decoration(value: str, criteria: Criteria) -> None:
    """精装 / 简装 / 毛坯 (fine, basic, bare shell): the first level named and not negated."""
    found: list[tuple[int, str]] = []
    for level, (english, chinese) in vocab.DECORATION.items():
        for m in _mentions(value, english, True) + _mentions(value, chinese, False):
            if _negation(value, m.start(), not is_chinese(m.group(0)[:1]), m.end()) is None:
                found.append((m.start(), level))
    if found:
        criteria.decoration = min(found)[1]


def _tri_state(value: str, criteria: Criteria) -> None:
    """Pets and furniture: stated yes, stated no, or unknown; 'partly furnished' is furnished, partly."""
    partly = _mentions(value, vocab.PARTLY_FURNISHED_EN, True) + _mentions(value, vocab.PARTLY_FURNISHED_ZH, False)
    if partly and _negation(value, partly[0].start(), not is_chinese(partly[0].group(0)[:1])) is None:
        criteria.furnished, criteria.partly_furnished = True, True
        for m in partly:
            value = value[: m.start()] + " " * (m.end() - m.start()) + value[m.end() :]
    if _mentions(value, vocab.UNFURNISHED_EN, True) or _mentions(value, vocab.UNFURNISHED_ZH, False):
        criteria.furnished = False
    elif criteria.furnished is None:
        for m in _mentions(value, vocab.FURNISHED_EN, True) + _mentions(value, vocab.FURNISHED_ZH, False):
            verdict = _negation(value, m.start(), not is_chinese(m.group(0)[:1]), m.end())
            if verdict != "ignore":
                criteria.furnished = verdict is None
            break
    for m in _mentions(value, vocab.PETS_EN, True) + _mentions(value, vocab.PETS_ZH, False):
        verdict = _negation(value, m.start(), not is_chinese(m.group(0)[:1]), m.end())
        if verdict != "ignore":
            criteria.pets = verdict is None
        break
