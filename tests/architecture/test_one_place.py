"""Each rule in one place: the searches issue 9 named, kept as tests so the copies cannot come back."""

from __future__ import annotations

import re

from tests.architecture.imports import modules


def _where(pattern: str) -> list[str]:
    regex = re.compile(pattern)
    return sorted(name for name, path in modules().items() if regex.search(path.read_text(encoding="utf-8")))


def test_events_are_built_only_by_their_constructors() -> None:
    assert _where(r"(?<![\w.])Event\(") == ["storage.events"]


def test_one_publish_after_commit() -> None:
    # storage.events implements the buses; storage.unit_of_work.publish_committed is the only caller.
    assert _where(r"(?<!work)\.publish\(") == ["storage.events", "storage.unit_of_work"]


def test_one_dialect_aware_insert_helper() -> None:
    assert len(_where(r"postgresql\.insert\b|dialects\.postgresql import insert")) == 1


def test_one_chinese_character_pattern() -> None:
    assert len(_where(r"\\u(3400|4e00)|[一㐀]-")) == 1


def test_staff_notifications_are_written_by_one_service() -> None:
    assert _where(r"StaffNotification\(") == ["storage.models.delivery", "storage.services.notices"]


def test_flows_read_button_data_only_through_the_token_codec() -> None:
    # Splitting "<flow>:<action>:<id>" by hand let '²' reach int() and ids beyond 64 bits reach the database.
    hand_split = re.compile(r"""(partition|split)\(["']:["']\)""")
    readers = sorted(name for name, path in modules().items()
                     if name.startswith("dialogs") and hand_split.search(path.read_text(encoding="utf-8")))
    assert readers == []  # dialogs.tokens splits on its own separator constant


def test_no_invariant_is_an_assert_that_python_O_removes() -> None:
    assert _where(r"(?m)^\s*assert\b") == []
