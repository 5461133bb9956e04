-- BM25 statistics, kept in PostgreSQL so that every replica ranks alike, per collection: a
-- question's ranking depends on the collections it searches, never on documents it cannot see.
-- A chunk's length in tokens (lexeme occurrences, stop words excluded) for length normalisation.
CREATE FUNCTION tsvector_tokens(tsvector) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT coalesce(sum(coalesce(array_length(positions, 1), 1)), 0)::integer FROM unnest($1) $$;

ALTER TABLE chunks ADD COLUMN tokens integer NOT NULL
    GENERATED ALWAYS AS (tsvector_tokens(to_tsvector('english'::regconfig, heading || ' ' || text))) STORED;

-- How many chunks of a collection hold each lexeme, and each collection's size, as rows of counts
-- that add up: the triggers below append rows per statement (never update one), so concurrent
-- publishing takes no lock on shared statistics; compaction (store.lexical) folds them.
CREATE TABLE lexeme_counts (collection_id bigint NOT NULL, lexeme text NOT NULL, chunks integer NOT NULL);
CREATE INDEX lexeme_counts_lexeme ON lexeme_counts (lexeme, collection_id);
CREATE TABLE corpus_counts (collection_id bigint NOT NULL, chunks bigint NOT NULL, tokens bigint NOT NULL);
CREATE INDEX corpus_counts_collection ON corpus_counts (collection_id);

INSERT INTO lexeme_counts
SELECT collection_id, lexeme, count(*) FROM chunks, unnest(tsvector_to_array(tsv)) AS lexeme GROUP BY 1, 2;
INSERT INTO corpus_counts SELECT collection_id, count(*), sum(tokens) FROM chunks GROUP BY 1;

CREATE FUNCTION chunks_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE direction integer := CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END;
BEGIN
    INSERT INTO lexeme_counts
    SELECT collection_id, lexeme, direction * count(*) FROM changed, unnest(tsvector_to_array(changed.tsv)) AS lexeme
    GROUP BY 1, 2;
    INSERT INTO corpus_counts
    SELECT collection_id, direction * count(*), direction * sum(tokens) FROM changed GROUP BY 1;
    RETURN NULL;
END $$;
-- A chunk's heading, text and collection are never updated (a new parse deletes and inserts), so
-- its statistics change only by these two statements.
CREATE TRIGGER chunks_counted_insert AFTER INSERT ON chunks REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION chunks_counted();
CREATE TRIGGER chunks_counted_delete AFTER DELETE ON chunks REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION chunks_counted();
