"""Every message the bot can send, rendered once in each language, is in that language only.

The texts are the catalogue: every msgid of dialogs/locales/zh/*.po and every one the source marks
(tests/dialogs/test_catalogue.py finds them), filled with sample values in the same language, so what mixes
scripts is the template itself. English must have no Chinese character; Chinese no English word, except what
belongs to no language (reference codes, units, commands, the product's name: tests/replay/language.py).
Names are aside: the samples are names in the customer's language, as the data gives them when it has them.
Then the standard answers (greeting, menu, help, language picker, expired button, apology, unreadable message,
misunderstanding) are produced by the engine itself in both languages and checked the same way.
"""

from __future__ import annotations

import string

import pytest

from dialogs.flow import DialogContext, Flow, Registry
from dialogs.flows import REGISTRY
from dialogs.i18n import t
from dialogs.inbound import Inbound
from dialogs.replies import Reply
from storage.text import has_chinese
from tests.dialogs.helpers import FakeCustomer
from tests.dialogs.test_catalogue import chinese_catalogue, extract_msgids
from tests.replay.language import language_problems

# One sample per placeholder and language: what the bot puts there (a name as the data has it in that language, a
# date as dialogs.cards writes it, a code, a number). A new placeholder needs its samples here.
SAMPLES: dict[str, dict[str, object]] = {
    "address": {"en": "1 Test Road, Chaoyang", "zh": "朝阳区测试路1号"},
    "agent": {"en": "Wang Li", "zh": "王丽"},
    "amount": {"en": "420.50", "zh": "420.50"},
    "area": {"en": "78", "zh": "78"},
    "by": {"en": "Wang Li", "zh": "王丽"},
    "category": {"en": "Plumbing", "zh": "水管/给排水"},
    "converted": {"en": "¥8,640", "zh": "¥8,640"},
    "count": {"en": 2, "zh": 2},
    "customer": {"en": "Ann Lee", "zh": "李安"},
    "date": {"en": "2026-03-01", "zh": "2026-03-01"},
    "days": {"en": 15, "zh": 15},
    "grace": {"en": 7, "zh": 7},
    "high": {"en": "¥6,140,000", "zh": "¥6,140,000（614万）"},
    "intent": {"en": "to sell", "zh": "出售"},
    "low": {"en": "¥5,670,000", "zh": "¥5,670,000（567万）"},
    "place": {"en": "Wangjing", "zh": "望京"},
    "price": {"en": "¥6,000,000", "zh": "¥6,000,000（600万）"},
    "problem": {"en": "already rented or sold", "zh": "已经租出或售出"},
    "request": {"en": "an agent's call", "zh": "请经纪人打电话"},
    "day": {"en": "Wed 4 Mar", "zh": "3月4日 周三"},
    "deal": {"en": "Rent", "zh": "租房"},
    "district": {"en": "Changping", "zh": "昌平"},
    "due": {"en": "Mon 30 Nov, 09:00", "zh": "11月30日 周一 09:00"},
    "floor": {"en": 12, "zh": 12},
    "home": {"en": "Apartment in Changping", "zh": "昌平公寓"},
    "homes": {"en": "Sunny Garden 3-1201", "zh": "阳光花园 3-1201"},
    "kind": {"en": "Apartment", "zh": "公寓"},
    "label": {"en": "Budget", "zh": "预算"},
    "listing": {"en": "R-WJ-201", "zh": "R-WJ-201"},
    "minutes": {"en": 4, "zh": 4},
    "n": {"en": 1, "zh": 1},
    "name": {"en": "Ann", "zh": "安"},
    "new": {"en": "¥7,500/month", "zh": "月租¥7,500"},
    "note": {"en": "Please call first.", "zh": "请先打电话。"},
    "number": {"en": "R-2026-000001", "zh": "R-2026-000001"},
    "old": {"en": "¥8,000/month", "zh": "月租¥8,000"},
    "outcome": {"en": "Interested", "zh": "有意向"},
    "phone": {"en": "+86 138 0013 8000", "zh": "+86 138 0013 8000"},
    "position": {"en": 1, "zh": 1},
    "priority": {"en": "urgent", "zh": "紧急"},
    "rate": {"en": "7.2", "zh": "7.2"},
    "stated": {"en": "$1,200", "zh": "$1,200"},
    "words": {"en": "9999999999 bedrooms", "zh": "三点五亿"},
    "reason": {"en": "low score", "zh": "评分低"},
    "ref": {"en": "R-WJ-201", "zh": "R-WJ-201"},
    "score": {"en": 4, "zh": 4},
    "status": {"en": "in progress", "zh": "处理中"},
    "step": {"en": "Call back with the warranty terms", "zh": "回电说明保修条款"},  # as the staff member wrote it
    "subject": {"en": "R-2026-000001", "zh": "R-2026-000001"},
    "team": {"en": "complaint team", "zh": "投诉团队"},
    "text": {"en": "Water drips from the ceiling", "zh": "天花板漏水"},
    "total": {"en": 25, "zh": 25},
    "typed": {"en": "Wangjng", "zh": "望晶"},
    "value": {"en": "¥8k", "zh": "¥1.2万"},  # dialogs.flows.needs: Chinese counts in 万, never in k
    "what": {"en": "the budget", "zh": "预算"},
    "which": {"en": "response", "zh": "响应"},
    "when": {"en": "Mon 30 Nov, 09:00", "zh": "11月30日 周一 09:00"},
    # deals (dialogs/flows/deals.py)
    "contract": {"en": "HT-2026-001", "zh": "HT-2026-001"},
    "document": {"en": "ID card", "zh": "身份证"},
    "documents": {"en": "ID card, proof of income", "zh": "身份证、收入证明"},
    "measured": {"en": "101.50", "zh": "101.50"},
    "numbers": {"en": "R-2026-000001, R-2026-000002", "zh": "R-2026-000001, R-2026-000002"},
    "ratio": {"en": "1.50", "zh": "1.50"},
    "track": {"en": "Loan", "zh": "贷款"},
}


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def all_msgids() -> list[str]:
    return sorted(set(chinese_catalogue()) | set(extract_msgids()))


