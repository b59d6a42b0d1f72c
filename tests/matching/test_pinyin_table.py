"""The compact pinyin table (matching.pinyin_table) holds exactly pypinyin's single-character readings, and pypinyin
converts with it exactly as with its own table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from matching import districts, pinyin_table
from matching.pinyin_table import CompactTable

REPO = Path(__file__).resolve().parents[2]
SAMPLE = ("朝阳海淀丰台石景山通州顺义昌平大兴房山门头沟怀柔平谷密云延庆"
          "东城西城望京国贸三里屯重庆长安行乐了地得的觉绿女略")


def test_every_entry_of_the_table_is_pypinyins() -> None:
    path = pinyin_table.table_path()
    assert path is not None
    expected = {int(key): value for key, value in json.loads(path.read_text(encoding="utf-8")).items()}
    table = CompactTable(path.read_bytes())
    assert len(table) == len(expected)
    assert dict(table.items()) == expected
    assert 0x671D in table and table[0x671D] == expected[0x671D]  # 朝
    assert ord("a") not in table and "朝" not in table and True not in table
    with pytest.raises(KeyError):
        table[ord("a")]
    assert table.copy() is table


def test_districts_run_pypinyin_on_the_compact_table() -> None:
    table = sys.modules[pinyin_table.MODULE].pinyin_dict
    assert isinstance(table, CompactTable)
    assert districts.readings("朝阳", True) >= {"chao2yang2", "zhao1yang2"}


def test_a_table_not_in_the_expected_form_is_refused() -> None:
    with pytest.raises(ValueError):
        CompactTable(b'{\n"13312": "qi\\u016b",\n}')  # an escaped value: pypinyin's own table is used instead
    with pytest.raises(ValueError):
        CompactTable(b'{\n"13313": "a",\n"13312": "b"\n}')  # out of order
    assert pinyin_table.install() is False  # pypinyin is imported already: nothing is replaced


def test_readings_are_the_same_as_with_pypinyins_own_table() -> None:
    script = (
        "import os, sys\n"
        "os.environ['PYPINYIN_NO_PHRASES'] = '1'\n"
        "if sys.argv[1] == 'compact':\n"
        "    import matching.districts\n"
        "    assert type(sys.modules['pypinyin.pinyin_dict'].pinyin_dict).__name__ == 'CompactTable'\n"
        "from pypinyin import Style, pinyin\n"
        "for style in (Style.TONE3, Style.NORMAL, Style.TONE, Style.INITIALS):\n"
        "    print(pinyin(sys.argv[2], style=style, heteronym=True, errors='ignore'))\n"
        "    print(pinyin(sys.argv[2] + 'abc 1', style=style, heteronym=False))\n"
    )
    outputs = [subprocess.run([sys.executable, "-c", script, mode, SAMPLE], cwd=REPO, capture_output=True, text=True,
                              check=True, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin",
                                                   "PYTHONIOENCODING": "utf-8"}).stdout
               for mode in ("own", "compact")]
    assert outputs[0] == outputs[1]
    assert "chao2" in outputs[1]
