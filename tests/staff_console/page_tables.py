"""Read a console page's structure in tests: the rows of a table (or list) by its id, each row's cells as text and
its attributes, and the forms on the page, so tests check elements and values, not only that a word appears."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class PageRow:
    attrs: dict[str, str]
    cells: list[str] = field(default_factory=list)


class _Rows(HTMLParser):
    def __init__(self, element_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.element_id, self.depth, self.rows = element_id, 0, []
        self.cell: list[str] | None = None
        self.in_head = False
        self.found = False
        self.forms: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.forms.append(values)
        if not self.depth:
            if values.get("id") == self.element_id:
                self.depth, self.found = 1, True
            return
        self.depth += tag not in VOID
        if tag == "thead":
            self.in_head = True
        elif tag in ("tr", "li") and not self.in_head:
            self.rows.append(PageRow(values))
            if tag == "li":  # a list item is one cell: its whole text
                self.cell = []
        elif tag in ("td", "th") and self.rows and not self.in_head:
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if not self.depth:
            return
        self.depth -= tag not in VOID
        if tag == "thead":
            self.in_head = False
        elif tag in ("td", "th", "li") and self.cell is not None:
            self.rows[-1].cells.append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


VOID = {"input", "br", "img", "meta", "link", "hr"}


def rows(page: str, element_id: str) -> list[PageRow]:
    """The data rows (tr or li) inside the element with this id; AssertionError when there is no such element."""
    parser = _Rows(element_id)
    parser.feed(page)
    assert parser.found, f"no element with id {element_id!r} on the page"
    return parser.rows


def has_element(page: str, element_id: str) -> bool:
    parser = _Rows(element_id)
    parser.feed(page)
    return parser.found


def form_actions(page: str) -> list[str]:
    parser = _Rows("")
    parser.feed(page)
    return [form.get("action", "") for form in parser.forms]
