"""Hybrid retrieval: pgvector cosine, BM25 over PostgreSQL full-text and exact identifiers, fused by RRF."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import asyncpg

from tsa.records import Neighbour, SearchHit
from tsa.store.fusion import reciprocal_rank_fusion
from tsa.store.identifiers import extract_identifiers
from tsa.store.lexical import BM25_SQL
from tsa.store.pool import vector_literal
from tsa.store.query_terms import lexical_query

# Every list filters by the caller's collections ($3) inside its own scan, never after a top-k:
# a filter applied afterwards starves the results and tells how much was hidden. With pgvector
# >= 0.8 the HNSW scan keeps going until it has $2 rows that pass (hnsw.iterative_scan, set per
# connection in pool.py).
# Superseded editions ($4 false) are filtered the same way.
_VECTOR_SQL = """
SELECT id FROM chunks WHERE collection_id = ANY($3::bigint[]) AND ($4 OR NOT superseded)
ORDER BY embedding <=> $1::text::vector LIMIT $2
"""
# PostgreSQL's own ranking, kept for comparison (LEXICAL_RANKING=ts_rank_cd; README "Evaluation").
_TS_RANK_CD_SQL = """
WITH q AS (SELECT NULLIF(replace(plainto_tsquery('english', $1)::text, ' & ', ' | '), '')::tsquery AS q)
SELECT c.id FROM chunks c, q WHERE c.tsv @@ q.q AND c.collection_id = ANY($3::bigint[]) AND ($4 OR NOT c.superseded)
ORDER BY ts_rank_cd(c.tsv, q.q) DESC, c.id LIMIT $2
"""
_IDENTIFIER_SQL = """
SELECT id FROM chunks WHERE identifiers && $1::text[] AND collection_id = ANY($3::bigint[])
  AND ($4 OR NOT superseded)
ORDER BY cardinality(ARRAY(SELECT unnest(identifiers) INTERSECT SELECT unnest($1::text[]))) DESC, id
LIMIT $2
"""
_BY_ID_SQL = """
SELECT c.id, c.document_id, c.collection_id, d.title, d.source, c.page_start, c.page_end, c.heading_path, c.text,
       d.edition, c.superseded, c.ocr, d.structure
FROM chunks c JOIN documents d ON d.id = c.document_id
WHERE c.id = ANY($1::bigint[]) AND c.collection_id = ANY($2::bigint[])
"""
_NEIGHBOURS_SQL = """
SELECT c.id AS hit, n.id, n.ordinal - c.ordinal AS side, n.text, n.page_start, n.page_end
FROM chunks c JOIN chunks n ON n.document_id = c.document_id AND n.ordinal IN (c.ordinal - 1, c.ordinal + 1)
     AND n.heading_path = c.heading_path
WHERE c.id = ANY($1::bigint[])
"""
_DETAIL_SQL = """
SELECT c.id, c.document_id, c.collection_id, d.title, d.source, c.page_start, c.page_end, c.heading_path,
       c.text, d.edition, c.superseded, c.ocr, d.structure, 1 - (c.embedding <=> $2::text::vector) AS similarity
FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ANY($1::bigint[])
"""


LEXICAL_SQL = {"bm25": BM25_SQL, "ts_rank_cd": _TS_RANK_CD_SQL}
LISTS = ("vector", "fulltext", "identifier")


@dataclass(frozen=True)
class Ranking:
    """How the lists are made and fused; part of every cached retrieval's key."""

    lexical: str = "bm25"
    weights: tuple[float, float, float] = (0.5, 2.0, 1.0)  # vector, fulltext, identifier (config.py)
    rrf_k: int = 10  # tuned with the weights; RRF_K (60) is the textbook value
    expand_terms: bool = True  # add the manuals' words for the properties a question asks about

    @property
    def fingerprint(self) -> str:
        return (f"{self.lexical}:{','.join(f'{w:g}' for w in self.weights)}:{self.rrf_k}"
                f"{':terms' if self.expand_terms else ''}")


