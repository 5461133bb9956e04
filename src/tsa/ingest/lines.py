"""Turn lines of extracted text (PDF pages, plain text) into structural blocks."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from tsa.ingest.outline import OutlineHeadings
from tsa.records import Block

NOTICE = re.compile(r"^(WARNING|CAUTION|NOTE|DANGER|IMPORTANT|NOTICE)\b\s*[:!.-]?\s*", re.IGNORECASE)
# "3 Maintenance", "3.2 Replacing the filter"; "1. Close the valve" is a step, not a heading.
NUMBERED_HEADING = re.compile(r"^(\d+(?:\.\d+)*)\s+([A-Z][^\n]{1,80})$")
LIST_ITEM = re.compile(r"^(?:\d{1,3}[.)]|[a-z][.)]|[-•*–▪])\s+\S")
_DIGITS = re.compile(r"\d+")
# Layout-preserving PDF extraction keeps table columns apart by runs of spaces.
_COLUMN_GAP = re.compile(r"(?<=\S)\s{3,}(?=\S)")


def heading_level(line: str) -> int:
    """1 + depth for a numbered heading, 1 for a short upper-case title, 0 otherwise."""
    match = NUMBERED_HEADING.match(line)
    if match and not line.rstrip().endswith((".", ",", ";")):
        return match.group(1).count(".") + 1
    letters = [c for c in line if c.isalpha()]
    if 3 <= len(letters) and len(line) <= 60 and line.isupper() and not NOTICE.match(line):
        return 1
    return 0


def classify(line: str) -> tuple[str, int]:
    """The block kind a line starts, with its heading level; ("", 0) for a continuation line."""
    notice = NOTICE.match(line)
    if notice and notice.group(1).isupper():
        return "notice", 0
    if LIST_ITEM.match(line):
        return "list_item", 0
    level = heading_level(line)
    if level:
        return "heading", level
    return "", 0


def _edges(page: list[str], depth: int) -> list[str]:
    lines = [line.strip() for line in page if line.strip()]
    return lines[:depth] + lines[-depth:]


def without_running_lines(pages: list[list[str]], min_share: float = 0.5, depth: int = 2) -> list[list[str]]:
    """Drop running headers and footers: lines within ``depth`` of a page's top or bottom that
    recur (digits ignored) on at least ``min_share`` of the pages."""
    if len(pages) < 3:
        return pages
    seen: Counter[str] = Counter()
    for page in pages:
        seen.update({_DIGITS.sub("#", line) for line in _edges(page, depth)})
    running = {shape for shape, n in seen.items() if n >= min_share * len(pages)}

    def keep(page: list[str]) -> list[str]:
        edges = set(_edges(page, depth))
        return [line for line in page
                if not (line.strip() in edges and _DIGITS.sub("#", line.strip()) in running)]

    return [keep(page) for page in pages]


def blocks_from_lines(lines: Iterable[tuple[str, int | None]], outline: OutlineHeadings | None = None
                      ) -> list[Block]:
    """Group (line, page) pairs into blocks; a blank line ends the current block. With an
    ``outline``, its titles are the headings (at its levels) and no line is one by its look."""
    blocks: list[Block] = []
    current: list[str] = []
    kind, level, page = "", 0, None

    def flush() -> None:
        nonlocal current, kind
        if current:
            blocks.append(Block(kind or "paragraph", " ".join(current), page, level))
        current, kind = [], ""

    for raw, line_page in lines:
        line = " ".join(raw.split())
        if not line:
            flush()
            continue
        titled = outline.heading(line, line_page) if outline else None
        if titled:
            flush()
            blocks.append(Block("heading", titled[1], line_page, titled[0]))
            continue
        if _COLUMN_GAP.search(raw.strip()) and not LIST_ITEM.match(line):
            flush()
            blocks.append(Block("table", " | ".join(_COLUMN_GAP.split(raw.strip())), line_page))
            continue
        new_kind, new_level = classify(line)
        if outline and new_kind == "heading":
            new_kind, new_level = "", 0
        if new_kind or kind == "heading" or not current:
            flush()
            kind, level, page = new_kind or "paragraph", new_level, line_page
        current.append(line)
    flush()
    return blocks
