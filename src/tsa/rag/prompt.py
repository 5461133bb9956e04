"""The prompt: numbered context passages the model must answer from and cite. Pure."""

from __future__ import annotations

import re
from typing import Protocol

from tsa.rag.followups import Turn
from tsa.records import SearchHit


class WebPassageLike(Protocol):
    url: str
    title: str
    text: str


PROMPT_VERSION = 2  # 2: passages widened by their neighbouring chunks (context.py)

SYSTEM_PROMPT = (
    "You are a technical service assistant for field technicians. Answer the question using only "
    "the numbered context passages taken from service manuals. Cite every passage you use by its "
    "number in square brackets, like [1]. Repeat any WARNING or CAUTION that applies. If the "
    "passages do not contain the answer, say that the manuals do not cover it. Be concise."
)

WEB_SYSTEM_PROMPT = (
    "You are a technical service assistant for field technicians. Answer the question using only "
    "the context passages. Passages numbered like [1] come from the organisation's service manuals; "
    "passages numbered like [W1] come from web pages, which are less reliable. Cite every passage you "
    "use by its label in square brackets, like [1] or [W1]. Repeat any WARNING or CAUTION that applies. "
    "If the passages do not contain the answer, say so. Be concise."
)
# Said before any answer made with web passages, so no one takes it for the manuals' word.
WEB_ONLY_PREAMBLE = "From the web, not the manuals: "
WEB_MIXED_PREAMBLE = "Partly from the web ([W…] sources), not only the manuals: "

NO_CONTEXT_ANSWER = (
    "I could not find this in the indexed service documents, so I will not guess. "
    "Try rephrasing the question, or check that the right manual has been ingested."
)


_NOT_COVERED = re.compile(r"not (?:cover|contain|mention|say|state|in the)|could not find|no information|"
                          r"does not (?:cover|say|state)|not (?:specified|provided|available)", re.IGNORECASE)


def says_not_covered(text: str) -> bool:
    """Does an answer say that the manuals do not cover the question (a refusal)?"""
    return bool(_NOT_COVERED.search(text))


def is_relevant(hit: SearchHit, min_similarity: float) -> bool:
    """Close in meaning, or an exact identifier match (a part number or error code)."""
    return (hit.similarity is not None and hit.similarity >= min_similarity) or "identifier" in hit.ranks


def page_label(hit: SearchHit) -> str:
    if hit.page_start is None:
        return ""
    if hit.page_end is not None and hit.page_end != hit.page_start:
        return f", pages {hit.page_start}-{hit.page_end}"
    return f", page {hit.page_start}"


def format_context(hits: list[SearchHit]) -> str:
    passages = []
    for number, hit in enumerate(hits, start=1):
        section = f" — {' > '.join(hit.heading_path)}" if hit.heading_path else ""
        passages.append(f"[{number}] {hit.title}{page_label(hit)}{section}\n{hit.text}")
    return "\n\n".join(passages)


def format_web_context(passages: list[WebPassageLike]) -> str:
    return "\n\n".join(f"[W{n}] {p.title} — {p.url}\n{p.text}" for n, p in enumerate(passages, start=1))


def build_messages(question: str, hits: list[SearchHit], history: list[Turn] | None = None,
                   web: list[WebPassageLike] | None = None) -> list[dict[str, str]]:
    """System prompt, the earlier turns of the conversation (already bounded), then the passages and
    the question. Web passages are labelled [W1], [W2] …, never numbered like the manuals'."""
    context = "\n\n".join(part for part in (format_context(hits), format_web_context(web or [])) if part)
    user = f"Context passages:\n\n{context}\n\nQuestion: {question.strip()}\nAnswer:"
    earlier = [message for turn in history or [] for message in (
        {"role": "user", "content": turn.standalone}, {"role": "assistant", "content": turn.answer})]
    system = WEB_SYSTEM_PROMPT if web else SYSTEM_PROMPT
    return [{"role": "system", "content": system}, *earlier, {"role": "user", "content": user}]


def web_preamble(manual_passages: int, web_passages: int) -> str:
    if not web_passages:
        return ""
    return WEB_MIXED_PREAMBLE if manual_passages else WEB_ONLY_PREAMBLE


_WEB_CITATION = re.compile(r"\[W(\d{1,3})\]")


def web_citations_numbered(answer: str, manual_passages: int) -> str:
    """[Wk] as [manual_passages + k]: the grounding check sees manual and web passages as one list."""
    return _WEB_CITATION.sub(lambda m: f"[{manual_passages + int(m.group(1))}]", answer)


def snippet(text: str, max_chars: int = 240) -> str:
    flat = " ".join(text.split())
    if len(flat) <= max_chars:
        return flat
    cut = flat[:max_chars].rsplit(" ", 1)[0]
    return cut + " …"