class HybridRetriever:
    def __init__(self, pool: asyncpg.Pool, candidates_per_list: int = 40, ranking: Ranking = Ranking()) -> None:
        self.pool = pool
        self.candidates_per_list = candidates_per_list
        self.ranking = ranking

    async def search(self, query: str, query_vector: list[float], k: int, scope: Collection[int],
                     include_superseded: bool = False) -> list[SearchHit]:
        """The top ``k`` chunks among the collections in ``scope`` (current editions only unless
        ``include_superseded``)."""
        if not scope:
            return []
        vector = vector_literal(query_vector)
        lists = await self.ranked_lists(query, vector, max(self.candidates_per_list, 4 * k), scope,
                                        include_superseded)
        fused = reciprocal_rank_fusion(lists, self.ranking.rrf_k, dict(zip(LISTS, self.ranking.weights,
                                                                           strict=True)))[:k]
        if not fused:
            return []
        rows = {r["id"]: r for r in await self.pool.fetch(_DETAIL_SQL, [cid for cid, _, _ in fused], vector)}
        return [_hit(rows[cid], score, ranks) for cid, score, ranks in fused if cid in rows]

    async def ranked_lists(self, query: str, vector: str, limit: int, scope: Collection[int],
                           include_superseded: bool = False) -> dict[str, list[int]]:
        """Chunk ids by vector similarity, by lexical rank and by shared identifiers, before fusion."""
        identifiers = extract_identifiers(query)
        collections = sorted(scope)
        lists = await asyncio.gather(
            self._ids(_VECTOR_SQL, vector, limit, collections, include_superseded),
            self._ids(LEXICAL_SQL[self.ranking.lexical], lexical_query(query) if self.ranking.expand_terms else query,
                      limit, collections, include_superseded),
            self._ids(_IDENTIFIER_SQL, identifiers, limit, collections, include_superseded) if identifiers
            else _nothing(),
        )
        return dict(zip(LISTS, lists, strict=True))

    async def fetch(self, ranked: list[dict[str, Any]], scope: Collection[int]) -> list[SearchHit]:
        """Hits for a cached ranking ``[{id, score, similarity, ranks}]``, in its order, within ``scope``."""
        rows = {r["id"]: r for r in await self.pool.fetch(_BY_ID_SQL, [e["id"] for e in ranked], sorted(scope))}
        return [_hit(rows[e["id"]], e["score"], e["ranks"], e["similarity"]) for e in ranked if e["id"] in rows]

    async def neighbours(self, chunk_ids: list[int]) -> dict[int, dict[int, Neighbour]]:
        """For each chunk, the chunks before (-1) and after (+1) it in the same section."""
        found: dict[int, dict[int, Neighbour]] = {}
        for r in await self.pool.fetch(_NEIGHBOURS_SQL, chunk_ids):
            found.setdefault(r["hit"], {})[r["side"]] = Neighbour(r["id"], r["text"], r["page_start"], r["page_end"])
        return found

    async def _ids(self, sql: str, arg: object, limit: int, collections: list[int], include_superseded: bool
                   ) -> list[int]:
        return [r["id"] for r in await self.pool.fetch(sql, arg, limit, collections, include_superseded)]


async def _nothing() -> list[int]:
    return []


def _hit(row: asyncpg.Record, score: float, ranks: dict[str, int], similarity: float | None = None) -> SearchHit:
    return SearchHit(
        chunk_id=row["id"], document_id=row["document_id"], collection_id=row["collection_id"], title=row["title"], source=row["source"],
        page_start=row["page_start"], page_end=row["page_end"], heading_path=tuple(row["heading_path"]),
        text=row["text"], score=score, similarity=float(row["similarity"]) if similarity is None else similarity,
        ranks=ranks, edition=row["edition"], superseded=row["superseded"], ocr=row["ocr"],
        structure=row["structure"])
