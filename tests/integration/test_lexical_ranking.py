"""BM25 in PostgreSQL: its statistics follow every publish and delete, and its ranking saturates
term frequency, weighs rare terms and normalises length, where ts_rank_cd does not."""

from __future__ import annotations

import pytest

from tsa.store.lexical import compact_counts
from tsa.store.pool import vector_literal
from tsa.store.search import HybridRetriever, Ranking

pytestmark = [pytest.mark.integration]

_RECOUNT = """
SELECT collection_id, lexeme, count(*)::int AS chunks FROM chunks, unnest(tsvector_to_array(tsv)) AS lexeme
GROUP BY 1, 2
"""
_KEPT = """
SELECT collection_id, lexeme, sum(chunks)::int AS chunks FROM lexeme_counts GROUP BY 1, 2 HAVING sum(chunks) <> 0
"""
_CORPUS = "SELECT collection_id, count(*)::int, sum(tokens)::int FROM chunks GROUP BY 1"
_KEPT_CORPUS = "SELECT collection_id, sum(chunks)::int, sum(tokens)::int FROM corpus_counts GROUP BY 1 HAVING sum(chunks) <> 0"


async def _statistics(pool) -> tuple[dict, dict, set, set]:
    recounted = {(r["collection_id"], r["lexeme"]): r["chunks"] for r in await pool.fetch(_RECOUNT)}
    kept = {(r["collection_id"], r["lexeme"]): r["chunks"] for r in await pool.fetch(_KEPT)}
    corpus = {tuple(r) for r in await pool.fetch(_CORPUS)}
    kept_corpus = {tuple(r) for r in await pool.fetch(_KEPT_CORPUS)}
    return recounted, kept, corpus, kept_corpus


async def _ingest(container, name: str, text: str):
    info = await container.pipeline.ingest(name, text.encode())
    assert info.status == "ready", info.error
    return info


async def test_statistics_follow_publishing_deleting_and_compaction(container, sample_pdf):
    manual = await container.pipeline.ingest("hf22-service-manual.pdf", sample_pdf)
    other = (await container.access.collections.create("other"))["id"]
    note = await container.pipeline.ingest("note.md", b"# Seal kit\n\nThe seal kit SK-4471 fits every pump.\n",
                                           other)
    recounted, kept, corpus, kept_corpus = await _statistics(container.pool)
    assert recounted and kept == recounted and kept_corpus == corpus
    assert kept[(other, "seal")] == 1 and kept[(manual.collection_id, "seal")] > 1

    await container.pipeline.delete(note.id)
    assert await compact_counts(container.pool)
    recounted, kept, corpus, kept_corpus = await _statistics(container.pool)
    assert kept == recounted and kept_corpus == corpus
    rows_per_lexeme = await container.pool.fetchval("SELECT max(n) FROM (SELECT count(*) AS n FROM lexeme_counts"
                                                    " GROUP BY collection_id, lexeme) AS counted")
    assert rows_per_lexeme == 1, "compaction folds each lexeme's rows into one"
    assert await container.pool.fetchval("SELECT count(*) FROM corpus_counts WHERE collection_id = $1", other) == 0

    await container.pipeline.delete(manual.id)
    assert await compact_counts(container.pool)
    assert await container.pool.fetchval("SELECT count(*) FROM lexeme_counts") == 0
    assert await container.pool.fetchval("SELECT count(*) FROM corpus_counts") == 0


async def _fulltext(container, query: str, lexical: str, scope=None) -> list[str]:
    retriever = HybridRetriever(container.pool, ranking=Ranking(lexical))
    vector = vector_literal((await container.embedder([query]))[0])
    scope = scope or await container.access.collections.all_ids()
    lists = await retriever.ranked_lists(query, vector, 10, scope)
    titles = {r["id"]: r["source"] for r in await container.pool.fetch(
        "SELECT c.id, d.source FROM chunks c JOIN documents d ON d.id = c.document_id")}
    return [titles[i] for i in lists["fulltext"]]


async def test_bm25_saturates_repetition_and_weighs_rare_terms(container):
    # "pump" is in every document, "impeller" in one: a chunk that says "pump" over and over must
    # not beat the one chunk that names the impeller.
    await _ingest(container, "repeats.md", "# Pump\n\n" + "The pump pump pump runs. " * 12)
    await _ingest(container, "impeller.md", "# Impeller\n\nThe impeller of the pump is cast iron.\n")
    for n in range(6):
        await _ingest(container, f"filler-{n}.md", f"# Pump model {n}\n\nThe pump model {n} is painted blue.\n")
    query = "pump impeller"
    assert (await _fulltext(container, query, "bm25"))[0] == "impeller.md"
    assert (await _fulltext(container, query, "ts_rank_cd"))[0] == "repeats.md", \
        "ts_rank_cd counts every repetition (the comparison this ranking is measured against)"


async def test_bm25_prefers_the_shorter_of_two_chunks_with_the_same_match(container):
    # The long one is stored first, so a tie (no length normalisation) would put it first.
    await _ingest(container, "long.md", "# Valve\n\nClose the drain valve. " + " ".join(
        f"Then inspect gasket number {n} for cracks and wear." for n in range(20)) + "\n")
    await _ingest(container, "short.md", "# Valve\n\nClose the drain valve.\n")
    await _ingest(container, "other.md", "# Motor\n\nThe motor needs no attention.\n")
    assert (await _fulltext(container, "drain valve", "bm25"))[:2] == ["short.md", "long.md"]


async def test_a_ranking_depends_only_on_the_collections_searched(container):
    """Statistics are per collection: documents in a collection the question does not search (that
    its asker may not even see) change nothing in its ranking."""
    await _ingest(container, "valve.md", "# Valve\n\nThe valve and the valve and the valve.\n")
    await _ingest(container, "seal.md", "# Seal\n\nThe seal fits here nicely today.\n")
    default = frozenset({await container.access.collections.id_of("default")})
    assert await _fulltext(container, "valve seal", "bm25", default) == ["valve.md", "seal.md"]
    other = (await container.access.collections.create("other"))["id"]
    for n in range(8):  # "valve" everywhere there: counted over the whole store, it would weigh nothing
        await container.pipeline.ingest(f"other-{n}.md", f"# Valve {n}\n\nValve {n} spare.\n".encode(), other)
    assert await _fulltext(container, "valve seal", "bm25", default) == ["valve.md", "seal.md"]
    searched_both = [s for s in await _fulltext(container, "valve seal", "bm25", default | {other})
                     if s in ("valve.md", "seal.md")]
    assert searched_both == ["seal.md", "valve.md"], "searching both, the other collection's statistics count"
