-- Ingestion as durable jobs: each document shows its stage and counts while a worker
-- (any process, any machine) carries it through; manual editions; OCR'd chunks.
ALTER TABLE documents
    ADD COLUMN stage text NOT NULL DEFAULT 'ready'
        CHECK (stage IN ('queued', 'parsing', 'embedding', 'publishing', 'ready', 'failed')),
    ADD COLUMN pages_done integer NOT NULL DEFAULT 0,
    ADD COLUMN pages_total integer,
    ADD COLUMN chunks_done integer NOT NULL DEFAULT 0,
    ADD COLUMN chunks_total integer,
    -- When the stage or a count last moved: a processing document that stops moving is stalled.
    ADD COLUMN progress_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN job_id bigint,
    ADD COLUMN ocr_pages integer NOT NULL DEFAULT 0,
    -- The manual this document is an edition of (within its collection), and which edition.
    ADD COLUMN product text,
    ADD COLUMN edition text,
    ADD COLUMN superseded_by uuid REFERENCES documents (id) ON DELETE SET NULL;
UPDATE documents SET stage = status WHERE status IN ('ready', 'failed');
-- Documents an earlier release left processing are taken up again by the queue.
UPDATE documents SET stage = 'queued' WHERE status = 'processing';

-- Two editions of a manual may share a file name; a re-upload of the same edition replaces it.
DROP INDEX documents_ready_source;
CREATE UNIQUE INDEX documents_ready_source_edition
    ON documents (collection_id, source, coalesce(edition, '')) WHERE status = 'ready';
CREATE INDEX documents_product ON documents (collection_id, product) WHERE product IS NOT NULL;
CREATE INDEX documents_unfinished ON documents (updated_at) WHERE status = 'processing';

-- Copied from the document so that retrieval filters inside each index scan.
ALTER TABLE chunks
    ADD COLUMN superseded boolean NOT NULL DEFAULT false,
    ADD COLUMN ocr boolean NOT NULL DEFAULT false;
