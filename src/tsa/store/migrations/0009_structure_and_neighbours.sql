-- Where a document's section titles came from: 'outline' (a PDF's bookmarks), 'layout' (how its
-- lines look) or 'markup' (Markdown, HTML, DOCX headings). NULL for documents parsed before.
ALTER TABLE documents ADD COLUMN structure text;

-- A chunk's neighbours in its document (context assembly reads the chunks before and after a hit).
CREATE INDEX chunks_document_ordinal ON chunks (document_id, ordinal);
