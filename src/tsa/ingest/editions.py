"""Editions of a manual: which one is newer, and what a title page says about it.

Pure functions. A document's edition is given at upload, or read from its metadata or first page
only when a line says so plainly ("Edition 3", "Revision B", "Rev. 2.1", "Version 4 — 2024-03");
a guess from a date or a number elsewhere on the page would supersede the wrong manual.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

_EDITION_LINE = re.compile(
    r"\b(?:edition|revision|rev\.?|version|ausgabe|issue)\s*[:#]?\s*"
    r"(?P<edition>[0-9]+(?:\.[0-9]+)*[a-z]?|[a-z](?![a-z]))\b", re.IGNORECASE)
_ORDINAL_EDITION = re.compile(r"\b(?P<edition>\d+)(?:st|nd|rd|th)\s+edition\b", re.IGNORECASE)
_PARTS = re.compile(r"\d+|[a-z]+", re.IGNORECASE)


def edition_from_text(first_page: str) -> str | None:
    """The edition a title page states, else None."""
    for line in first_page.splitlines()[:60]:
        match = _ORDINAL_EDITION.search(line) or _EDITION_LINE.search(line)
        if match:
            return match.group("edition").upper() if match.group("edition").isalpha() else match.group("edition")
    return None


def edition_key(edition: str | None) -> tuple[tuple[int, int | str], ...]:
    """Sort key: numbers compare as numbers (2 < 10), letters alphabetically (B < C), numbers first.

    No edition sorts below every stated edition."""
    if not edition:
        return ()
    return tuple((0, int(p)) if p.isdigit() else (1, p.upper()) for p in _PARTS.findall(edition))


def current_edition(editions: Iterable[tuple[object, str | None, datetime]]) -> object | None:
    """Of ``(id, edition, created_at)`` for one manual, the id of the edition answers come from:
    the highest edition, and of equal ones the latest upload."""
    best = max(editions, key=lambda e: (edition_key(e[1]), e[2]), default=None)
    return None if best is None else best[0]
