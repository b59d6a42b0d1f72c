"""Button tokens as typed values, so flows never split strings by hand.

A flow declares what a button carries as a frozen dataclass with a `prefix`; `encode()` writes
`<prefix>:<field>:<field>...` (the flow adds its own name in front, see `Flow.choice`), and `decode` reads it
back or returns None. Decoding trusts nothing: a press carries whatever the client sent, so a stale or forged
token must not get past it. Fields are typed:
- `int`: a database id, plain ASCII digits from 1 to 2**63 - 1 (ids are signed 64-bit; no sign, no spaces);
- a `StrEnum`: one of its values;
- `str`: a non-empty word without ':', limited to `one_of(...)` values when the field says so.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Collection
from enum import StrEnum
from typing import Any, ClassVar, Self

MAX_ID = 2**63 - 1
_ALLOWED = "homedesk.tokens.allowed"
_SEPARATOR = ":"


def one_of(values: Collection[str]) -> Any:
    """A `str` field that decodes only to one of these values (a category, an answer)."""
    return dataclasses.field(metadata={_ALLOWED: frozenset(values)})


@dataclasses.dataclass(frozen=True)
class Token:
    """Base of every button token: subclass it as a frozen dataclass and set `prefix`."""

    # One word, several joined by ':' ("photos:done"), or "" when the first field (a StrEnum) says what it is.
    prefix: ClassVar[str]

    def encode(self) -> str:
        parts = [self.prefix] if self.prefix else []
        for spec in _specs(type(self)):
            value = getattr(self, spec.name)
            if spec.parse(str(value)) != value:  # a wrong id or name is a bug in the flow that draws the button
                raise ValueError(f"{type(self).__name__}.{spec.name} cannot carry {value!r}")
            parts.append(str(value))
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


@dataclasses.dataclass(frozen=True)
class _Spec:
    name: str
    kind: type
    allowed: frozenset[str] | None

    def parse(self, text: str) -> Any:
        if self.kind is int:
            return _database_id(text)
        if issubclass(self.kind, StrEnum):
            return self.kind(text) if text in self.kind._value2member_map_ else None
        if not text or _SEPARATOR in text or (self.allowed is not None and text not in self.allowed):
            return None
        return text


def _database_id(text: str) -> int | None:
    # isdigit() alone would accept '²' and other Unicode digits; the length check spares int() a megabyte string.
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


_SPECS: dict[type[Token], tuple[_Spec, ...]] = {}


def _specs(cls: type[Token]) -> tuple[_Spec, ...]:
    """The fields of a token class, read once from its annotations."""
    if cls not in _SPECS:
        _SPECS[cls] = _read_specs(cls)
    return _SPECS[cls]


def _read_specs(cls: type[Token]) -> tuple[_Spec, ...]:
    hints = typing.get_type_hints(cls)
    specs = []
    for item in dataclasses.fields(cls):
        kind = hints[item.name]
        if not (kind is int or kind is str or (isinstance(kind, type) and issubclass(kind, StrEnum))):
            raise TypeError(f"{cls.__name__}.{item.name}: a token field is an int id, a str or a StrEnum")
        specs.append(_Spec(item.name, kind, item.metadata.get(_ALLOWED)))
    return tuple(specs)
