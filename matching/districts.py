"""Districts and neighbourhoods by every name customers use: exact first, then fuzzy (rapidfuzz)."""

from __future__ import annotations

import math
import os
import re
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from matching import changes, pinyin_table
from storage.models import District
from storage.text import CHINESE_CHARACTER, has_chinese

# Only single characters are read here, so pypinyin's phrase dictionary (about 45 MB resident and half a second
# to import) is never needed: these two switches of pypinyin's own leave it out. Set before its first import.
os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")
pinyin_table.install()  # its single-character table in 1 MB instead of 10 (matching/pinyin_table.py)
from pypinyin import Style, pinyin  # noqa: E402

# A fuzzy hit is accepted only when it is this good ...
FUZZY_ACCEPT = 85.0
# ... and beats the best *other* district by this margin; otherwise the dialog asks.
FUZZY_MARGIN = 8.0
# Below this a fuzzy hit is not even offered as a candidate.
FUZZY_CANDIDATE = 70.0
# Latin words shorter than this are never fuzzy-matched (too many accidental hits).
FUZZY_MIN_LEN = 5

# Chinese typos are homophones ('朝杨', '海店' for 朝阳, 海淀): compared by pinyin, with tones and without.
PINYIN_WINDOWS = (4, 3, 2)  # lengths of Chinese text tried against names of the same length
_MAX_READINGS = 32  # heteronym combinations kept per word

_SUFFIXES_ZH = ("区", "县", "镇")
_SUFFIXES_EN = (" district", " area", " qu")


@dataclass(frozen=True)
class DistrictRecord:
    name: str
    name_zh: str | None = None
    aliases: tuple[str, ...] = ()
    neighbours: tuple[str, ...] = ()
    lat: float | None = None
    lon: float | None = None
    city: str = ""
    id: int | None = None


@dataclass(frozen=True)
class Resolution:
    match: str | None
    candidates: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Mention:
    """A district spotted in free text: canonical name, or candidates when unsure."""

    text: str
    start: int
    end: int
    match: str | None
    candidates: tuple[str, ...] = ()


def _field(row: Any, name: str, default: Any = None) -> Any:
    if isinstance(row, Mapping):
        return row.get(name, default)
    return getattr(row, name, default)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(";") if part.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


def _key(text: str) -> str:
    return " ".join(text.lower().replace("-", " ").split())


@lru_cache(maxsize=8192)
def _char_syllables(char: str, tones: bool) -> tuple[str, ...]:
    found = pinyin(char, style=Style.TONE3 if tones else Style.NORMAL, heteronym=True, errors="ignore")
    return tuple(found[0]) if found else ("",)


def syllables(text: str, tones: bool) -> list[list[str]]:
    """Each character's possible readings ('朝阳' -> [['zhao1', 'chao2'], ['yang2']] with tones)."""
    return [list(_char_syllables(ch, tones)) for ch in text]


def _combine(options: list[list[str]]) -> set[str]:
    out = [""]
    for choice in options:
        out = [head + option for head in out for option in choice][:_MAX_READINGS]
    return {r for r in out if r}


def readings(text: str, tones: bool) -> set[str]:
    """Every pinyin reading of a Chinese word ('朝阳' -> {'zhao1yang2', 'chao2yang2'} with tones)."""
    return _combine(syllables(text, tones))


