"""A letter's HTML, as the templates wrote it, read into the small tree that the direct
renderer lays out (direct_layout.py): elements with their tag, classes and attributes, and
their text. The wording stays the templates': this module only reads what they produced.
"""

from __future__ import annotations

import html.parser
import re
from dataclasses import dataclass, field

# elements that have no end tag in HTML
VOID = frozenset({"img", "br", "meta", "link", "hr", "input"})


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list["Element | str"] = field(default_factory=list)

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple((self.attrs.get("class") or "").split())

    @property
    def kind(self) -> tuple[str, str]:
        """(tag, first class or ""): how the layout tells the template's blocks apart."""
        return self.tag, self.classes[0] if self.classes else ""

    def has(self, name: str) -> bool:
        return name in self.classes

    def elements(self) -> list["Element"]:
        return [child for child in self.children if isinstance(child, Element)]


class _TreeBuilder(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", {})
        self.open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.open[-1].children.append(element)
        if tag not in VOID:
            self.open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open[-1].children.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                del self.open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.open[-1].children.append(data)


def letter_sections(document_html: str) -> list[Element]:
    """The `<section class="letter">` elements of a document the templates rendered."""
    builder = _TreeBuilder()
    builder.feed(document_html)
    builder.close()
    found: list[Element] = []
    stack = [builder.root]
    while stack:
        element = stack.pop()
        if element.tag == "section" and element.has("letter"):
            found.append(element)
        else:
            stack.extend(reversed(element.elements()))
    return found


# CSS white-space processing (CSS Text 3, §4.1): `normal` turns every run of white space into
# one space; `pre-line` keeps the line feeds and collapses the spaces and tabs around them
SPACES = re.compile(r"[ \t\r\f]+")
AROUND_NEWLINE = re.compile(r" ?\n ?")
ANY_SPACE = re.compile(r"[ \t\n\r\f]+")


def collapse(text: str, pre_line: bool) -> str:
    if not pre_line:
        return ANY_SPACE.sub(" ", text)
    return AROUND_NEWLINE.sub("\n", SPACES.sub(" ", text))
