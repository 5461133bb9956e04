"""Evaluation cases from reviewed feedback (``tsa eval --from-feedback``). Pure: the rows and the
passages of the documents they cite come from the store.

A thumbs up says the answer was right: its key facts (values with units, part numbers, codes) are
what a good answer states, and the passage that holds them is where retrieval should look. A
thumbs down with a corrected answer says the same of the correction; one that says the manuals do
not cover the question makes an unanswerable case. A thumbs down without a correction says what
is wrong, not what is right, and makes no case.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tsa.evaluation.scoring import states
from tsa.rag.grounding import key_facts
from tsa.rag.prompt import says_not_covered


@dataclass(frozen=True)
class Passage:
    chunk_id: int
    source: str
    page_start: int | None
    page_end: int | None
    text: str


def case_from_feedback(item: dict[str, Any], passages: Iterable[Passage]) -> tuple[dict[str, Any] | None, str]:
    """An evaluation case (as it is written in a set) for one reviewed feedback row, or None with
    the reason it makes none. ``passages`` are the chunks of the documents the answer cited, the
    cited ones first."""
    reference = item["answer"] if item["rating"] == "up" else item.get("corrected_answer")
    if not reference or not reference.strip():
        return None, "a thumbs down without a corrected answer"
    question = item["question"]
    if says_not_covered(reference):
        return {"kind": "unanswerable", "question": question, "unanswerable": True}, "made"
    facts = key_facts(reference)
    holding = next((p for p in passages if all(states(p.text, f) for f in facts)), None) if facts else None
    if holding is None and not facts and item["rating"] == "up":
        holding = next(iter(passages), None)  # no value to look for: the passage the answer came from
    if holding is None:
        return None, "no passage of the cited documents holds the answer's facts"
    pages = list(range(holding.page_start, (holding.page_end or holding.page_start) + 1)) \
        if holding.page_start is not None else []
    case: dict[str, Any] = {"kind": "feedback", "question": question, "document": holding.source, "pages": pages}
    if facts:
        case["facts"] = facts
    return case, "made"
