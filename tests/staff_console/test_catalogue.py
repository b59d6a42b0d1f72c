"""Every text the console shows exists in Simplified Chinese, with the same placeholders.

Message ids are found the way the catalogue is made: Babel's extractors with the repository's `babel.cfg`
(Python `_()`/`N_()`/`gettext`, Jinja2 `{{ _() }}` and `{% trans %}`, `_()` in console.js). Each needs a non-empty,
non-fuzzy translation in staff_console/locales/zh/*.po whose `%(name)s` placeholders are the message id's. The
services' English refusals the console shows (staff_console.errors) are checked against the services' sources.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from staff_console import errors, i18n, words
from staff_console.app import script_messages

ROOT = Path(__file__).resolve().parents[2]
PO_DIR = ROOT / "staff_console" / "locales" / "zh"
PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%|%")


def extracted() -> dict[str | tuple[str, ...], str]:
    """msgid (a tuple for plurals) -> where it was first seen, as `pybabel extract -F babel.cfg .` finds them."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: dict[str | tuple[str, ...], str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=DEFAULT_KEYWORDS):
        key = message if isinstance(message, str) else tuple(message)
        found.setdefault(key, f"{filename}:{lineno}")
    return found


EXTRACTED = extracted()


def chinese() -> dict[str | tuple[str, ...], tuple[str, ...]]:
    merged: dict[str | tuple[str, ...], tuple[str, ...]] = {}
    for path in sorted(PO_DIR.glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale="zh_Hans_CN"):
                if not message.id or message.fuzzy:
                    continue
                key = message.id if isinstance(message.id, str) else tuple(message.id)
                forms = (message.string,) if isinstance(message.string, str) else tuple(message.string)
                merged[key] = forms
    return merged


def placeholders(text: str) -> list[str]:
    """The %-format fields, sorted; a lone "%" (a translation forgetting "%%") counts as one too."""
    return sorted(match.group(1) or match.group(0) for match in PLACEHOLDER.finditer(text))


def test_the_extractors_see_every_marking_style() -> None:
    where = {msgid: place for msgid, place in EXTRACTED.items() if isinstance(msgid, str)}
    assert where["Saved."].startswith("staff_console/routes/")  # _("...") in Python
    assert where["Inbox"].startswith("staff_console/routes/inbox.py")  # N_("...") in a table
    assert where["Sign in"].startswith("staff_console/templates/")  # {{ _("...") }}
    assert where["page %(page)s of %(pages)s"].startswith("staff_console/templates/")  # {% trans %}
    assert where["New customer waiting: %(name)s"].startswith("staff_console/static/console.js")  # JavaScript
    assert ("of %(count)s ticket", "of %(count)s tickets") in EXTRACTED  # {% pluralize %}
    assert "waiting for the customer" in EXTRACTED  # staff_console.words
    assert len(EXTRACTED) > 500


def test_every_console_message_has_a_chinese_translation() -> None:
    catalogue = chinese()
    missing = [f"{where}: {msgid!r}" for msgid, where in EXTRACTED.items()
               if not all(catalogue.get(msgid, ("",)))]
    assert not missing, ("missing Chinese translations (refresh with the commands in babel.cfg, then translate):\n"
                         + "\n".join(missing))


def test_translations_keep_their_placeholders() -> None:
    wrong = []
    for msgid, forms in chinese().items():
        ids = (msgid,) if isinstance(msgid, str) else msgid
        expected = placeholders(ids[-1])
        if isinstance(msgid, tuple) and "num" not in expected and placeholders(ids[0]) != expected:
            wrong.append(f"{msgid!r}: the singular and plural differ")
        for form in forms:
            if placeholders(form) != expected:
                wrong.append(f"{msgid!r} -> {form!r}")
            else:  # and it formats: every field filled, no stray percent sign
                form % {name: "x" for name in expected if name not in ("%", "%%")}
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


def test_no_message_is_marked_inside_an_f_string() -> None:
    """Babel's Python extractor does not look inside f-strings: a `_("...")` there would never reach the
    catalogue (and so never be translated), without the tests above noticing."""
    hidden = []
    for path in sorted((ROOT / "staff_console").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name | ast.Attribute) and (
                            getattr(inner.func, "id", None) or getattr(inner.func, "attr", None)) in (
                            "_", "N_", "gettext", "ngettext"):
                        hidden.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    assert not hidden


def test_the_catalogue_holds_nothing_stale() -> None:
    """Every translation is for a text the console still shows (run the update in babel.cfg after removing one)."""
    stale = [msgid for msgid in chinese() if msgid not in EXTRACTED]
    assert not stale, f"translations of texts no longer in the console: {stale}"


def test_the_loader_reads_what_the_test_reads() -> None:
    tr = i18n.Translator("zh", i18n.zone("Asia/Shanghai", i18n.ZoneInfo("UTC")))
    assert tr("Saved.") == "已保存。"
    assert tr("Status set to %(status)s.", status="x") == "状态已改为“x”。"
    assert tr.ngettext("of %(count)s ticket", "of %(count)s tickets", 3, count=3) == "共 3 张工单"
    english = i18n.Translator("en", tr.tz)
    assert english.ngettext("of %(count)s ticket", "of %(count)s tickets", 1, count=1) == "of 1 ticket"


