"""A light classifier of service questions, for the business dashboard (not for answering).

Each type has weighted cues; the type with the highest score wins, ties going to the first in
``ORDER``; no cue at all is ``general``. How the question opens weighs 2 ("How do I…" asks for a
procedure, "What is the…"/"How much…" for a value), and so does a fault code that is shown or
means something ("What does E-17 mean?"): a code alone may be a model number.

Cues are mostly whole words and word starts, looked up in the question's token set: this runs
for every question on the event loop, so it avoids a regular expression per cue, and repeated
questions are remembered.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

ORDER = ("troubleshooting", "procedure", "specification")
MAX_CHARS = 500  # the type shows early; a bound keeps the work small

_TOKEN = re.compile(r"[a-z0-9']+")
_CODE = re.compile(r"\b[A-Z]{1,2}-?\d{1,3}\b")  # case kept, so "a 5 mm" is no code


@dataclass(frozen=True)
class Cue:
    words: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()  # word starts: "leak" matches leaks, leaking
    phrases: tuple[str, ...] = ()  # in the lower-cased question
    pattern: re.Pattern[str] | None = None  # on the question as written
    weight: int = 1
    only_with: Cue | None = None  # counts only if this cue matches too

    def matches(self, question: str, lowered: str, tokens: set[str]) -> bool:
        found = (not self.words.isdisjoint(tokens)
                 or (bool(self.prefixes) and any(token.startswith(self.prefixes) for token in tokens))
                 or any(phrase in lowered for phrase in self.phrases)
                 or (self.pattern is not None and self.pattern.search(question) is not None))
        return found and (self.only_with is None or self.only_with.matches(question, lowered, tokens))


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_CUES: dict[str, tuple[Cue, ...]] = {
    "troubleshooting": (
        Cue(pattern=_CODE, weight=2,
            only_with=Cue(_words("clear acknowledge"), ("mean", "indicat", "display", "show", "flash", "blink"))),
        Cue(_words("error errors fault faults alarm alarms"), phrases=("warning light",)),
        Cue(_words("not won't wont doesn't doesnt isn't isnt can't cant cannot fail fails failed failure")),
        Cue(_words("why")),
        Cue(_words("trip trips tripped stuck broken smoke smell"), ("leak", "nois", "vibrat", "overheat", "jam")),
        Cue(_words("problem issue symptom cause"), ("troubleshoot", "diagnos")),
    ),
    "procedure": (
        Cue(pattern=re.compile(r"^\s*(how (do|can|should) (i|we|you)|how to|what are the steps|steps to|"
                               r"walk me through)\b", re.IGNORECASE), weight=2),
        Cue(_words("step steps procedure instruction instructions sequence")),
        Cue(_words("prime priming"),
            ("replac", "install", "remov", "adjust", "calibrat", "reset", "clean", "disassembl", "assembl",
             "bleed", "drain", "lubricat", "tighten", "mount", "dismount", "flush", "commission"),
            ("start up", "starting up", "shut down", "shutting down")),
    ),
    "specification": (
        Cue(pattern=re.compile(r"^\s*(what('s| is| are) the|how (much|many|often|long)|which)\b", re.IGNORECASE),
            weight=2),
        Cue(_words("torque capacity dimension dimensions weight voltage current pressure temperature rating spec "
                   "specs specification specifications clearance tolerance interval rpm speed flow size thread "
                   "grade viscosity fuse range limit"), phrases=("part number", "oil type")),
        Cue(pattern=re.compile(r"\d+(\.\d+)?\s*(mm|nm|bar|psi|kpa|v|a|kw|hz|l|°c|rpm)\b", re.IGNORECASE)),
        Cue(phrases=("how much", "how many", "how often", "how long", "how tight", "how big", "which oil",
                     "which grease", "which fuse", "which part", "which size")),
    ),
}


@functools.lru_cache(maxsize=4096)  # repeated questions (the cached answers) cost a lookup
def classify_question(question: str) -> str:
    question = question[:MAX_CHARS]
    lowered = question.lower()
    tokens = set(_TOKEN.findall(lowered))
    scores = {kind: sum(cue.weight for cue in _CUES[kind] if cue.matches(question, lowered, tokens))
              for kind in ORDER}
    best = max(ORDER, key=lambda kind: scores[kind])  # max keeps the first of equal scores
    return best if scores[best] > 0 else "general"
