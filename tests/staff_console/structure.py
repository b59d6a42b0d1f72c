"""A page's structure for tests: elements with their attributes, text and place (head, body), read with the standard
library's HTMLParser, so page tests check elements, rows and values rather than whether a word appears anywhere."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parents: tuple[str, ...]  # tags of the ancestors, outermost first
    ancestor_ids: tuple[str, ...]
    parts: list[str] = field(default_factory=list)
    children: list[Element] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        found = []
        for child in self.children:
            if (tag is None or child.tag == tag) and all(child.attrs.get(k.rstrip("_")) == v for k, v in attrs.items()):
                found.append(child)
            found.extend(child.find_all(tag, **attrs))
        return found


class Page(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {}, (), ())
        self._stack = [self.root]
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parent = self._stack[-1]
        ids = parent.ancestor_ids + ((parent.attrs["id"],) if "id" in parent.attrs else ())
        element = Element(tag, {k: v or "" for k, v in attrs}, tuple(e.tag for e in self._stack[1:]), ids)
        parent.children.append(element)
        if tag not in VOID:
            self._stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._stack) - 1, 0, -1):
            if self._stack[index].tag == tag:
                del self._stack[index:]
                return

    def handle_data(self, data: str) -> None:
        for element in self._stack[1:]:
            element.parts.append(data)

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        return self.root.find_all(tag, **attrs)

    def by_id(self, element_id: str) -> Element:
        [element] = self.find_all(id=element_id)
        return element

    def forms(self, action: str) -> list[Element]:
        return self.find_all("form", action=action)