class DistrictIndex:
    """Every name and alias of every district, for exact lookups, in-text spotting and fuzzy matching."""

    def __init__(self, records: list[DistrictRecord]) -> None:
        self.records = {r.name: r for r in records}
        self.by_id = {r.id: r.name for r in records if r.id is not None}
        self.id_by_name = {r.name: r.id for r in records if r.id is not None}
        self._exact: dict[str, str] = {}
        for record in records:
            for alias in (record.name, record.name_zh, *record.aliases):
                if not alias:
                    continue
                for variant in self._variants(alias):
                    self._exact.setdefault(_key(variant), record.name)
        self._latin_keys = [k for k in self._exact if not has_chinese(k)]
        # 'chao yang', 'hai-dian': Latin names without their spaces.
        self._compact = {k.replace(" ", ""): self._exact[k] for k in self._latin_keys}
        # Chinese names by sound: toned readings (a homophone typo) and toneless ones (a near one, asked).
        self._toned: dict[str, set[str]] = {}
        self._toneless: dict[str, set[str]] = {}
        self._zh_names: dict[str, set[str]] = {}
        self._first_sounds: set[str] = set()  # a cheap pre-check before combining a window's readings
        for key, name in self._exact.items():
            if has_chinese(key) and all(has_chinese(ch) for ch in key):
                self._zh_names.setdefault(name, set()).add(key)
                for reading in readings(key, tones=True):
                    self._toned.setdefault(reading, set()).add(name)
                for reading in readings(key, tones=False):
                    self._toneless.setdefault(reading, set()).add(name)
                self._first_sounds.update(syllables(key[0], tones=False)[0])
        # Longest alias first so 'wangjing soho' wins over 'wangjing'; Latin ones need word boundaries.
        parts = []
        for alias in sorted(self._exact, key=len, reverse=True):
            escaped = re.escape(alias).replace(r"\ ", r"[\s-]*")
            parts.append(escaped if has_chinese(alias) else rf"(?<![a-z]){escaped}(?![a-z])")
        self._pattern = re.compile("|".join(parts)) if parts else None

    @staticmethod
    def _variants(alias: str) -> list[str]:
        out = [alias]
        lowered = alias.lower()
        for suffix in _SUFFIXES_ZH + _SUFFIXES_EN:
            if lowered.endswith(suffix) and len(lowered) > len(suffix) + 1:
                out.append(alias[: -len(suffix)])
        return out

    @classmethod
    def build(cls, rows: Iterable[Any]) -> DistrictIndex:
        """rows: ORM District objects, dicts or any records with name, name_zh, aliases, neighbours, lat, lon."""
        records = []
        for row in rows:
            name = str(_field(row, "name") or "").strip()
            if not name:
                continue
            lat, lon = _field(row, "lat"), _field(row, "lon")
            records.append(
                DistrictRecord(
                    name=name,
                    name_zh=_field(row, "name_zh") or None,
                    aliases=tuple(_as_list(_field(row, "aliases"))),
                    neighbours=tuple(_as_list(_field(row, "neighbours"))),
                    lat=float(lat) if lat is not None else None,
                    lon=float(lon) if lon is not None else None,
                    city=str(_field(row, "city") or ""),
                    id=_field(row, "id"),
                )
            )
        return cls(records)

    @property
    def names(self) -> list[str]:
        return list(self.records)

    def name_zh(self, name: str) -> str:
        record = self.records.get(name)
        return (record.name_zh if record and record.name_zh else None) or name

    def resolve(self, text: str) -> Resolution:
        """One district from what the customer typed: exact alias, else a clear fuzzy winner, else candidates."""
        key = _key(text or "")
        if not key:
            return Resolution(None, [])
        if key in self._exact:
            return Resolution(self._exact[key], [])
        for variant in self._variants(key):
            if _key(variant) in self._exact:
                return Resolution(self._exact[_key(variant)], [])
        compact = key.replace(" ", "")
        if compact in self._compact:
            return Resolution(self._compact[compact], [])
        if all(has_chinese(ch) for ch in compact):
            by_sound = self.by_sound(compact)
            if by_sound.match or by_sound.candidates:
                return by_sound
        return self._fuzzy(key, self._exact)

    def by_sound(self, word: str, toned_options: list[list[str]] | None = None,
                 toneless_options: list[list[str]] | None = None) -> Resolution:
        """A Chinese word that sounds like a district's name: '朝杨' is 朝阳, '海店' is 海淀.

        The usual reading of each character, tones included, equal to one of the name's readings, with at least
        one character in common (a homophone typed by mistake): the district. Same sounds otherwise (a rarer
        reading, other tones, or no character shared): candidates, so the dialog asks ("did you mean").
        """
        if not word or not all(has_chinese(ch) for ch in word):
            return Resolution(None, [])
        toned_readings = _combine(toned_options or syllables(word, tones=True))
        toneless_readings = _combine(toneless_options or syllables(word, tones=False))
        toned = {n for r in toned_readings for n in self._toned.get(r, ())}
        toneless = {n for r in toneless_readings for n in self._toneless.get(r, ())}
        # Sure only by each character's usual reading ('王京' is wang2jing1, not 望京's wang4jing1: asked).
        usual = "".join(options[0] for options in (toned_options or syllables(word, tones=True)))
        sure = sorted(n for n in self._toned.get(usual, ()) if self._shares_character(word, n))
        if len(sure) == 1:
            return Resolution(sure[0], [])
        candidates = sorted(toned | toneless, key=lambda n: (n not in toned, not self._shares_character(word, n), n))
        return Resolution(None, candidates[:4])

    def _shares_character(self, word: str, name: str) -> bool:
        return any(a == b for key in self._zh_names.get(name, ()) for a, b in zip(word, key, strict=False))

    def _fuzzy(self, key: str, choices: Iterable[str]) -> Resolution:
        hits = process.extract(key, list(choices), scorer=fuzz.ratio, limit=12, score_cutoff=FUZZY_CANDIDATE)
        best: dict[str, float] = {}
        for alias, score, _ in hits:
            name = self._exact[alias]
            best[name] = max(best.get(name, 0.0), score)
        ranked = sorted(best.items(), key=lambda item: -item[1])
        if not ranked:
            return Resolution(None, [])
        top_name, top_score = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        if top_score >= FUZZY_ACCEPT and top_score - runner_up >= FUZZY_MARGIN:
            return Resolution(top_name, [])
        return Resolution(None, [name for name, _ in ranked[:4]])

    def find_in_text(self, text: str, skip_words: frozenset[str] = frozenset()) -> list[Mention]:
        """District mentions inside a sentence, in order; Chinese needs no spaces, Latin is word-bounded.

        Latin words that are not an exact alias are tried fuzzily (misspellings), except `skip_words`
        (the parser's own vocabulary), so 'rent' or 'bedroom' never turn into a district.
        """
        lowered = (text or "").lower()
        mentions: list[Mention] = []
        taken: list[tuple[int, int]] = []
        if self._pattern is not None:
            for m in self._pattern.finditer(lowered):
                alias = _key(m.group(0))
                mentions.append(Mention(m.group(0), m.start(), m.end(), self._exact.get(alias)))
                taken.append((m.start(), m.end()))
        for start, end, resolution in self._sounds_in_text(lowered, taken, skip_words):
            mentions.append(Mention(lowered[start:end], start, end, resolution.match, tuple(resolution.candidates)))
            taken.append((start, end))
        words = [(m.start(), m.end()) for m in re.finditer(r"[a-z]+", lowered)]
        # Single words first; then two-word runs ('shi jingshan') whose words matched nothing alone.
        spans = words + [(a[0], b[1]) for a, b in zip(words, words[1:], strict=False) if b[0] - a[1] == 1]
        for start, end in spans:
            word = lowered[start:end]
            if word.replace(" ", "") in self._compact and not any(s < end and start < e for s, e in taken):
                mentions.append(Mention(word, start, end, self._compact[word.replace(" ", "")]))
                taken.append((start, end))
                continue
            if (
                len(word.replace(" ", "")) < FUZZY_MIN_LEN
                or any(part in skip_words for part in word.split())
                or any(s < end and start < e for s, e in taken)
            ):
                continue
            resolution = self._fuzzy(_key(word), self._latin_keys)
            if resolution.match or resolution.candidates:
                mentions.append(Mention(word, start, end, resolution.match, tuple(resolution.candidates)))
                taken.append((start, end))
        return sorted(mentions, key=lambda mention: mention.start)

    def _sounds_in_text(
        self, lowered: str, taken: list[tuple[int, int]], skip_words: frozenset[str]
    ) -> list[tuple[int, int, Resolution]]:
        """Chinese stretches not already matched that sound like a district's name (longest first)."""
        found: list[tuple[int, int, Resolution]] = []
        if not self._toned:
            return found
        busy = list(taken)
        for run in re.finditer(f"{CHINESE_CHARACTER}{{2,}}", lowered):
            toned_chars = syllables(run.group(0), tones=True)
            toneless_chars = syllables(run.group(0), tones=False)
            for size in PINYIN_WINDOWS:
                for offset in range(len(toned_chars) - size + 1):
                    start, end = run.start() + offset, run.start() + offset + size
                    word = lowered[start:end]
                    if (
                        not self._first_sounds.intersection(toneless_chars[offset])
                        or any(s < end and start < e for s, e in busy)
                        or word in skip_words
                    ):
                        continue
                    resolution = self.by_sound(
                        word, toned_chars[offset : offset + size], toneless_chars[offset : offset + size]
                    )
                    if resolution.match or (resolution.candidates and self._close_enough(word, resolution)):
                        found.append((start, end, resolution))
                        busy.append((start, end))
        return found

    def _close_enough(self, word: str, resolution: Resolution) -> bool:
        """In running text only a same-tone reading sharing a character is worth a question ('大型' is no 大兴)."""
        toned = {n for r in readings(word, tones=True) for n in self._toned.get(r, ())}
        return any(n in toned and self._shares_character(word, n) for n in resolution.candidates)

    def neighbours(self, name: str) -> list[str]:
        record = self.records.get(name)
        if record is None:
            return []
        out = []
        for neighbour in record.neighbours:
            resolved = self.resolve(neighbour).match
            if resolved and resolved != name and resolved not in out:
                out.append(resolved)
        # Neighbourhood is symmetric even when the CSV lists it on one side only.
        for other in self.records.values():
            if other.name != name and other.name not in out:
                if any(self._exact.get(_key(n)) == name for n in other.neighbours):
                    out.append(other.name)
        return out

    def centroid(self, name: str) -> tuple[float, float] | None:
        record = self.records.get(name)
        if record is None or record.lat is None or record.lon is None:
            return None
        return record.lat, record.lon


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance; good to metres at city scale."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


