"""A PDF's outline (bookmarks) as the source of its section titles.

Where the author's tool wrote an outline, it says what the sections are and on which page each
starts; guessing headings from the text's look files a command's reference page under a short
upper-case line such as "EOD". Pure functions here; ``parsers`` reads the outline with pypdf.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# "2.1 Description", "1.1) What is Gutenprint?", "H.3.1 NUT data server port", "A. Glossary"; text
# extraction may drop the space after the number ("2.6Network Information").
_NUMBERING = re.compile(r"^(?:\d+(?:\.\d+)*[.)]?\s*|[A-Z](?:\.\d+)+[.)]?\s*|[A-Z][.)]\s+)")
_SPACES = re.compile(r"\s+")
# Below this share of its entries found in the text, an outline is not trusted (a broken or
# foreign one, or titles that wrap over lines everywhere): headings come from the layout.
MIN_MATCHED_SHARE = 0.5


@dataclass(frozen=True)
class OutlineEntry:
    title: str
    level: int  # 1 = top
    page: int  # from 1


def title_key(text: str) -> str:
    """A title as compared: numbering, case, spacing and trailing punctuation ignored.

    >>> title_key("2.1  Description") == title_key("Description")
    True
    >>> title_key("1.1) What is Gutenprint?")
    'what is gutenprint?'
    >>> [title_key(t) for t in ("2.6Network Information", "H.3.1 NUT data server port", "A. Glossary")]
    ['network information', 'nut data server port', 'glossary']
    """
    text = _SPACES.sub(" ", text).strip()
    text = _NUMBERING.sub("", text)
    return text.rstrip(" .:").casefold()


class OutlineHeadings:
    """Which lines are section titles: those that match an outline entry on the entry's page."""

    def __init__(self, entries: Iterable[OutlineEntry]) -> None:
        self.entries = [e for e in entries if title_key(e.title)]
        self._by_page: dict[int, dict[str, OutlineEntry]] = {}
        for entry in self.entries:
            self._by_page.setdefault(entry.page, {}).setdefault(title_key(entry.title), entry)

    def heading(self, line: str, page: int | None) -> tuple[int, str] | None:
        """(level, title) when ``line`` is an outline title on ``page``: the outline's wording,
        with the line's section number in front ("2.6 Network Information")."""
        entry = self._by_page.get(page, {}).get(title_key(line)) if page is not None else None
        if entry is None:
            return None
        number = _NUMBERING.match(" ".join(line.split()))
        prefix = number.group(0).strip() if number else ""
        title = " ".join(entry.title.split())
        if prefix and not _NUMBERING.match(title):
            title = f"{prefix} {title}"
        return entry.level, title

    def trusted(self, lines: Iterable[tuple[str, int | None]]) -> bool:
        """Whether enough of the outline's entries are found as lines on their pages."""
        if len(self.entries) < 2:
            return False
        found = {(page, title_key(line)) for line, page in lines if self.heading(line, page)}
        wanted = {(e.page, title_key(e.title)) for e in self.entries}
        return len(found & wanted) >= MIN_MATCHED_SHARE * len(wanted)
