"""Follow-up questions made to stand alone before retrieval. Pure: prompts, checks, a fallback.

"and the impeller nut?" after "What torque do the casing bolts need?" means "What torque does the
impeller nut need?". The chat model is asked to rewrite it; its answer is used only if it looks
like a question about the same thing; otherwise a deterministic rewrite joins the follow-up to
the question it follows, which retrieval (hybrid: words and meaning) handles well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REWRITE_SYSTEM = (
    "Rewrite the user's last question so that it can be understood without the conversation. Keep every "
    "part number, error code, value and unit exactly. Answer with the rewritten question only."
)
_FOLLOW_UP = re.compile(
    r"^\s*(?:and|also|what about|how about|and what about|same for|what of|but|then|ok(?:ay)?,?)\b"
    r"|\b(?:it|its|it's|they|them|their|that|this|those|these|there|one|same)\b", re.IGNORECASE)
_LEAD = re.compile(r"^\s*(?:and|also|what about|how about|and what about|same for|what of|but|then)\s+",
                   re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-./]*")
_STOP = frozenset("a an the and or of to in on for with what which how do does is are be it its this that "
                  "about also same then but they them their there one these those".split())
MAX_HISTORY_CHARS = 2000  # about 500 tokens of earlier turns in view


@dataclass(frozen=True)
class Turn:
    question: str
    standalone: str
    answer: str


def needs_rewrite(question: str, history: list[Turn]) -> bool:
    """A question with earlier turns that reads like a follow-up (short, or leaning on them)."""
    if not history:
        return False
    return len(question.split()) <= 4 or bool(_FOLLOW_UP.search(question))


def rewrite_messages(question: str, history: list[Turn]) -> list[dict[str, str]]:
    lines = [f"Q: {t.standalone}\nA: {t.answer[:300]}" for t in recent(history, MAX_HISTORY_CHARS // 2)]
    user = "Conversation:\n" + "\n".join(lines) + f"\n\nLast question: {question.strip()}\nRewritten question:"
    return [{"role": "system", "content": REWRITE_SYSTEM}, {"role": "user", "content": user}]


def _content_words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)} - _STOP


def acceptable(rewrite: str, question: str) -> str | None:
    """The model's rewrite, cleaned, if it is a plausible stand-alone question; else None."""
    text = " ".join(rewrite.strip().strip('"').split())
    text = re.sub(r"^(?:rewritten question|question)\s*:\s*", "", text, flags=re.IGNORECASE)
    if not 3 <= len(text) <= 300 or "\n" in rewrite.strip():
        return None
    if not _content_words(question) <= _content_words(text) | _STOP:
        return None  # it dropped what the follow-up asks about
    return text


def rules_rewrite(question: str, history: list[Turn]) -> str:
    """The follow-up's own words first, then the question it follows: "the impeller nut — What
    torque do the casing bolts need?"."""
    core = _LEAD.sub("", question).strip().rstrip("?").strip()
    return f"{core} — {history[-1].standalone}" if core else history[-1].standalone


def recent(history: list[Turn], max_chars: int = MAX_HISTORY_CHARS) -> list[Turn]:
    """The latest turns that fit in ``max_chars`` (question and answer), oldest first."""
    kept: list[Turn] = []
    used = 0
    for turn in reversed(history):
        used += len(turn.standalone) + len(turn.answer)
        if used > max_chars:
            break
        kept.append(turn)
    return list(reversed(kept))


def title_of(question: str) -> str:
    flat = " ".join(question.split())
    return flat if len(flat) <= 80 else flat[:79].rsplit(" ", 1)[0] + "…"