# ---- cached loader -----------------------------------------------------------------------------

# Districts rarely change; other processes' edits are noticed by a cheap probe at most this often.
PROBE_INTERVAL_S = 5.0
_version = 0
_cache: weakref.WeakKeyDictionary[Any, tuple[int, Any, float, DistrictIndex]] = weakref.WeakKeyDictionary()
_monotonic: Callable[[], float] = time.monotonic


def invalidate() -> None:
    """Drop every cached index (called on District commits in this process; callable by anyone)."""
    global _version
    _version += 1


async def _probe(session: AsyncSession) -> Any:
    row = (await session.execute(select(func.count(District.id), func.max(District.updated_at)))).one()
    return tuple(row)


async def load_district_index(session: AsyncSession) -> DistrictIndex:
    """The districts index for the session's database, built once and rebuilt when districts change."""
    changes.install()
    changes.on_districts_committed(invalidate)
    engine = session.get_bind()
    now = _monotonic()
    cached = _cache.get(engine)
    if cached is not None:
        version, probe, probed_at, index = cached
        if version == _version:
            if now - probed_at < PROBE_INTERVAL_S:
                return index
            fresh_probe = await _probe(session)
            if fresh_probe == probe:
                _cache[engine] = (version, probe, now, index)
                return index
    version = _version
    probe = await _probe(session)
    rows = (await session.execute(select(District))).scalars().all()
    index = DistrictIndex.build(rows)
    _cache[engine] = (version, probe, now, index)
    return index