def test_console_js_texts_are_the_extracted_ones() -> None:
    """The page carries console.js's texts, found by the same JavaScript extractor."""
    assert "Take" in script_messages() and "New customer waiting: %(name)s" in script_messages()
    assert all(message in EXTRACTED for message in script_messages())


def test_every_word_table_is_marked() -> None:
    """The console's words are message ids the extractor finds (N_), so they are in the catalogue."""
    unmarked = [(kind, code, msgid) for kind, table in words.CONSOLE_WORDS.items() for code, msgid in table.items()
                if msgid not in EXTRACTED]
    assert not unmarked


# ---- the services' sentences the console shows ---------------------------------------------------------------------

# Exceptions whose message reaches staff, and the report lists of imports (storage/importers).
SHOWN_ERRORS = {"HandoffError", "TicketError", "NoSuchTicket", "StaffAccountError", "ListingError", "ViewingError",
                "SlotTaken", "SurveyError", "NotYourFollowUp", "CsvFormatError", "RowError", "PhotoError",
                "RevisitError", "MergeError", "FaqError", "UnitError", "CustomerError", "ConsultationError",
                "OnBehalfError", "BroadcastError", "AudienceError", "DealError", "MilestoneError"}
VALUE_ERRORS_SHOWN_IN = ("storage/services/warranty.py", "storage/services/sla.py")


def _samples(node: ast.expr) -> list[str]:
    """A sentence as the service writes it, its f-string values replaced by "x" (both ways when a value is
    `"a" if ... else "b"`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if not isinstance(node, ast.JoinedStr):
        return []
    samples = [""]
    for part in node.values:
        if isinstance(part, ast.Constant):
            choices = [str(part.value)]
        elif isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.IfExp) \
                and isinstance(part.value.body, ast.Constant) and isinstance(part.value.orelse, ast.Constant):
            choices = [str(part.value.body.value), str(part.value.orelse.value)]
        else:
            choices = ["x"]
        samples = [sample + choice for sample in samples for choice in choices]
    return samples


def service_sentences() -> Iterator[tuple[str, str]]:
    """(where, sample) for every sentence storage/ can show staff: shown exceptions, NumberRule reasons, import
    report lines and ticket suggestion reasons."""
    for path in sorted((ROOT / "storage").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        name = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "reason" and name.endswith("listings.py"):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Return) and inner.value is not None:
                        for sample in _samples(inner.value):
                            yield f"{name}:{inner.lineno}", sample
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            argument: ast.expr | None = None
            if called in SHOWN_ERRORS or (called == "ValueError" and name in VALUE_ERRORS_SHOWN_IN):
                argument = node.args[0]
            elif called == "append" and isinstance(func, ast.Attribute):
                target = func.value
                if isinstance(target, ast.Attribute) and target.attr in ("errors", "warnings") \
                        and isinstance(node.args[0], ast.Tuple):
                    argument = node.args[0].elts[1]
                elif isinstance(target, ast.Name) and target.id == "reasons":
                    argument = node.args[0]
            if argument is not None:
                for sample in _samples(argument):
                    yield f"{name}:{node.lineno}", sample


SENTENCES = list(service_sentences())


def test_the_scan_finds_the_services_sentences() -> None:
    samples = {sample for _, sample in SENTENCES}
    assert "the conversation is closed" in samples  # HandoffError
    assert "cannot go from x to x" in samples  # an f-string
    assert "x must be a whole number from x to x" in samples  # NumberRule.reason
    assert "x repeats line x; this row wins" in samples  # an import warning
    assert "skill: x" in samples  # a suggestion reason


@pytest.mark.parametrize(("where", "sample"), SENTENCES, ids=[f"{where}:{sample[:30]}" for where, sample in SENTENCES])
def test_every_service_sentence_has_a_message_id(where: str, sample: str) -> None:
    assert errors.match(sample) is not None, (
        f"{where}: {sample!r} reaches staff in English only: add its message id to staff_console/errors.py")


def test_service_sentences_are_translated_with_their_values() -> None:
    tr = i18n.Translator("zh", i18n.ZoneInfo("Asia/Shanghai"))
    assert errors.service_message(tr, "cannot go from in_progress to new") == "无法从“处理中”改为“新建”"
    assert errors.service_message(tr, "photo 'a.jpg' is outside the media folder") == \
        "照片 'a.jpg' 位于媒体文件夹之外"
    assert errors.service_message(tr, "price must be a positive number up to 9") == "价格 必须是不超过 9 的正数"
    assert errors.service_message(tr, "something new") == "something new"  # shown as it is
    english = i18n.Translator("en", tr.tz)
    assert errors.service_message(english, "area_m2 must be between 0 and 1") == "area_m2 must be between 0 and 1"
