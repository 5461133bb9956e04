-- BM25 statistics, kept in PostgreSQL so that every replica ranks alike.
-- A chunk's length in tokens (lexeme occurrences, stop words excluded) for length normalisation.
CREATE FUNCTION tsvector_tokens(tsvector) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT coalesce(sum(coalesce(array_length(positions, 1), 1)), 0)::integer FROM unnest($1) $$;

ALTER TABLE chunks ADD COLUMN tokens integer NOT NULL
    GENERATED ALWAYS AS (tsvector_tokens(to_tsvector('english'::regconfig, heading || ' ' || text))) STORED;

-- How many chunks hold each lexeme, and the corpus size, as rows of counts that add up: the
-- triggers below append a row per statement (never update one), so concurrent publishing takes
-- no lock on shared statistics; compaction (store.lexical) folds the rows of a lexeme into one.
CREATE TABLE lexeme_counts (lexeme text NOT NULL, chunks integer NOT NULL);
CREATE INDEX lexeme_counts_lexeme ON lexeme_counts (lexeme);
CREATE TABLE corpus_counts (chunks bigint NOT NULL, tokens bigint NOT NULL);

INSERT INTO lexeme_counts SELECT lexeme, count(*) FROM chunks, unnest(tsvector_to_array(tsv)) AS lexeme GROUP BY lexeme;
INSERT INTO corpus_counts SELECT count(*), coalesce(sum(tokens), 0) FROM chunks;

CREATE FUNCTION chunks_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE direction integer := CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END;
BEGIN
    INSERT INTO lexeme_counts SELECT lexeme, direction * count(*) FROM changed, unnest(tsvector_to_array(changed.tsv)) AS lexeme
        GROUP BY lexeme;
    INSERT INTO corpus_counts SELECT direction * count(*), direction * coalesce(sum(tokens), 0) FROM changed HAVING count(*) > 0;
    RETURN NULL;
END $$;
-- A chunk's heading and text are never updated (a new parse deletes and inserts), so its lexemes
-- change only by these two statements.
CREATE TRIGGER chunks_counted_insert AFTER INSERT ON chunks REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION chunks_counted();
CREATE TRIGGER chunks_counted_delete AFTER DELETE ON chunks REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION chunks_counted();
