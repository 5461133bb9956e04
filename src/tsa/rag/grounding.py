"""Is an answer backed by the passages it was given? Pure, and cheap enough for every answer.

Checked claims:
- every citation ``[n]`` names a passage that was given;
- every quantity with a unit (``25 N·m``, ``6 bar``, ``90 °C``, a range ``10–15 Nm``) appears, as the
  same value in the same unit, in a cited passage;
- every part number or error code (``HF-22-FC``, ``E-17``) appears in a cited passage.

The cited passages are those the answer cites; an answer that cites none is held to all passages
it was given. Units are compared in one spelling: ``N·m``, ``Nm``, ``N m`` and ``N-m`` are one unit,
``°C`` and ``C`` another; numbers by value (``25`` = ``25.0`` = ``25,0``; ``1,200`` = ``1200``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from tsa.store.identifiers import extract_identifiers, identifier_spans

_CITATION = re.compile(r"\[(\d{1,3})\]")
# Unit spellings → one canonical name. Longest first in the pattern, so "N·m" wins over "N".
_UNITS = {
    "n·m": "N·m", "n.m": "N·m", "n-m": "N·m", "n m": "N·m", "nm": "N·m", "newton metres": "N·m",
    "newton meters": "N·m", "lb·ft": "lb·ft", "lb-ft": "lb·ft", "lbf·ft": "lb·ft", "ft·lb": "lb·ft",
    "ft-lb": "lb·ft", "ft-lbs": "lb·ft", "in-lb": "in·lb", "in·lb": "in·lb",
    "kpa": "kPa", "mpa": "MPa", "bar": "bar", "mbar": "mbar", "psi": "psi", "pa": "Pa",
    "°c": "°C", "ºc": "°C", "deg c": "°C", "°f": "°F",
    "kw": "kW", "kva": "kVA", "mv": "mV", "kv": "kV", "ma": "mA", "hz": "Hz",
    "khz": "kHz", "rpm": "rpm", "r/min": "rpm", "min-1": "rpm", "min⁻¹": "rpm",
    "mm": "mm", "cm": "cm", "µm": "µm", "um": "µm", "inch": "in", "inches": "in",
    "kg": "kg", "lb": "lb", "lbs": "lb",
    "ml": "ml", "m3/h": "m³/h", "m³/h": "m³/h", "l/min": "l/min", "l/h": "l/h", "gpm": "gpm",
    "%": "%", "db": "dB", "db(a)": "dB(A)", "dba": "dB(A)",
    "sec": "s", "min": "min", "hours": "h", "ms": "ms",
    "kwh": "kWh", "mah": "mAh", "ah": "Ah", "ω": "Ω", "ohm": "Ω", "ohms": "Ω", "kω": "kΩ",
}
# One-letter units only in their own case ("16 A", "230 V", "5 m"): "step 3 a" or "5 in the tank" are
# not quantities.
_LETTER_UNITS = {"V": "V", "A": "A", "W": "W", "K": "K", "C": "°C", "F": "°F", "m": "m", "g": "g", "s": "s",
                 "h": "h", "l": "l", "L": "l", "t": "t"}
_UNIT_PATTERN = ("(?i:" + "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True)) + ")|" +
                 "|".join(re.escape(u) for u in _LETTER_UNITS))
_NUMBER = r"\d+(?:[.,]\d+)*"
_RANGE_JOIN = r"\s*(?:-|–|—|to|bis|\.\.\.?)\s*"
# value [range] unit — the unit must end at a word boundary ("5 min" yes, "5 minutes" as min: no).
_QUANTITY = re.compile(
    rf"(?<![\w.,])(?P<low>{_NUMBER})(?:{_RANGE_JOIN}(?P<high>{_NUMBER}))?\s?(?P<unit>{_UNIT_PATTERN})(?![\w³²])")


@dataclass(frozen=True)
class Claim:
    text: str
    kind: str  # citation, quantity, identifier
    start: int
    end: int


@dataclass(frozen=True)
class Grounding:
    supported: bool
    unsupported: list[Claim] = field(default_factory=list)
    cited: list[int] = field(default_factory=list)  # passage numbers the answer cites (1-based)

    def as_json(self) -> dict[str, object]:
        return {"supported": self.supported, "cited": self.cited,
                "unsupported": [{"claim": c.text, "kind": c.kind, "start": c.start, "end": c.end}
                                for c in self.unsupported]}

    @classmethod
    def from_json(cls, body: dict[str, object]) -> Grounding:
        claims = [Claim(c["claim"], c["kind"], c["start"], c["end"]) for c in body.get("unsupported", [])]  # type: ignore[index, union-attr]
        return cls(bool(body["supported"]), claims, list(body.get("cited", [])))  # type: ignore[arg-type]


def _value(number: str) -> Decimal | None:
    # "1,200" is a thousands separator; "25,5" a decimal comma.
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", number):
        number = number.replace(",", "")
    try:
        return Decimal(number.replace(",", "."))
    except InvalidOperation:
        return None


def _unit(spelling: str) -> str:
    return _LETTER_UNITS.get(spelling) or _UNITS[" ".join(spelling.lower().split())]


def quantities(text: str) -> Iterable[tuple[Decimal, str, re.Match[str]]]:
    """(value, canonical unit, match) for every quantity; a range gives both its ends."""
    for match in _QUANTITY.finditer(text):
        unit = _unit(match.group("unit"))
        for part in ("low", "high"):
            if match.group(part) is not None and (value := _value(match.group(part))) is not None:
                yield value, unit, match


def _identifiers(text: str) -> list[tuple[str, int, int]]:
    """Part numbers and codes with where they stand, outside quantities (230V and m3/h are units,
    checked as quantities)."""
    measured = [(m.start(), m.end()) for _, _, m in quantities(text)]
    return [(token, start, end) for token, start, end in identifier_spans(text)
            if any(c.isalpha() for c in token) and not any(a <= start < b for a, b in measured)]


def key_facts(text: str) -> list[str]:
    """The values a statement stands or falls by, in order: quantities with units, part numbers, codes."""
    found = [(m.start(), m.group(0)) for _, _, m in quantities(text)] + [(s, t) for t, s, _ in _identifiers(text)]
    return list(dict.fromkeys(token for _, token in sorted(found)))


def check(answer: str, passages: list[str]) -> Grounding:
    """Which claims of ``answer`` the passages it cites do not back."""
    unsupported: list[Claim] = []
    cited = []
    for match in _CITATION.finditer(answer):
        number = int(match.group(1))
        if 1 <= number <= len(passages):
            cited.append(number)
        else:
            unsupported.append(Claim(match.group(0), "citation", match.start(), match.end()))
    backing = [passages[n - 1] for n in sorted(set(cited))] or passages
    known = {(value, unit) for passage in backing for value, unit, _ in quantities(passage)}
    rows: list[_Row] | None = None  # the backing passages' table rows, read when first needed
    seen: set[int] = set()
    for value, unit, match in quantities(answer):
        if match.start() in seen:
            continue
        if (value, unit) not in known:
            seen.add(match.start())
            unsupported.append(Claim(match.group(0), "quantity", match.start(), match.end()))
            continue
        rows = _table_rows(backing) if rows is None else rows
        if _from_another_row(answer, match, value, unit, rows):
            seen.add(match.start())
            unsupported.append(Claim(match.group(0), "misattributed", match.start(), match.end()))
    backing_ids = {i for passage in backing for i in extract_identifiers(passage)}
    for identifier, start, end in _identifiers(answer):
        if identifier not in backing_ids and identifier.replace("-", "") not in backing_ids:
            unsupported.append(Claim(answer[start:end], "identifier", start, end))
    unsupported.sort(key=lambda c: c.start)
    return Grounding(not unsupported, unsupported, sorted(set(cited)))


def _content_words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if not w.replace("-", "").isdigit()} - _STOP


def _sentence_around(text: str, start: int) -> str:
    begin = max((m.end() for m in _SENTENCE.finditer(text, 0, start)), default=0)
    end = next((m.start() for m in _SENTENCE.finditer(text, start)), len(text))
    return text[begin:end]


@dataclass(frozen=True)
class _Row:
    words: frozenset[str]
    values: frozenset[tuple[Decimal, str]]


def _table_rows(passages: list[str]) -> list[_Row]:
    return [_Row(frozenset(_content_words(line)), frozenset((v, u) for v, u, _ in quantities(line)))
            for passage in passages for line in passage.split("\n") if " | " in line]


def _from_another_row(answer: str, match: re.Match[str], value: Decimal, unit: str, rows: list[_Row]) -> bool:
    """Is the value read off a table row about something else? "The casing bolts need 45 N·m" when
    the passage's 45 N·m is the motor feet's row and the casing bolts have a row of their own: the
    rows holding the value name none of the things the answer's sentence names, and another row does."""
    if not rows:
        return False
    named = _content_words(_sentence_around(answer, match.start())) - _content_words(match.group(0))
    holding = [row for row in rows if (value, unit) in row.values]
    return (bool(holding) and not any(row.words & named for row in holding)
            and any(row.words & named for row in rows if (value, unit) not in row.values))