def rendered(msgid: str, lang: str) -> str:
    return t(lang, msgid, **{name: SAMPLES[name][lang] for name in placeholders(msgid)})


def test_every_placeholder_has_samples_in_both_languages() -> None:
    missing = sorted({name for msgid in all_msgids() for name in placeholders(msgid)} - set(SAMPLES))
    assert not missing, f"add samples for these placeholders to SAMPLES: {missing}"
    for name, samples in SAMPLES.items():
        assert set(samples) == {"en", "zh"}, name
        assert not language_problems(str(samples["en"]), "en") and not language_problems(str(samples["zh"]), "zh"), \
            f"the samples of {name!r} are themselves mixed"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_catalogue_message_is_in_one_language(lang: str) -> None:
    mixed = []
    for msgid in all_msgids():
        if lang == "en" and has_chinese(msgid):
            continue  # a message only ever said in Chinese ("语言已设置为简体中文。"), its id is the Chinese text
        text = rendered(msgid, lang)
        problems = language_problems(text, lang)
        if problems:
            mixed.append(f"{msgid!r}\n    -> {text!r}: {'; '.join(problems)}")
    assert not mixed, f"{len(mixed)} message(s) mix languages in {lang}:\n" + "\n".join(mixed)


def test_the_checker_catches_what_issue_16_saw() -> None:
    assert language_problems("看房：Changping公寓。您哪天方便？", "zh") == ["English words in Chinese text: Changping"]
    assert language_problems("Here is what you are looking for: 望京", "en")
    assert not language_problems("您的报修已登记，工单号：R-2026-000001。", "zh")
    assert not language_problems("📐 78 m² · 2室 · 我是 Homedesk 智能助理 /start", "zh")
    assert not language_problems("由Wang Li带您看R-WJ-201公寓，3B栋", "zh", names=["Wang Li"])
    assert language_problems("¥8k以内", "zh") == ["English words in Chinese text: k"]


# -- the standard answers, as the engine sends them ------------------------------------------------------------


class _Failing(Flow):
    name = "failing"
    commands = ("failing",)

    async def start(self, ctx: DialogContext, event: Inbound) -> list[Reply]:
        raise RuntimeError("a flow bug, for the apology")


def texts_of(replies: list[Reply]) -> list[str]:
    out = []
    for reply in replies:
        out.append(getattr(reply, "text", None) or getattr(reply, "caption", None) or "")
        out += [choice.label for row in getattr(reply, "choices", []) for choice in row]
        out += [label for label in (getattr(reply, "button", ""), getattr(reply, "cancel", "")) if label]
    return [text for text in out if text]


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_standard_answers_are_in_one_language(sessions, frozen_clock, lang: str) -> None:
    flows = Registry((*REGISTRY.flows, _Failing()), REGISTRY.fallbacks, REGISTRY.deep_links)
    customer = FakeCustomer(sessions, language_code="zh-hans" if lang == "zh" else "en",
                            first_name="安" if lang == "zh" else "Ann", flows=flows)
    said: list[str] = []
    said += texts_of(await customer.command("start"))
    said += texts_of(await customer.command("help"))
    said += texts_of(await customer.command("language"))
    said += texts_of(await customer.command("menu"))
    said += texts_of(await customer.press("menu:no-such-button"))  # expired
    said += texts_of(await customer.send(Inbound(kind="unsupported", language_code=customer.language_code)))
    said += texts_of(await customer.text("qwertyuiop"))  # misunderstood
    said += texts_of(await customer.text("asdfghjkl"))  # misunderstood again: a person is offered
    said += texts_of(await customer.command("failing"))  # apology
    assert len(said) > 20
    mixed = [f"{text!r}: {'; '.join(problems)}" for text in said if (problems := language_problems(text, lang))]
    assert not mixed, "\n".join(mixed)
