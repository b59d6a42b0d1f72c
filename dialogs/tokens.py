"""Button tokens as typed values, so flows never split strings by hand.

A flow declares what a button carries as a frozen dataclass with a `prefix`; `encode()` writes
`<prefix>:<field>:<field>...` (the flow adds its own name in front, see `Flow.button` and `button_data`), and
`decode` reads it back or returns None. Decoding trusts nothing: a press carries whatever the client sent, so a
stale or forged token must not get past it. Fields are typed:
- `int`: a database id, plain ASCII digits from 1 to 2**63 - 1 (ids are signed 64-bit; no sign, no spaces), or,
  as `Annotated[int, number(low, high)]`, a small count or position within those bounds;
- a `StrEnum`: one of its values;
- `str`: a non-empty word without ':', or, as `Annotated[str, one_of(values)]`, one of those values;
- `date`: a day, written YYYYMMDD;
- `datetime`: a whole minute, written as minutes since 1970-01-01 UTC (decoded aware, in UTC).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Collection
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar, Self

MAX_ID = 2**63 - 1
_SEPARATOR = ":"
_LAST_MINUTE = int(datetime(9999, 12, 31, 23, 59, tzinfo=UTC).timestamp()) // 60  # the last one datetime holds


@dataclasses.dataclass(frozen=True)
class _OneOf:
    values: frozenset[str]


@dataclasses.dataclass(frozen=True)
class _Number:
    low: int
    high: int


def one_of(values: Collection[str]) -> _OneOf:
    """`Annotated[str, one_of(values)]`: a field that decodes only to one of these values (a category, an answer)."""
    return _OneOf(frozenset(values))


def number(low: int, high: int) -> _Number:
    """`Annotated[int, number(low, high)]`: a field that is not a database id but a position or a score."""
    return _Number(low, high)


@dataclasses.dataclass(frozen=True)
class Token:
    """Base of every button token: subclass it as a frozen dataclass and set `prefix`."""

    # One word, several joined by ':' ("photos:done"), or "" when the first field (a StrEnum) says what it is.
    prefix: ClassVar[str]

    def encode(self) -> str:
        parts = [self.prefix] if self.prefix else []
        for spec in _specs(type(self)):
            value = getattr(self, spec.name)
            text = spec.format(value)
            if text is None or spec.parse(text) != value:  # a bug in the flow that draws the button
                raise ValueError(f"{type(self).__name__}.{spec.name} cannot carry {value!r}")
            parts.append(text)
        return _SEPARATOR.join(parts)

    @classmethod
    def decode(cls, token: str) -> Self | None:
        words, prefix = token.split(_SEPARATOR), cls.prefix.split(_SEPARATOR) if cls.prefix else []
        head, parts = words[: len(prefix)], words[len(prefix) :]
        specs = _specs(cls)
        if head != prefix or len(parts) != len(specs):
            return None
        values = {}
        for spec, part in zip(specs, parts, strict=True):
            value = spec.parse(part)
            if value is None:
                return None
            values[spec.name] = value
        return cls(**values)


def decode(token: str, *kinds: type[Token]) -> Token | None:
    """The first of these token kinds the text decodes to, or None (stale, forged or another flow's)."""
    for kind in kinds:
        found = kind.decode(token)
        if found is not None:
            return found
    return None


def button_data(flow: str, token: Token) -> str:
    """What a button sends: the name of the flow that handles it, then the token (for buttons drawn outside it)."""
    return f"{flow}{_SEPARATOR}{token.encode()}"


def read_button_data(data: str) -> tuple[str, str]:
    """(flow name, token) of what a button sent: the inverse of `button_data`; ("", "") for nothing."""
    flow, _, token = data.partition(_SEPARATOR)
    return flow, token


def parse_int(text: str, low: int = 1, high: int = MAX_ID) -> int | None:
    """A whole number from `low` to `high` (a database id by default), for flows that read the values of their
    own `str` fields (the needs steps); None for anything else, never an error."""
    # isdigit() alone would accept '²' and other Unicode digits; the length check spares int() a megabyte string.
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(high)):
        return None
    value = int(text)
    return value if low <= value <= high else None


@dataclasses.dataclass(frozen=True)
class _Spec:
    name: str
    kind: type
    allowed: frozenset[str] | None
    bounds: tuple[int, int]

    def format(self, value: object) -> str | None:
        """The text of a value of this field, or None when the value is of the wrong type."""
        if self.kind is datetime:
            return str(int(value.timestamp()) // 60) if isinstance(value, datetime) else None
        if self.kind is date:
            return value.strftime("%Y%m%d") if isinstance(value, date) and not isinstance(value, datetime) else None
        if self.kind is int and isinstance(value, bool):
            return None
        return str(value) if isinstance(value, self.kind) else None

    def parse(self, text: str) -> Any:
        if self.kind is int:
            return parse_int(text, *self.bounds)
        if self.kind is datetime:
            minutes = parse_int(text, 0, _LAST_MINUTE)
            return None if minutes is None else datetime.fromtimestamp(minutes * 60, tz=UTC)
        if self.kind is date:
            return _day(text)
        if issubclass(self.kind, StrEnum):
            return self.kind(text) if text in self.kind._value2member_map_ else None
        if not text or _SEPARATOR in text or (self.allowed is not None and text not in self.allowed):
            return None
        return text


def _day(text: str) -> date | None:
    if len(text) != 8 or not (text.isascii() and text.isdigit()):
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:  # no such day (20260230)
        return None


_SPECS: dict[type[Token], tuple[_Spec, ...]] = {}


def _specs(cls: type[Token]) -> tuple[_Spec, ...]:
    """The fields of a token class, read once from its annotations."""
    if cls not in _SPECS:
        _SPECS[cls] = _read_specs(cls)
    return _SPECS[cls]


def _read_specs(cls: type[Token]) -> tuple[_Spec, ...]:
    hints = typing.get_type_hints(cls, include_extras=True)
    specs = []
    for item in dataclasses.fields(cls):
        kind: Any = hints[item.name]
        extras: tuple[object, ...] = ()
        if typing.get_origin(kind) is typing.Annotated:
            kind, *more = typing.get_args(kind)
            extras = tuple(more)
        if not (kind in (int, str, date, datetime) or (isinstance(kind, type) and issubclass(kind, StrEnum))):
            raise TypeError(f"{cls.__name__}.{item.name}: a token field is an int, a str, a StrEnum, a date "
                            "or a datetime")
        allowed: frozenset[str] | None = None
        bounds = (1, MAX_ID)
        for extra in extras:
            if isinstance(extra, _OneOf) and kind is str:
                allowed = extra.values
            elif isinstance(extra, _Number) and kind is int:
                bounds = (extra.low, extra.high)
            else:
                raise TypeError(f"{cls.__name__}.{item.name}: one_of() is for str fields, number() for int fields")
        specs.append(_Spec(item.name, kind, allowed, bounds))
    return tuple(specs)
