"""Query optimisation for the full-text list: the words technicians ask with, and the words service
manuals write. Pure.

"How heavy is the pump?" shares no word with "Weight (dry) | 38 kg"; "How loud is it?" none with
"Noise level | 68 dB(A)". The words a specification states a property by are few and the same in
every manual, so the lexical query gets them added (the vector list keeps the question as asked).
"""

from __future__ import annotations

import re

# (what a question says, the words a manual uses for it). Whole words, case-insensitive.
_PROPERTY_WORDS: list[tuple[str, str]] = [
    (r"heavy|weighs?", "weight mass"),
    (r"loud|noisy", "noise level sound"),
    (r"hot|warm|cold", "temperature"),
    (r"how\s+long", "time duration"),
    (r"how\s+often", "interval every"),
    (r"how\s+fast", "speed"),
    (r"how\s+(?:big|large|wide|tall|high)", "dimensions size"),
    (r"how\s+much\s+(?:\w+\s+)?(?:is\s+)?left|remaining", "level"),
    (r"tighten(?:ed|ing)?", "torque"),
    (r"volts?", "voltage"),
]
_PATTERNS = [(re.compile(rf"\b(?:{words})\b", re.IGNORECASE), added) for words, added in _PROPERTY_WORDS]


def lexical_query(question: str) -> str:
    """The question with the manuals' words for the properties it asks about appended.

    >>> lexical_query("How heavy is the pump when dry?")
    'How heavy is the pump when dry? weight mass'
    >>> lexical_query("How do I see how much ink is left in an Epson printer?")
    'How do I see how much ink is left in an Epson printer? level'
    >>> lexical_query("Which seal kit fits?")
    'Which seal kit fits?'
    """
    added = [words for pattern, words in _PATTERNS if pattern.search(question)]
    return " ".join([question, *added])
