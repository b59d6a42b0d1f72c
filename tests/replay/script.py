"""Conversation scripts: a readable text format, parsed into steps the runner replays.

A script is one customer journey in one language, in a file named ``<journey>.<en|zh>.txt`` anywhere under
tests/replay/scripts/. Blank lines and ``#`` comments are ignored. A header (``key: value`` lines) comes first:

    title: Book a viewing from one sentence          (free text, shown in failures)
    covers: needs, recommend, booking                (flows and journeys this script walks, see coverage.py)
    customer: Ann zh-hans                            (first name and Telegram language_code; optional phone)
    names: Wang Li, Sunny Garden                     (Latin names allowed in Chinese text, besides the defaults)
    language check: every reply | when asked         (default: every reply must be in the script's language)
    known defect: names in English (issue 16 #1)     the automatic language check only records what it finds;
                                                     the test is an expected failure while it finds something,
                                                     and fails once it finds nothing (remove the line then)

Then one step a line, starting with its subject (``customer``, ``bot``, ``chat``, ``given``, ``staff``,
``time``), or indented under a ``bot says`` line to check that reply further. Customer actions (each waits
until the bot has handled it and sent everything it queued):

    customer says "2-bedroom to rent near Wangjing"     text; a leading "/" sends a command
    customer presses "Book a viewing"                   inline button of the latest message with a keyboard
    customer presses "Book a viewing" on message 7      ... of that message (the transcript's #7)
    customer presses "Book a viewing" anywhere          ... of any message still in the chat, newest first
    customer taps "📱 Share my phone number"            reply-keyboard button (shares the contact if it asks)
    customer shares contact ["+8613900000000"]          own contact card
    customer shares someone else's contact "+86..."
    customer shares location 39.99 116.47
    customer sends photo ["caption"] | sticker | voice | document
    customer waits 2 hours | 30 minutes | 1 day         the clock moves; the scheduled ticks run, as in `run`
    customer presses data "r|need:budget:1"             a forged/stale callback
    customer presses "Back" or "Cancel my request"      either label (a wording that is changing)
    customer presses "Sunny Garden 3-1201" if offered   skipped when no such button is shown (a step the bot may
                                                        leave out); the bot's last answer stays "the reply"

World steps (named hooks, see hooks.py; quoted strings and numbers are their arguments): ``given listings``,
``given a home``, ``staff takes the chat``, ``staff replies "..."``, ``time is "2026-03-02 22:30"``, ...

Expectations about what the bot sent since the customer's last action:

    bot says "Here is what you are looking for"     the next bot message (new or edited) containing the text;
                                                    it becomes "the reply" the indented lines below check
    bot sends a photo "R-WJ-201"                    the same, and the message must carry a photo
      offers "✅ Show matches", "Edit"               those inline buttons (in any order, others allowed)
      offers exactly "1", "2", "3"                  exactly these, in this order
      has no button "Talk to a person"
      is in zh                                      language check (storage.text.has_chinese + Latin words)
      is new | is an edit | edits message 7         how it arrived
      shows keyboard "📱 Share my phone number"     a reply keyboard came with it (and is still shown)
      says "10:00"                                  another substring of the same reply
    bot says "Back to the assistant" or "Cancelled"  either text
    bot says nothing                                no message at all since the last action
    bot removes the keyboard                        no reply keyboard is shown any more
    bot keeps the keyboard                          a reply keyboard is still shown
    bot answers the button "Recorded"               the callback answer's text contains it
    bot now speaks zh                               from here on the automatic check expects Chinese (the
                                                    customer switched; it applies to what arrives next)
    bot sends 2 messages                            exactly that many new messages since the last action
    chat shows "R-2026-000001"                      some message still in the chat (as it reads now) has it
    chat no longer shows "R-2026-000001"            none does
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

LANGUAGES = ("en", "zh")
SUBJECTS = ("customer", "bot", "chat", "given", "staff", "time")
HEADER_KEYS = ("title", "covers", "customer", "names", "language check", "known defect")
HEADER = re.compile(r"^([a-z][a-z ]*[a-z]):\s*(.*)$")


class ScriptError(ValueError):
    """A script that cannot be read: names the file and line."""


@dataclass(frozen=True)
class Step:
    """One line of a script. `kind` is 'action', 'expect', 'check' (an indented check of the reply) or 'hook'."""

    line: int
    kind: str
    verb: str
    args: tuple[str, ...] = ()
    source: str = ""

    def where(self, script: Script) -> str:
        return f"{script.path.name}:{self.line}: {self.source.strip()}"


@dataclass
class Script:
    path: Path
    language: str
    title: str = ""
    covers: tuple[str, ...] = ()
    customer_name: str = "Ann"
    language_code: str = "en"
    phone: str | None = None
    names: tuple[str, ...] = ()
    check_every_reply: bool = True
    known_defect: str = ""
    steps: list[Step] = field(default_factory=list)

    @property
    def journey(self) -> str:
        return self.path.name.split(".")[0]

    @property
    def test_id(self) -> str:
        return self.path.name.removesuffix(".txt")


def split_words(text: str) -> list[str]:
    """Words and "quoted strings" of a step (quotes keep spaces; commas between quoted strings are dropped)."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=",")
    lexer.whitespace_split = True
    lexer.commenters = ""
    lexer.escapedquotes = '"'
    lexer.quotes = '"'
    return [word for word in lexer if word != ","]


