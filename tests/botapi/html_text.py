"""Telegram's HTML parse mode: validate markup the way the Bot API does and turn it into
the plain text plus entities a user's client would show.

Telegram rejects unknown tags, unbalanced tags and bare ``<`` characters with
"Bad Request: can't parse entities: ...". Catching that here is the point: a bot that
forgets to escape customer text fails in tests instead of in production.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

ALLOWED_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
        "tg-spoiler", "span", "blockquote", "tg-emoji",
    }
)

_ENTITY_TYPE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
}


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; str(error) is Telegram's wording after "can't parse entities: "."""


def utf16_length(text: str) -> int:
    """Entity offsets and lengths are counted in UTF-16 code units, like Telegram does."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


class _TelegramHtmlParser(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self._source = source
        self.parts: list[str] = []
        self.length16 = 0
        # (tag, start offset in UTF-16 units, entity being built)
        self.stack: list[tuple[str, int, dict]] = []
        self.entities: list[dict] = []

    def _byte_offset(self) -> int:
        line, column = self.getpos()
        index = 0
        for _ in range(line - 1):
            index = self._source.index("\n", index) + 1
        return len(self._source[: index + column].encode())

    def _append(self, text: str) -> None:
        if text:
            self.parts.append(text)
            self.length16 += utf16_length(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag not in ALLOWED_TAGS:
            raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}')
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}')
        entity: dict = {"type": _ENTITY_TYPE[tag]}
        if tag == "a":
            href = attributes.get("href")
            if not href:
                # Telegram keeps the text of an <a> without href but creates no entity.
                entity = {}
            else:
                entity["url"] = href
        elif tag == "blockquote" and "expandable" in attributes:
            entity["type"] = "expandable_blockquote"
        elif tag == "tg-emoji":
            emoji_id = attributes.get("emoji-id")
            if not emoji_id:
                raise EntityParseError(f'Custom emoji identifier expected at byte offset {self._byte_offset()}')
            entity["custom_emoji_id"] = emoji_id
        elif tag == "code" and (css := attributes.get("class")) and css.startswith("language-"):
            entity["language"] = css.removeprefix("language-")
        self.stack.append((tag, self.length16, entity))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {self._byte_offset()}")
        open_tag, start, entity = self.stack.pop()
        if open_tag != tag:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {self._byte_offset()}, expected "</{open_tag}>", '
                f'found "</{tag}>"'
            )
        length = self.length16 - start
        if not entity or length == 0:
            return
        if tag == "code":
            language = entity.pop("language", None)
            if self.stack and self.stack[-1][0] == "pre":
                # <pre><code class="language-x"> is one pre entity with a language, not two entities.
                if language:
                    self.stack[-1][2]["language"] = language
                return
        entity["offset"] = start
        entity["length"] = length
        self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        if "<" in data:
            offset = self._byte_offset() + len(data[: data.index("<")].encode())
            raise EntityParseError(f'Unsupported start tag "" at byte offset {offset}')
        self._append(data)

    def handle_entityref(self, name: str) -> None:
        reference = f"&{name};"
        self._append(html.unescape(reference))

    def handle_charref(self, name: str) -> None:
        try:
            code = int(name[1:], 16) if name[:1] in ("x", "X") else int(name)
            self._append(chr(code))
        except (ValueError, OverflowError) as error:
            raise EntityParseError(f"Invalid character reference at byte offset {self._byte_offset()}") from error

    def handle_comment(self, data: str) -> None:
        raise EntityParseError(f'Unsupported start tag "!--" at byte offset {self._byte_offset()}')

    def handle_decl(self, decl: str) -> None:
        raise EntityParseError(f'Unsupported start tag "!" at byte offset {self._byte_offset()}')

    def handle_pi(self, data: str) -> None:
        raise EntityParseError(f'Unsupported start tag "?" at byte offset {self._byte_offset()}')

    def unknown_decl(self, data: str) -> None:
        raise EntityParseError(f'Unsupported start tag "!" at byte offset {self._byte_offset()}')


def parse_html(source: str) -> tuple[str, list[dict]]:
    """Return (plain text, entities) for Telegram HTML, or raise EntityParseError."""
    if "<" not in source and "&" not in source:
        return source, []
    parser = _TelegramHtmlParser(source)
    parser.feed(source)
    parser.close()
    if parser.stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{parser.stack[-1][0]}"')
    entities = sorted(parser.entities, key=lambda entity: (entity["offset"], -entity["length"]))
    return "".join(parser.parts), entities
