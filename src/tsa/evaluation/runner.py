"""Run evaluation sets against a store: each set's documents in a collection of their own, then
every question through the service's own retrieval."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from tsa.errors import NotFound
from tsa.evaluation.from_feedback import Passage, case_from_feedback
from tsa.evaluation.scoring import Retrieved, RetrievalScores, first_relevant_rank, score, states
from tsa.evaluation.sets import EvalSet
from tsa.rag.prompt import is_relevant

K = 10
CONTEXT_CHUNKS = 5  # what an answer is generated from (max_context_chunks' default)


@dataclass(frozen=True)
class SetResult:
    name: str
    overall: RetrievalScores
    by_kind: dict[str, RetrievalScores]
    misses: list[tuple[str, int | None]]  # questions whose answer was not in the top 5, with its rank
    # Share of the key facts found in the passages a question's answer is generated from.
    facts_in_context: float = 0.0


async def prepare(container: Any, evaluation: EvalSet) -> frozenset[int]:
    """The collections the set's questions are asked in: its documents, ingested (once per content)
    into a collection of their own, ``eval-<name>``, or the store's collections it names."""
    collections = container.access.collections
    if evaluation.collections:
        ids = {name: await collections.id_of(name) for name in evaluation.collections}
        if missing := [name for name, cid in ids.items() if cid is None]:
            raise NotFound(f"{evaluation.name}: no collection named {', '.join(missing)} in this store")
        return frozenset(cid for cid in ids.values() if cid is not None)
    name = f"eval-{evaluation.name}"
    collection_id = await collections.id_of(name)
    if collection_id is None:
        collection_id = (await collections.create(name, everyone="none"))["id"]
    for path in evaluation.documents:
        data = await asyncio.to_thread(path.read_bytes)
        info = await container.pipeline.ingest(path.name, data, collection_id)
        if info.status != "ready":
            raise RuntimeError(f"{path.name} could not be ingested for the evaluation: {info.error}")
    return frozenset({collection_id})


async def evaluate_retrieval(container: Any, evaluation: EvalSet) -> SetResult:
    scope = await prepare(container, evaluation)
    ranks: dict[str, list[int | None]] = {}
    misses = []
    facts = found = 0
    for case in evaluation.answerable:
        result = await container.rag.retrieve(case.question, K, scope, use_cache=False)
        hits = [Retrieved(h.source, h.page_start, h.page_end) for h in result.hits]
        rank = first_relevant_rank(hits, case.document or "", case.pages)
        ranks.setdefault(case.kind, []).append(rank)
        if rank is None or rank > 5:
            misses.append((case.question, rank))
        passages = await container.rag.context([h for h in result.hits[:CONTEXT_CHUNKS]
                                                if is_relevant(h, container.rag.min_similarity)])
        context = "\n".join(p.text for p in passages)
        facts += len(case.facts)
        found += sum(states(context, fact) for fact in case.facts)
    every = [r for kind in ranks.values() for r in kind]
    return SetResult(evaluation.name, score(every), {kind: score(r) for kind, r in ranks.items()}, misses,
                     found / facts if facts else 0.0)


# The chunks of the documents an answer cited (by document: chunk ids change when a document is
# parsed again), in reading order.
_CITED_DOCUMENTS_SQL = """
SELECT c.id, d.source, c.page_start, c.page_end, c.text, col.name AS collection
FROM chunks c JOIN documents d ON d.id = c.document_id JOIN collections col ON col.id = d.collection_id
WHERE c.document_id = ANY($1::uuid[]) AND NOT c.superseded
ORDER BY c.document_id, c.ordinal
"""


async def feedback_set(container: Any, name: str = "feedback", batch: int = 500
                       ) -> tuple[dict[str, Any], Counter[str]]:
    """An evaluation set (as written in YAML) from every reviewed feedback row, and how many rows
    made a case or why they did not."""
    outcomes: Counter[str] = Counter()
    cases, collections = [], set()
    offset = 0
    while rows := await container.feedback.list(reviewed=True, limit=batch, offset=offset):
        offset += len(rows)
        for item in rows:
            cited = [s["chunk_id"] for s in item["sources"] if s.get("chunk_id") is not None]
            documents = list({uuid.UUID(s["document_id"]) for s in item["sources"] if s.get("document_id")})
            found = await container.pool.fetch(_CITED_DOCUMENTS_SQL, documents)
            order = {chunk_id: n for n, chunk_id in enumerate(cited)}
            found = sorted(found, key=lambda r: order.get(r["id"], len(order)))
            passages = [Passage(r["id"], r["source"], r["page_start"], r["page_end"], r["text"]) for r in found]
            case, outcome = case_from_feedback(item, passages)
            outcomes[outcome] += 1
            if case is not None:
                cases.append(case)
                collections |= {r["collection"] for r in found}
    evaluation = {"name": name, "description": "made from reviewed feedback by tsa eval --from-feedback",
                  "collections": sorted(collections), "cases": cases}
    return evaluation, outcomes