UNSUPPORTED_MARK = " [not in the cited passages]"
MISATTRIBUTED_MARK = " [in the passages, but for another item]"


def annotated(answer: str, grounding: Grounding) -> str:
    """The answer with each unsupported claim marked where it stands."""
    marked = answer
    for claim in sorted(grounding.unsupported, key=lambda c: c.end, reverse=True):
        if 0 <= claim.end <= len(marked):
            mark = MISATTRIBUTED_MARK if claim.kind == "misattributed" else UNSUPPORTED_MARK
            marked = marked[:claim.end] + mark + marked[claim.end:]
    return marked


_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[a-z0-9][a-z0-9\-]+", re.IGNORECASE)
_STOP = frozenset("the a an and or of to in on for with what which how do does is are be at by from it this that "
                  "need needs must should i my".split())


def extractive(question: str, passages: list[str], cited: list[int], sentences: int = 2) -> str:
    """The passages' sentences closest to the question, quoted with their passage numbers: what an
    answer that failed the check is replaced by."""
    wanted = {w.lower() for w in _WORD.findall(question)} - _STOP
    numbers = cited or list(range(1, len(passages) + 1))
    scored = []
    for number in numbers:
        for order, sentence in enumerate(s.strip() for s in _SENTENCE.split(passages[number - 1])):
            words = {w.lower() for w in _WORD.findall(sentence)}
            if sentence and words & wanted:
                scored.append((len(words & wanted), -number, -order, sentence, number))
    best = sorted(scored, reverse=True)[:sentences]
    if not best:
        return "The manuals' passages do not state this plainly; see the sources below."
    quotes = [f"> \"{' '.join(sentence.split())}\" [{number}]" for *_, sentence, number in best]
    return "From the manuals (quoted, as the generated answer could not be checked against them):\n" + \
        "\n".join(quotes)
