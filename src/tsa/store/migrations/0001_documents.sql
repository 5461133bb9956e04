-- Documents and their chunks. The embedding column is added by the embedding
-- space set-up, because its dimension depends on the configured model.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE documents (
    id          uuid PRIMARY KEY,
    source      text NOT NULL,
    title       text NOT NULL,
    sha256      text NOT NULL,
    doc_type    text NOT NULL,
    status      text NOT NULL CHECK (status IN ('processing', 'ready', 'failed')),
    error       text,
    size_bytes  bigint NOT NULL,
    page_count  integer,
    chunk_count integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- At most one live version of a source name.
CREATE UNIQUE INDEX documents_ready_source ON documents (source) WHERE status = 'ready';
CREATE INDEX documents_sha256 ON documents (sha256);

CREATE TABLE chunks (
    id           bigserial PRIMARY KEY,
    document_id  uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    ordinal      integer NOT NULL,
    page_start   integer,
    page_end     integer,
    heading_path text[] NOT NULL DEFAULT '{}',
    heading      text NOT NULL DEFAULT '',
    text         text NOT NULL,
    -- Upper-cased part numbers, error codes and sizes (HF-22, E-17, M8X1.25) for exact lookup.
    identifiers  text[] NOT NULL DEFAULT '{}',
    tsv          tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, heading || ' ' || text)) STORED,
    UNIQUE (document_id, ordinal)
);
CREATE INDEX chunks_document ON chunks (document_id);
CREATE INDEX chunks_tsv ON chunks USING gin (tsv);
CREATE INDEX chunks_identifiers ON chunks USING gin (identifiers);

CREATE TABLE store_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
