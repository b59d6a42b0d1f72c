"""The message splitter: every part is valid Telegram HTML on its own (tags open at a cut are closed and
reopened, no cut inside a tag or a reference), at most 4,096 long as Telegram counts (after parsing, in UTF-16
code units), and together the parts show the same text with the same formatting."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.render import MAX_TEXT, split_text, telegram_length
from dialogs.replies import Say
from tests.bot.test_sender import queue, running_sender, settle
from tests.botapi.html_text import parse_html, utf16_length

# Tags Telegram allows that may hold other formatting; code and pre hold only text.
NESTING = ["<b>", "<strong>", "<i>", "<em>", "<u>", "<ins>", "<s>", "<del>", "<tg-spoiler>",
           '<span class="tg-spoiler">', '<a href="https://example.com/?q=1&amp;r=&quot;2&quot;">', "<blockquote>",
           "<blockquote expandable>"]
LEAVES = ["<code>", '<pre><code class="language-python">', "<pre>"]
PIECES = ["a", "word ", "中文", "\U0001f600", " ", "\n", "&amp;", "&lt;", "&gt;", "&quot;", "&#128512;", "&#x4e2d;",
          "x" * 50, "long line " * 10]


def close(opening: str) -> str:
    names = [tag.split()[0].strip("<>") for tag in opening.split("><")]
    return "".join(f"</{name.strip('<>')}>" for name in reversed(names))


runs = st.tuples(st.sampled_from(PIECES), st.integers(1, 400)).map(lambda run: run[0] * run[1])
leaf = st.one_of(runs, st.tuples(st.sampled_from(LEAVES), runs).map(lambda t: t[0] + t[1] + close(t[0])))
markup = st.recursive(
    leaf,
    lambda inner: st.tuples(st.sampled_from(NESTING), st.lists(inner, min_size=1, max_size=4))
    .map(lambda t: t[0] + "".join(t[1]) + close(t[0])),
    max_leaves=8,
)
documents = st.lists(markup, min_size=1, max_size=5).map("".join).filter(lambda d: parse_html(d)[0].strip())


def formatting(source: str) -> list[tuple[str, frozenset[str]]]:
    """Each visible (non-space) character with the formatting that covers it."""
    text, entities = parse_html(source)
    offsets, position = [], 0
    for char in text:
        offsets.append(position)
        position += utf16_length(char)
    starts: dict[int, list[str]] = {}
    ends: dict[int, list[str]] = {}
    for entity in entities:
        label = entity["type"] + entity.get("url", "") + entity.get("language", "")
        starts.setdefault(entity["offset"], []).append(label)
        ends.setdefault(entity["offset"] + entity["length"], []).append(label)
    covering: list[str] = []
    marked = []
    for char, offset in zip(text, offsets, strict=True):
        for label in ends.get(offset, []):
            covering.remove(label)
        covering.extend(starts.get(offset, []))
        if not char.isspace():
            marked.append((char, frozenset(covering)))
    return marked


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])
@given(documents, st.sampled_from([MAX_TEXT, MAX_TEXT, 64, 300, 1000]))
def test_every_part_is_valid_html_within_the_limit_and_the_formatting_survives(document, limit):
    parse_html(document)  # the generator writes valid Telegram HTML
    parts = split_text(document, limit)
    for part in parts:
        text, _ = parse_html(part)  # raises on anything Telegram would reject
        assert utf16_length(text) <= limit
        assert text.strip(), "no part is empty"
        assert telegram_length(part) == utf16_length(text)
    assert [mark for part in parts for mark in formatting(part)] == formatting(document)


def test_one_bold_line_longer_than_a_message_is_two_bold_messages():
    parts = split_text("<b>" + "a" * 5000 + "</b>")
    assert parts == ["<b>" + "a" * 4096 + "</b>", "<b>" + "a" * 904 + "</b>"]


def test_cuts_never_split_a_reference_and_count_it_as_one_character():
    text = "&amp;" * 5000
    parts = split_text(text)
    assert parts == ["&amp;" * 4096, "&amp;" * 904]
    assert [parse_html(part)[0] for part in parts] == ["&" * 4096, "&" * 904]


def test_length_is_counted_in_utf16_code_units():
    parts = split_text("\U0001f600" * 2049)  # 4,098 code units
    assert [utf16_length(part) for part in parts] == [4096, 2]


async def test_a_long_formatted_line_is_delivered_in_parts_telegram_accepts(api, sessions):
    line = "<b>" + "a" * 5000 + "</b>"
    link = '<a href="https://example.com/x">' + "link text " * 600 + "</a>"
    await queue(sessions, 9151, Say(line), Say(link))
    async with running_sender(api, sessions):
        rows = await settle(sessions)
    assert [row.status for row in rows] == ["sent", "sent"]
    sent = api.sent(9151)
    assert [len(m["text"]) for m in sent[:2]] == [4096, 904]
    assert all(m["entities"][0]["type"] == "bold" for m in sent[:2])
    assert "".join(m["text"] for m in sent[2:]).replace(" ", "") == ("link text " * 600).replace(" ", "")
    assert all(m["entities"][0] == {"type": "text_link", "url": "https://example.com/x", "offset": 0,
                                    "length": len(m["text"])} for m in sent[2:])