def parse_file(path: Path) -> Script:
    return parse(path.read_text(encoding="utf-8"), path)


def parse(text: str, path: Path) -> Script:
    parts = path.name.split(".")
    if len(parts) != 3 or parts[1] not in LANGUAGES or parts[2] != "txt":
        raise ScriptError(f"{path.name}: a script is named <journey>.<en|zh>.txt")
    script = Script(path=path, language=parts[1], language_code="zh-hans" if parts[1] == "zh" else "en")
    in_header = True
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        header = HEADER.match(stripped) if in_header else None
        if header and header.group(1) in HEADER_KEYS:
            _header(script, header.group(1), header.group(2).strip(), number)
            continue
        in_header = False
        indented = raw[:1].isspace()
        try:
            step = _step(stripped, number, indented)
        except ValueError as error:
            raise ScriptError(f"{path.name}:{number}: {error}: {stripped}") from error
        if step.kind == "check" and not any(s.kind == "expect" for s in script.steps):
            raise ScriptError(f"{path.name}:{number}: an indented check needs a 'bot says' line above it")
        script.steps.append(step)
    if not script.steps:
        raise ScriptError(f"{path.name}: no steps")
    return script


def _header(script: Script, key: str, value: str, number: int) -> None:
    if key == "title":
        script.title = value
    elif key == "covers":
        script.covers = tuple(item.strip() for item in value.split(",") if item.strip())
    elif key == "customer":
        words = value.split()
        if not 1 <= len(words) <= 3:
            raise ScriptError(f"{script.path.name}:{number}: customer: NAME [LANGUAGE_CODE [PHONE]]")
        script.customer_name = words[0]
        if len(words) > 1:
            script.language_code = words[1]
        if len(words) > 2:
            script.phone = words[2]
    elif key == "names":
        script.names = tuple(item.strip() for item in value.split(",") if item.strip())
    elif key == "language check":
        if value not in ("every reply", "when asked"):
            raise ScriptError(f"{script.path.name}:{number}: language check: every reply | when asked")
        script.check_every_reply = value == "every reply"
    elif key == "known defect":
        script.known_defect = value
    else:
        raise ScriptError(f"{script.path.name}:{number}: unknown header {key!r}")


ACTIONS = {"says", "presses", "taps", "shares", "sends", "waits"}
EXPECTS = {"says", "sends", "removes", "keeps", "answers", "chat", "now"}
CHECKS = {"offers", "has", "is", "edits", "shows", "says"}


def _step(line: str, number: int, indented: bool) -> Step:
    words = split_words(line)
    if not words:
        raise ValueError("empty step")
    if indented:
        verb, args = words[0], tuple(words[1:])
        if verb not in CHECKS:
            raise ValueError(f"unknown check {verb!r} (one of {sorted(CHECKS)})")
        return Step(number, "check", verb, args, line)
    subject, rest = words[0], words[1:]
    if subject == "chat":
        return Step(number, "expect", "chat", tuple(rest), line)
    if subject not in SUBJECTS:
        raise ValueError(f"a step starts with one of {list(SUBJECTS)} (or is an indented check)")
    if not rest:
        raise ValueError("a step needs a verb")
    verb, args = rest[0], tuple(rest[1:])
    if subject == "bot":
        if verb not in EXPECTS:
            raise ValueError(f"unknown bot expectation {verb!r} (one of {sorted(EXPECTS)})")
        return Step(number, "expect", verb, args, line)
    if subject == "customer":
        if verb not in ACTIONS:
            raise ValueError(f"unknown customer action {verb!r} (one of {sorted(ACTIONS)})")
        return Step(number, "action", verb, args, line)
    # given / staff / time: a named hook; bare words name it, quoted strings and numbers are its arguments.
    name_words = [word for word in rest if not _is_argument(word, line)]
    arguments = tuple(word for word in rest if _is_argument(word, line))
    return Step(number, "hook", " ".join([subject, *name_words]), arguments, line)


def _is_argument(word: str, line: str) -> bool:
    """Quoted strings and numbers are a hook's arguments; bare words name it."""
    return f'"{word}"' in line or bool(re.fullmatch(r"[-+]?\d+(\.\d+)?", word))
