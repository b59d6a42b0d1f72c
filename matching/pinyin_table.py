"""pypinyin's single-character table, kept compact: the same readings for about 1 MB instead of about 10 MB.

pypinyin (0.50 and later) reads its table of 41,000 characters from pinyin_dict.json into a dict of int keys and str
values, after a copy of the whole dict made while re-keying it: about 10 MB resident for the life of the process
(issue 17). Its conversion code only asks the table `code in table` and `table[code]` (pypinyin.converter), so
`install()` puts a module of the same name in its place, before pypinyin is first imported, whose `pinyin_dict` is a
`CompactTable` over the same file: the file's bytes once, the code points and the offsets of their values in two
arrays, a value decoded when asked for. pypinyin then gives exactly the readings it gives with its own table
(tests/matching/test_pinyin_table.py compares every entry and a sample of conversions).

When the file is not where this version of pypinyin keeps it, or pypinyin is already imported, nothing is replaced.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import types
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from pathlib import Path

MODULE = "pypinyin.pinyin_dict"
_ENTRY = re.compile(rb'^"(\d+)": "([^"\\]*)",?$', re.MULTILINE)


class CompactTable(Mapping[int, str]):
    """A read-only {code point: "reading,reading"} over the text of pinyin_dict.json (one entry a line)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._codes = array("I")
        self._starts = array("I")
        self._ends = array("I")
        for match in _ENTRY.finditer(data):
            self._codes.append(int(match.group(1)))
            self._starts.append(match.start(2))
            self._ends.append(match.end(2))
        if len(self._codes) != data.count(b'": "') or any(
                a >= b for a, b in zip(self._codes, self._codes[1:], strict=False)) or not self._codes:
            raise ValueError("pinyin_dict.json is not one plain entry a line in code point order")

    def _position(self, code: object) -> int:
        if not isinstance(code, int) or isinstance(code, bool):
            return -1
        position = bisect_left(self._codes, code)
        return position if position < len(self._codes) and self._codes[position] == code else -1

    def __contains__(self, code: object) -> bool:
        return self._position(code) >= 0

    def __getitem__(self, code: int) -> str:
        position = self._position(code)
        if position < 0:
            raise KeyError(code)
        return self._data[self._starts[position]:self._ends[position]].decode("utf-8")

    def __iter__(self) -> Iterator[int]:
        return iter(self._codes)

    def __len__(self) -> int:
        return len(self._codes)

    def copy(self) -> CompactTable:
        """pypinyin copies its table unless PYPINYIN_NO_DICT_COPY is set; this one is read-only: itself."""
        return self


def table_path() -> Path | None:
    """Where the installed pypinyin keeps its single-character table (without importing pypinyin)."""
    spec = importlib.util.find_spec("pypinyin")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "pinyin_dict.json"
        if path.is_file():
            return path
    return None


def install() -> bool:
    """Give pypinyin the compact table; True when done (call before pypinyin is first imported)."""
    if "pypinyin" in sys.modules or MODULE in sys.modules:
        return False
    path = table_path()
    if path is None:
        return False
    try:
        table = CompactTable(path.read_bytes())
    except (OSError, ValueError):
        return False
    module = types.ModuleType(MODULE, "pypinyin's single-character table, compact (matching.pinyin_table)")
    module.pinyin_dict = table  # type: ignore[attr-defined]
    sys.modules[MODULE] = module
    return True
