"""A second search when the first is weak: the chat model rephrases the question in a manual's
words, and both rankings are fused. Pure: when to ask, the prompt, what to accept, the fusion.

Off by default (QUERY_REWRITE=off): with the small local model it found one more answer on one
evaluation set and changed nothing on the others, for a chat call before every weak question's
answer (README "Evaluation"); a larger model on Ollama servers may do better.
"""

from __future__ import annotations

import re

from tsa.records import SearchHit
from tsa.store.fusion import reciprocal_rank_fusion

SEARCH_REWRITE_SYSTEM = (
    "Rewrite the technician's question as a short search query in the words a service manual would use "
    "(the name of the property, part or procedure). Keep every part number, error code, value and unit "
    "exactly. Answer with the query only."
)
# Below this cosine similarity of the best hit, with no exact identifier match, the first search is
# weak: the question's words and meaning found nothing close.
WEAK_SIMILARITY = 0.45


def is_weak(hits: list[SearchHit], threshold: float = WEAK_SIMILARITY) -> bool:
    if not hits or any("identifier" in h.ranks for h in hits):
        return not hits
    return max((h.similarity or 0.0) for h in hits) < threshold


def search_rewrite_messages(question: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": SEARCH_REWRITE_SYSTEM},
            {"role": "user", "content": f"Question: {question.strip()}\nSearch query:"}]


def usable_query(reply: str, question: str) -> str | None:
    """The model's query, cleaned, if it is a one-line query that differs from the question."""
    text = re.sub(r"^(?:search query|query)\s*:\s*", "", " ".join(reply.split()), flags=re.IGNORECASE)
    text = text.strip().strip('"').strip()
    if not 3 <= len(text) <= 200 or "\n" in reply.strip() or text.casefold() == question.strip().casefold():
        return None
    return text


def fused(first: list[SearchHit], second: list[SearchHit], k: int) -> list[SearchHit]:
    """Both searches' hits by reciprocal rank fusion, the first search's hit kept where both found one."""
    by_id = {h.chunk_id: h for h in [*second, *first]}
    order = reciprocal_rank_fusion({"first": [h.chunk_id for h in first], "second": [h.chunk_id for h in second]})
    return [by_id[chunk_id] for chunk_id, _, _ in order[:k]]
