"""Ingestion: parsers, structure-aware chunking, the parsing process and the pipeline (``pipeline``).

Kept light: the parsing process imports this package and nothing of the service's I/O.
"""

from tsa.ingest.chunking import ChunkingParams, chunk_blocks
from tsa.ingest.parsers import PARSERS, parse_document

__all__ = ["PARSERS", "ChunkingParams", "chunk_blocks", "parse_document"]
