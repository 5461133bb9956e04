"""Lexical ranking by BM25 (Robertson and Zaragoza), computed in PostgreSQL from statistics kept
there (migration 0008), so that every replica agrees: term frequency saturates (k1), rare terms
weigh more (inverse document frequency over the chunks of the collections searched), long chunks
are normalised (b)."""

from __future__ import annotations

import asyncpg

K1 = 1.2
B = 0.75

# Questions are sentences: any matching word should count, so the match ORs the lexemes; the
# query's own lexemes (stop words dropped alike) carry their idf, and each candidate chunk's
# tsvector gives the term frequencies. Statistics are those of the collections searched ($3).
BM25_SQL = f"""
WITH q AS (SELECT NULLIF(replace(plainto_tsquery('english', $1)::text, ' & ', ' | '), '')::tsquery AS q),
corpus AS (SELECT greatest(sum(chunks), 1) AS n, greatest(sum(tokens), 1)::float8 / greatest(sum(chunks), 1) AS avgdl
           FROM corpus_counts WHERE collection_id = ANY($3::bigint[])),
terms AS (
    SELECT t.lexeme, ln(1 + (corpus.n - df.n + 0.5) / (df.n + 0.5)) AS idf
    FROM unnest(tsvector_to_array(to_tsvector('english', $1))) AS t(lexeme), corpus,
         LATERAL (SELECT greatest(coalesce(sum(chunks), 0), 0) AS n FROM lexeme_counts
                  WHERE lexeme = t.lexeme AND collection_id = ANY($3::bigint[])) AS df)
SELECT c.id FROM chunks c, q, corpus
WHERE c.tsv @@ q.q AND c.collection_id = ANY($3::bigint[]) AND ($4 OR NOT c.superseded)
ORDER BY (SELECT sum(terms.idf * tf.n * ({K1} + 1)
                     / (tf.n + {K1} * (1 - {B} + {B} * c.tokens / corpus.avgdl)))
          FROM unnest(c.tsv) AS u
          JOIN terms ON terms.lexeme = u.lexeme,
          LATERAL (SELECT coalesce(array_length(u.positions, 1), 1) AS n) AS tf) DESC, c.id
LIMIT $2
"""

# The rows of counts of a collection's lexeme are folded into one, under a lock only compaction
# takes (a second compactor skips); a publish in flight keeps appending and is folded next time.
_COMPACT_SQL = """
WITH folded AS (
    DELETE FROM lexeme_counts WHERE (collection_id, lexeme) IN (
        SELECT collection_id, lexeme FROM lexeme_counts GROUP BY 1, 2 HAVING count(*) > 1)
    RETURNING collection_id, lexeme, chunks)
INSERT INTO lexeme_counts SELECT collection_id, lexeme, sum(chunks) FROM folded GROUP BY 1, 2 HAVING sum(chunks) > 0
"""
_COMPACT_CORPUS_SQL = """
WITH folded AS (
    DELETE FROM corpus_counts WHERE collection_id IN (
        SELECT collection_id FROM corpus_counts GROUP BY 1 HAVING count(*) > 1)
    RETURNING collection_id, chunks, tokens)
INSERT INTO corpus_counts SELECT collection_id, sum(chunks), sum(tokens) FROM folded GROUP BY 1 HAVING sum(chunks) > 0
"""
_COMPACTION_LOCK = 7_261_845_008


async def compact_counts(pool: asyncpg.Pool) -> bool:
    """Fold the statistics' rows; False when another process is doing it."""
    async with pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _COMPACTION_LOCK):
            return False
        await conn.execute(_COMPACT_SQL)
        await conn.execute(_COMPACT_CORPUS_SQL)
        return True
