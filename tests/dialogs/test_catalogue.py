"""Every message the bot can send exists in Simplified Chinese.

Message ids are collected from the source with a small AST walk, because the project marks them in three
ways: `t(lang, "msg")` (msgid second), `ctx.t("msg")` (msgid first) and `N_("msg")` for texts kept in tables.
Each must have a non-empty, non-fuzzy translation in one of dialogs/locales/zh/*.po.
"""

from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("dialogs", "bot")
PO_DIR = ROOT / "dialogs" / "locales" / "zh"


def _msgid(node: ast.Call) -> str | None:
    func = node.func
    position = None
    if isinstance(func, ast.Name) and func.id == "t":
        position = 1
    elif isinstance(func, ast.Name) and func.id == "N_":
        position = 0
    elif isinstance(func, ast.Attribute) and func.attr == "t":
        position = 0
    if position is None or len(node.args) <= position:
        return None
    arg = node.args[position]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    return None


def extract_msgids() -> dict[str, str]:
    """msgid -> where it was first seen (path:line)."""
    found: dict[str, str] = {}
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    msgid = _msgid(node)
                    if msgid:
                        found.setdefault(msgid, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def chinese_catalogue() -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted(PO_DIR.glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale="zh_Hans_CN"):
                if message.id and message.string and not message.fuzzy:
                    merged[str(message.id)] = str(message.string)
    return merged


def test_the_extractor_sees_all_three_marking_styles() -> None:
    found = extract_msgids()
    assert "Main menu" in found  # ctx.t("...")
    assert "Language" in found  # N_("...")
    assert "Language set to English." in found  # t(lang, "...")


def test_every_message_has_a_chinese_translation() -> None:
    catalogue = chinese_catalogue()
    missing = [f"{where}: {msgid!r}" for msgid, where in extract_msgids().items() if not catalogue.get(msgid, "")]
    assert not missing, "missing Chinese translations:\n" + "\n".join(missing)


def test_translations_keep_their_placeholders() -> None:
    import string

    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    wrong = [msgid for msgid, translated in chinese_catalogue().items() if fields(msgid) != fields(translated)]
    assert not wrong, f"placeholders differ: {wrong}"
