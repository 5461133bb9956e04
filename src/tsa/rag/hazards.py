"""Safety signal words in a passage (ANSI Z535 / ISO 3864 order), so readers cannot miss them. Pure."""

from __future__ import annotations

import re

# As manuals print them: in capitals, as a word of their own ("Warning lights" in prose is not one).
_SIGNAL = re.compile(r"\b(DANGER|WARNING|CAUTION)\b")
_SEVERITY = {"DANGER": 3, "WARNING": 2, "CAUTION": 1}


def hazard_level(text: str) -> str | None:
    """The most severe signal word in the text, or None."""
    found = set(_SIGNAL.findall(text))
    return max(found, key=_SEVERITY.__getitem__) if found else None
