"""Retrieval metrics of an evaluation run. Pure.

Each answerable case has target pages in one document; a retrieved chunk is relevant when it
comes from that document and its page range touches a target page. Only the rank of the first
relevant chunk counts (one answer is enough for a technician): hit@k, reciprocal rank, and
nDCG with a single relevant item (1 / log2(rank + 1)).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CUTOFF = 10


@dataclass(frozen=True)
class Retrieved:
    source: str
    page_start: int | None
    page_end: int | None


def relevant(hit: Retrieved, document: str, pages: Sequence[int]) -> bool:
    if hit.source != document:
        return False
    if not pages:
        return True
    if hit.page_start is None:
        return False
    last = hit.page_end if hit.page_end is not None else hit.page_start
    return any(hit.page_start <= page <= last for page in pages)


def first_relevant_rank(hits: Sequence[Retrieved], document: str, pages: Sequence[int]) -> int | None:
    """1-based rank of the first relevant hit, or None."""
    return next((n for n, hit in enumerate(hits, start=1) if relevant(hit, document, pages)), None)


@dataclass(frozen=True)
class RetrievalScores:
    cases: int
    hit_at_1: float
    hit_at_5: float
    mrr_at_10: float
    ndcg_at_10: float


def score(ranks: Iterable[int | None]) -> RetrievalScores:
    ranks = list(ranks)
    n = len(ranks) or 1

    def share(k: int) -> float:
        return sum(1 for r in ranks if r is not None and r <= k) / n

    mrr = sum(1 / r for r in ranks if r is not None and r <= CUTOFF) / n
    ndcg = sum(1 / math.log2(r + 1) for r in ranks if r is not None and r <= CUTOFF) / n
    return RetrievalScores(len(ranks), share(1), share(5), mrr, ndcg)


def states(text: str, fact: str) -> bool:
    """Is ``fact`` stated in ``text``? Quantities by value and unit (25 N·m = 25 Nm), else as text."""
    from tsa.rag.grounding import quantities

    wanted = {(value, unit) for value, unit, _ in quantities(fact)}
    if wanted:
        return wanted <= {(value, unit) for value, unit, _ in quantities(text)}
    return " ".join(fact.lower().split()) in " ".join(text.lower().split())


