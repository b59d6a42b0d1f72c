"""Free text to intent: which flow does a message that is not the expected answer ask for?

Each flow lists its intent words (both languages). Chinese is matched by containment (no word breaks);
Latin text by words, tolerating small typos with rapidfuzz.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rapidfuzz import fuzz

from dialogs.flow import Flow
from storage.text import has_chinese

_WORD = re.compile(r"[a-z]+")


def _score(text: str, words: list[str], phrase: str) -> float:
    if has_chinese(phrase):
        return 100.0 if phrase in text else 0.0
    if " " in phrase:
        return 100.0 if phrase in text else fuzz.partial_ratio(phrase, text)
    if phrase in words:
        return 100.0
    if len(phrase) < 5:  # short words must match exactly: 'rent' vs 'went' is no typo
        return 0.0
    return max((fuzz.ratio(phrase, word) for word in words), default=0.0)


def detect(text: str, flows: Iterable[Flow], threshold: float = 85.0) -> Flow | None:
    """The flow whose intent words best match the text, or None (on a tie, the one listed first)."""
    lowered = text.lower()
    words = _WORD.findall(lowered)
    best: tuple[float, int, Flow] | None = None
    for flow in flows:
        for phrase in flow.intent_words:
            score = _score(lowered, words, phrase.lower())
            if score >= threshold and (best is None or (score, len(phrase)) > best[:2]):
                best = (score, len(phrase), flow)
    return best[2] if best else None
