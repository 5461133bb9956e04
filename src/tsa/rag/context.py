"""Context assembly: a retrieved chunk that stops in the middle of a procedure or a table is given
to the model with the chunk of the same section that continues it (and one that starts in the
middle, with the chunk before). Pure: the neighbours come from the store."""

from __future__ import annotations

import dataclasses
import re

from tsa.ingest.lines import LIST_ITEM, NOTICE
from tsa.records import Neighbour, SearchHit

_STEP_NUMBER = re.compile(r"^(\d{1,3})[.)]\s")
# How much a passage may grow by its neighbours: about one chunk (CHUNK_MAX_CHARS).
MAX_EXTRA_CHARS = 1200


def _is_row(line: str) -> bool:
    return " | " in line


def _lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


def continues_after(text: str) -> bool:
    """Does the passage stop inside a procedure or table (or on the sentence that introduces one)?"""
    lines = _lines(text)
    if not lines:
        return False
    last = lines[-1]
    return bool(LIST_ITEM.match(last)) or _is_row(last) or last.rstrip().endswith(":")


def starts_inside(text: str) -> bool:
    """Does the passage start in the middle of a procedure (a step after the first) or a table?"""
    body = [line for line in _lines(text) if not NOTICE.match(line)]
    if not body:
        return False
    first = body[0]
    step = _STEP_NUMBER.match(first)
    return (step is not None and int(step.group(1)) > 1) or _is_row(first)


def join(before: str, after: str) -> str:
    """``before`` then ``after``, without the lines ``after`` repeats from it (the chunker's prose
    overlap, a split procedure's repeated warnings)."""
    seen = set(before.split("\n"))
    lines = after.split("\n")
    while lines and (lines[0] in seen or before.endswith(lines[0])):
        lines.pop(0)
    return "\n".join([before, *lines]) if lines else before


def assemble(hits: list[SearchHit], neighbours: dict[int, dict[int, Neighbour]],
             max_extra_chars: int = MAX_EXTRA_CHARS) -> list[SearchHit]:
    """Each hit, widened by the neighbour (``neighbours[chunk_id][-1 | +1]``, same section) that its
    procedure or table continues into; not by a neighbour that is a hit itself (the model has it
    already), nor beyond ``max_extra_chars`` of growth."""
    given = {h.chunk_id for h in hits}
    assembled = []
    for hit in hits:
        around = {side: n for side, n in neighbours.get(hit.chunk_id, {}).items() if n.chunk_id not in given}
        text, start, end, budget = hit.text, hit.page_start, hit.page_end, max_extra_chars
        after = around.get(1)
        if after is not None and continues_after(text) and len(after.text) <= budget:
            text, end, budget = join(text, after.text), _later(end, after.page_end), budget - len(after.text)
        before = around.get(-1)
        if before is not None and starts_inside(hit.text) and len(before.text) <= budget:
            text, start = join(before.text, text), _earlier(start, before.page_start)
        assembled.append(hit if text == hit.text else dataclasses.replace(hit, text=text, page_start=start,
                                                                          page_end=end))
    return assembled


def _later(a: int | None, b: int | None) -> int | None:
    return max((p for p in (a, b) if p is not None), default=None)


def _earlier(a: int | None, b: int | None) -> int | None:
    return min((p for p in (a, b) if p is not None), default=None)
