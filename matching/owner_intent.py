"""Is this an owner who wants to sell or let their home, rather than someone looking for one?

`owner_intent("I want to sell my flat in Chaoyang") == "sell"`, `owner_intent("我想出租我的房子") == "let"`,
`owner_intent("2-bed to rent in Wangjing") is None`. The owner intake calls it to route such a sentence away
from the buyer/renter flow; the need parser calls it so it never turns an owner's sentence into a search
silently (it adds the `seller_intent` or `landlord_intent` warning).

The rule is possession plus an owner's verb: "sell/let/rent out" followed by "my/our" home, or a Chinese
owner's verb (卖/出售/出租/租出去/挂牌) next to 我的/我家/我有 or a phrase only an owner uses (房东直租 is a listing
word, so 房东 alone is not enough; 我是房东 is). "For sale" and 出租 on their own are how searchers describe
what they want, so they never count.
"""

from __future__ import annotations

import re
import unicodedata

_HOME_EN = r"(?:flat|apartment|apt|house|home|place|property|villa|condo|unit|room|studio|office|shop|parking space)"
_MINE_EN = r"(?:my|our|the family|my family'?s|my parents'?)"

_SELL_EN = re.compile(
    rf"\b(?:sell(?:ing)?|list(?:ing)?|put(?:ting)?(?: up)?)\s+(?:{_MINE_EN})\s+(?:\w+\s+){{0,3}}?{_HOME_EN}s?\b"
    rf"|\b(?:want|like|need|plan|planning|looking|hoping|going|thinking)\s+(?:to\s+)?(?:of\s+)?sell(?:ing)?\b"
    rf"(?!\s+(?:me|us)\b)"
    rf"|\bhelp\s+(?:me\s+)?sell\b|\bvalu(?:e|ation)\s+(?:of\s+)?(?:{_MINE_EN})\b"
    rf"|\bhow much (?:is|would) (?:{_MINE_EN})\b"
    rf"|\bi(?:'m| am) (?:the |an )?owner\b|\bi own (?:a|an|the)\b|\b(?:{_MINE_EN}) {_HOME_EN} (?:is )?for sale\b"
)
_LET_EN = re.compile(
    rf"\b(?:rent(?:ing)?|let(?:ting)?|lease|leasing|sublet(?:ting)?)\s+out\b"
    rf"|\b(?:let(?:ting)?|lease|leasing|sublet(?:ting)?)\s+(?:{_MINE_EN})\b"
    rf"|\brent(?:ing)?\s+(?:{_MINE_EN})\s+(?:\w+\s+){{0,3}}?{_HOME_EN}s?\s+(?:out|to)\b"
    rf"|\b(?:find|finding|looking for|need|want)\s+(?:a\s+|new\s+|some\s+)*tenants?\b"
    rf"|\bi(?:'m| am) (?:a |the )?landlord\b|\b(?:{_MINE_EN}) {_HOME_EN} (?:is )?(?:for rent|to let)\b"
)
_MINE_ZH = (
    r"(?:我的|我家的?|我们家的?|我自己的?|自家的?|我有一?[套间个]?|家里的?|我名下的?)"
    r"(?!附近|旁边|周边|周围|那边|这边|门口|楼下|对面|孩子|小孩|老人|预算|要求|需求)"
)
# A searcher's words inside a match ("我的预算…想买出售的房子") mean it is not an owner speaking.
_SEARCHER_ZH = re.compile(r"买|求|找房|预算|要租|想租|租一|租个|租套")
_SELL_ZH = re.compile(
    rf"{_MINE_ZH}.{{0,8}}?(?:要|想|打算|准备|需要)?(?:卖|出售|挂牌|转让)"
    rf"|(?:我|我们)(?:要|想|打算|准备|希望)(?:把.{{0,8}}?)?(?:卖掉?|出售|挂牌)"
    rf"|(?:帮我|帮忙|替我)(?:卖|出售|挂)|卖掉(?:我|自己)|我是业主|业主(?:要|想)卖|评估(?:一下)?(?:我|我家)"
    rf"|(?:^|[，。,. ])(?:出售|卖)(?:一下)?{_MINE_ZH}"  # "出售我的房子": the verb, then what is mine
)
_LET_ZH = re.compile(
    rf"{_MINE_ZH}.{{0,8}}?(?:要|想|打算|准备|需要)?(?:出租|租出去|招租|放租)"
    rf"|(?:我|我们)(?:要|想|打算|准备|希望)(?:把.{{0,8}}?)?(?:出租|租出去|放租|招租)(?!的)"
    rf"|(?:帮我|帮忙|替我)(?:出租|招租|找租客)|(?:找|招)租客|我是房东|房东(?:要|想)出租"
    rf"|(?:^|[，。,. ])(?:出租|租出|放租)(?:一下)?{_MINE_ZH}"  # "出租我的两居室": the verb, then what is mine
)


def owner_intent(text: str) -> str | None:
    """'sell', 'let' or None: does the writer want to sell or let a home they own?"""
    if not isinstance(text, str) or not text.strip():
        return None
    value = unicodedata.normalize("NFKC", text).lower()
    value = re.sub(r"\s+", " ", value)
    let = _first(value, _LET_EN, _LET_ZH)
    sell = _first(value, _SELL_EN, _SELL_ZH)
    if let is None and sell is None:
        return None
    if sell is None:
        return "let"
    if let is None:
        return "sell"
    return "let" if let < sell else "sell"  # "sell or rent out my flat": the first one named leads


def _first(value: str, english: re.Pattern[str], chinese: re.Pattern[str]) -> int | None:
    """Where the earliest owner's phrase of one kind starts, or None."""
    starts = [m.start() for m in english.finditer(value)]
    starts += [m.start() for m in chinese.finditer(value) if not _SEARCHER_ZH.search(m.group(0))]
    return min(starts) if starts else None
