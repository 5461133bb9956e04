"""Plain value types passed between the ingest, store, rag and api packages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True)
class Block:
    """One structural element of a parsed document, in reading order."""

    kind: str  # "heading", "paragraph", "list_item", "notice", "table"
    text: str
    page: int | None = None
    level: int = 0  # heading depth (1 = top), 0 for other kinds


@dataclass(frozen=True)
class ParsedDocument:
    title: str
    doc_type: str
    blocks: list[Block]
    page_count: int | None = None
    ocr_pages: frozenset[int] = frozenset()  # pages read by OCR (they had no text layer)
    edition: str | None = None  # as the title page states it
    # Where the section titles came from: "outline" (a PDF's bookmarks), "layout" (how lines look),
    # "markup" (Markdown, HTML or DOCX headings).
    structure: str = "markup"


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    text: str
    heading_path: tuple[str, ...] = ()
    page_start: int | None = None
    page_end: int | None = None


@dataclass(frozen=True)
class DocumentInfo:
    id: UUID
    collection_id: int
    source: str
    title: str
    sha256: str
    doc_type: str
    status: str
    error: str | None
    size_bytes: int
    page_count: int | None
    chunk_count: int
    created_at: datetime
    updated_at: datetime
    # Ingestion progress: queued, parsing, embedding, publishing, ready, failed.
    stage: str = "ready"
    pages_done: int = 0
    pages_total: int | None = None
    chunks_done: int = 0
    chunks_total: int | None = None
    progress_at: datetime | None = None
    attempts: int = 0
    job_id: int | None = None
    ocr_pages: int = 0
    product: str | None = None
    edition: str | None = None
    superseded_by: UUID | None = None
    structure: str | None = None  # where the section titles came from: outline, layout or markup


@dataclass(frozen=True)
class Neighbour:
    """The chunk just before or after a hit in the same section of its document."""

    chunk_id: int
    text: str
    page_start: int | None
    page_end: int | None


@dataclass(frozen=True)
class SearchHit:
    chunk_id: int
    document_id: UUID
    collection_id: int
    title: str
    source: str
    page_start: int | None
    page_end: int | None
    heading_path: tuple[str, ...]
    text: str
    score: float  # reciprocal-rank-fusion score
    similarity: float | None  # cosine similarity to the query
    ranks: dict[str, int] = field(default_factory=dict)
    edition: str | None = None
    superseded: bool = False
    ocr: bool = False  # the text was recognised from a scanned page
    structure: str | None = None  # where the section title came from: outline, layout or markup
