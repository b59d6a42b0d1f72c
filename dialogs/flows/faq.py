"""Answers to common questions from the editable FAQ table, fuzzy-matched in the customer's language.

Listed as an engine fallback (dialogs.flows.REGISTRY): free text that no flow and no intent claimed is
compared with every FAQ question and its keywords (rapidfuzz); a close enough match is answered, anything else
falls through to "I did not understand". Admins write and retire the entries in the console (/faq,
storage.services.faq), so the answer is shown as plain text (escaped).
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz, process

from dialogs.flow import DialogContext
from dialogs.i18n import esc
from dialogs.inbound import Inbound
from dialogs.replies import Choice, Reply, Say
from dialogs.standard import main_menu
from storage.models import FaqEntry
from storage.services import faq as faq_entries
from storage.text import has_chinese

THRESHOLD = 78.0
# A greeting is not a question, but it deserves better than "I did not understand": the menu, with a hello.
GREETINGS = frozenset({"hi", "hello", "hey", "good morning", "good afternoon", "good evening", "hallo", "hola",
                       "你好", "您好", "嗨", "哈喽", "早上好", "下午好", "晚上好", "在吗"})
_PUNCTUATION = re.compile(r"[\s?!.,，。？！、:：;；\"'“”‘’()（）]+")


def _normalise(text: str) -> str:
    return _PUNCTUATION.sub(" ", text.lower()).strip()


def _score(query: str, choice: str, **_: object) -> float:
    """Chinese has no spaces, so containment-style partial matching; Latin text compares word sets."""
    if has_chinese(query) or has_chinese(choice):
        if len(choice) <= len(query) and choice.replace(" ", "") in query.replace(" ", ""):
            return 100.0
        return fuzz.partial_ratio(query.replace(" ", ""), choice.replace(" ", "")) * (
            1.0 if len(query) >= 2 else 0.0)
    return max(fuzz.token_set_ratio(query, choice), fuzz.ratio(query, choice))


async def best_answer(ctx: DialogContext, text: str) -> FaqEntry | None:
    query = _normalise(text)
    if len(query) < 2:
        return None
    entries = await faq_entries.active_entries(ctx.session, ctx.lang)  # retired entries are never answered with
    candidates: dict[int, str] = {}
    owners: list[FaqEntry] = []
    for entry in entries:
        for phrase in (entry.question, *(entry.keywords or [])):
            if phrase and phrase.strip():
                candidates[len(owners)] = _normalise(phrase)
                owners.append(entry)
    if not candidates:
        return None
    found = process.extractOne(query, candidates, scorer=_score, score_cutoff=THRESHOLD)
    return owners[found[2]] if found else None


async def faq_fallback(ctx: DialogContext, event: Inbound) -> list[Reply] | None:
    if event.kind != "text" or not event.text.strip():
        return None
    if _normalise(event.text) in GREETINGS:
        name = ctx.customer.first_name or ""
        return [main_menu(ctx, ctx.t("Hello {name}! I am the Homedesk assistant. What can I do for you?",
                                     name=name))]
    entry = await best_answer(ctx, event.text)
    if entry is None:
        return None
    return [Say(esc(entry.answer), choices=[[Choice(ctx.t("Main menu"), "menu:main")]])]
