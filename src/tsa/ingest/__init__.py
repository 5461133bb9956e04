"""Ingestion: parsers, structure-aware chunking and the pipeline that stores and embeds."""

from tsa.ingest.chunking import ChunkingParams, chunk_blocks
from tsa.ingest.parsers import PARSERS, parse_document
from tsa.ingest.pipeline import IngestPipeline, Submission

__all__ = ["PARSERS", "ChunkingParams", "IngestPipeline", "Submission", "chunk_blocks", "parse_document"]
