"""Run evaluation sets against a store: each set's documents in a collection of their own, then
every question through the service's own retrieval."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from tsa.evaluation.scoring import Retrieved, RetrievalScores, first_relevant_rank, score
from tsa.evaluation.sets import EvalSet

K = 10


@dataclass(frozen=True)
class SetResult:
    name: str
    overall: RetrievalScores
    by_kind: dict[str, RetrievalScores]
    misses: list[tuple[str, int | None]]  # questions whose answer was not in the top 5, with its rank


async def prepare(container: Any, evaluation: EvalSet) -> int:
    """The set's documents, ingested (once per content) into collection ``eval-<name>``; its id."""
    collections = container.access.collections
    name = f"eval-{evaluation.name}"
    collection_id = await collections.id_of(name)
    if collection_id is None:
        collection_id = (await collections.create(name, everyone="none"))["id"]
    for path in evaluation.documents:
        data = await asyncio.to_thread(path.read_bytes)
        info = await container.pipeline.ingest(path.name, data, collection_id)
        if info.status != "ready":
            raise RuntimeError(f"{path.name} could not be ingested for the evaluation: {info.error}")
    return collection_id


async def evaluate_retrieval(container: Any, evaluation: EvalSet) -> SetResult:
    collection_id = await prepare(container, evaluation)
    scope = frozenset({collection_id})
    ranks: dict[str, list[int | None]] = {}
    misses = []
    for case in evaluation.answerable:
        result = await container.rag.retrieve(case.question, K, scope, use_cache=False)
        hits = [Retrieved(h.source, h.page_start, h.page_end) for h in result.hits]
        rank = first_relevant_rank(hits, case.document or "", case.pages)
        ranks.setdefault(case.kind, []).append(rank)
        if rank is None or rank > 5:
            misses.append((case.question, rank))
    every = [r for kind in ranks.values() for r in kind]
    return SetResult(evaluation.name, score(every), {kind: score(r) for kind, r in ranks.items()}, misses)
