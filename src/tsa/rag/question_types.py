"""A light classifier of service questions, for the business dashboard (not for answering).

Each type has weighted cue patterns; the type with the highest score wins, ties going to the
first in ``ORDER``; no cue at all is ``general``. How the question opens weighs 2 ("How do I…"
asks for a procedure, "What is the…"/"How much…" for a value), and so does a fault code that
is shown or means something ("What does E-17 mean?"): a code alone may be a model number.
"""

from __future__ import annotations

import re

ORDER = ("troubleshooting", "procedure", "specification")

_WORDS = re.IGNORECASE
_CODE = r"\b[A-Z]{1,2}-?\d{1,3}\b"  # case kept, so "a 5 mm" is no code
_SHOWN = r"(?i:\b(mean\w*|indicat\w*|display\w*|show\w*|flash\w*|blink\w*|clear|acknowledge)\b)"

_CUES: dict[str, tuple[tuple[str, int, int], ...]] = {  # (pattern, flags, weight)
    "troubleshooting": (
        (rf"{_CODE}.*{_SHOWN}|{_SHOWN}.*{_CODE}", 0, 2),
        (r"\b(error|fault|alarm|warning light)\b", _WORDS, 1),
        (r"\b(not|won'?t|doesn'?t|isn'?t|can'?t|cannot|fails?|failed|failure)\b", _WORDS, 1),
        (r"\bwhy\b", _WORDS, 1),
        (r"\b(leak\w*|nois\w*|vibrat\w*|overheat\w*|trips?|tripped|stuck|jam\w*|broken|smoke|smell)\b", _WORDS, 1),
        (r"\b(troubleshoot\w*|diagnos\w*|problem|issue|symptom|cause)\b", _WORDS, 1),
    ),
    "procedure": (
        (r"^\s*(how (do|can|should) (i|we|you)|how to|what are the steps|steps to|walk me through)\b", _WORDS, 2),
        (r"\b(steps?|procedure|instructions?|sequence)\b", _WORDS, 1),
        (r"\b(replac\w*|install\w*|remov\w*|adjust\w*|calibrat\w*|reset\w*|clean\w*|disassembl\w*|assembl\w*|"
         r"bleed\w*|drain\w*|lubricat\w*|tighten\w*|mount\w*|dismount\w*|flush\w*|prime|priming|"
         r"start(ing)? up|shut(ting)? down|commission\w*)\b", _WORDS, 1),
    ),
    "specification": (
        (r"^\s*(what('s| is| are) the|how (much|many|often|long)|which)\b", _WORDS, 2),
        (r"\b(torque|capacity|dimensions?|weight|voltage|current|pressure|temperature|rating|specs?|"
         r"specifications?|clearance|tolerance|interval|rpm|speed|flow|size|thread|part numbers?|"
         r"oil type|grade|viscosity|fuse|range|limit)\b", _WORDS, 1),
        (r"\d+(\.\d+)?\s*(mm|nm|bar|psi|kpa|v|a|kw|hz|l|°c|rpm)\b", _WORDS, 1),
        (r"\b(how (much|many|often|long|tight|big)|which (oil|grease|fuse|part|size))\b", _WORDS, 1),
    ),
}
_COMPILED = {kind: [(re.compile(pattern, flags), weight) for pattern, flags, weight in cues]
             for kind, cues in _CUES.items()}


MAX_CHARS = 500  # the type shows early; a bound keeps the regexes cheap on the event loop


def classify_question(question: str) -> str:
    question = question[:MAX_CHARS]
    scores = {kind: sum(weight for pattern, weight in _COMPILED[kind] if pattern.search(question))
              for kind in ORDER}
    best = max(ORDER, key=lambda kind: scores[kind])  # max keeps the first of equal scores
    return best if scores[best] > 0 else "general"
