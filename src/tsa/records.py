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
