-- Uploaded files, kept as they came, content-addressed by SHA-256 and shared by every document
-- with the same content. Stored in parts so that neither writing nor a ranged read (a PDF viewer
-- fetching pages) needs the whole file in memory; EXTERNAL storage because most originals are
-- compressed already (PDF, DOCX) and uncompressed TOAST lets substring reads stay cheap.
CREATE TABLE originals (
    sha256     text PRIMARY KEY,
    size_bytes bigint NOT NULL,
    part_bytes integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE original_parts (
    sha256 text NOT NULL REFERENCES originals (sha256) ON DELETE CASCADE,
    part   integer NOT NULL,
    data   bytea NOT NULL,
    PRIMARY KEY (sha256, part)
);
ALTER TABLE original_parts ALTER COLUMN data SET STORAGE EXTERNAL;
