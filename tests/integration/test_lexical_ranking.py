"""BM25 in PostgreSQL: its statistics follow every publish and delete, and its ranking saturates
term frequency, weighs rare terms and normalises length, where ts_rank_cd does not."""

from __future__ import annotations

import pytest

from tsa.store.lexical import compact_counts
from tsa.store.pool import vector_literal
from tsa.store.search import HybridRetriever, Ranking

pytestmark = [pytest.mark.integration]

_RECOUNT = """
SELECT lexeme, count(*)::int AS chunks FROM chunks, unnest(tsvector_to_array(tsv)) AS lexeme GROUP BY lexeme
"""
_KEPT = "SELECT lexeme, sum(chunks)::int AS chunks FROM lexeme_counts GROUP BY lexeme HAVING sum(chunks) <> 0"


async def _statistics(pool) -> tuple[dict[str, int], dict[str, int], tuple[int, int], tuple[int, int]]:
    recounted = {r["lexeme"]: r["chunks"] for r in await pool.fetch(_RECOUNT)}
    kept = {r["lexeme"]: r["chunks"] for r in await pool.fetch(_KEPT)}
    corpus = tuple(await pool.fetchrow("SELECT count(*), coalesce(sum(tokens), 0) FROM chunks"))
    kept_corpus = tuple(await pool.fetchrow("SELECT coalesce(sum(chunks), 0), coalesce(sum(tokens), 0)"
                                            " FROM corpus_counts"))
    return recounted, kept, corpus, kept_corpus


async def _ingest(container, name: str, text: str):
    info = await container.pipeline.ingest(name, text.encode())
    assert info.status == "ready", info.error
    return info


async def test_statistics_follow_publishing_deleting_and_compaction(container, sample_pdf):
    manual = await container.pipeline.ingest("hf22-service-manual.pdf", sample_pdf)
    note = await _ingest(container, "note.md", "# Seal kit\n\nThe seal kit SK-4471 fits every pump of the series.\n")
    recounted, kept, corpus, kept_corpus = await _statistics(container.pool)
    assert recounted and kept == recounted and kept_corpus == corpus
    assert kept["seal"] >= 2

    await container.pipeline.delete(note.id)
    assert await compact_counts(container.pool)
    recounted, kept, corpus, kept_corpus = await _statistics(container.pool)
    assert kept == recounted and kept_corpus == corpus
    rows_per_lexeme = await container.pool.fetchval("SELECT max(n) FROM (SELECT count(*) AS n FROM lexeme_counts"
                                                    " GROUP BY lexeme) AS counted")
    assert rows_per_lexeme == 1, "compaction folds each lexeme's rows into one"
    assert await container.pool.fetchval("SELECT count(*) FROM corpus_counts") == 1

    await container.pipeline.delete(manual.id)
    assert await compact_counts(container.pool)
    assert await container.pool.fetchval("SELECT count(*) FROM lexeme_counts") == 0
    assert tuple(await container.pool.fetchrow("SELECT chunks, tokens FROM corpus_counts")) == (0, 0)


async def _fulltext(container, query: str, lexical: str) -> list[str]:
    retriever = HybridRetriever(container.pool, ranking=Ranking(lexical))
    vector = vector_literal((await container.embedder([query]))[0])
    lists = await retriever.ranked_lists(query, vector, 10, await container.access.collections.all_ids())
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
