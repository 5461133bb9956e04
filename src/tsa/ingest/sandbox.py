"""The parsing process: one document in on stdin, JSON lines out, under hard limits.

``python -m tsa.ingest.sandbox '<job json>'``. The process caps its own address space and CPU
time before it reads a byte, so a decompression bomb or a parser stuck in a loop ends this
process, never a worker or the API. Lines written to stdout:

    {"event": "pages", "done": 3, "total": 40}
    {"event": "chunk", "ordinal": 0, "text": ..., "heading_path": [...], "page_start": 1, "page_end": 1}
    {"event": "done", "title": ..., "page_count": 40, "ocr_pages": [7, 8], "edition": "3"}
    {"event": "error", "kind": "document" | "unsupported", "message": ...}
"""

from __future__ import annotations

import json
import resource
import sys
from typing import Any

MiB = 1024 * 1024


def _limit_self(memory_mb: int, cpu_s: float) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb * MiB, memory_mb * MiB))
    cpu = max(1, int(cpu_s))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def main(job: dict[str, Any]) -> int:
    from tsa.errors import DocumentError, UnsupportedDocument
    from tsa.ingest.chunking import ChunkingParams, chunk_blocks
    from tsa.ingest.limits import ParseLimits
    from tsa.ingest.parsers import parse_document

    limits = ParseLimits(**job["limits"])
    data = sys.stdin.buffer.read()
    try:
        parsed = parse_document(data, job["name"], limits, lambda done, total: _emit(
            {"event": "pages", "done": done, "total": total}), use_ocr=job.get("ocr", True))
        del data
        chunks = chunk_blocks(parsed.blocks, ChunkingParams(**job["chunking"]))
        if not chunks:
            raise DocumentError("the document has headings but no text to index")
    except UnsupportedDocument as exc:
        _emit({"event": "error", "kind": "unsupported", "message": exc.message})
        return 2
    except DocumentError as exc:
        _emit({"event": "error", "kind": "document", "message": exc.message})
        return 2
    except MemoryError:
        _emit({"event": "error", "kind": "document", "message":
               f"parsing needs more than {limits.memory_mb} MiB of memory (PARSE_MAX_MEMORY_MB)"})
        return 2
    except RecursionError:
        _emit({"event": "error", "kind": "document", "message": "the document is nested too deeply to read"})
        return 2
    for chunk in chunks:
        _emit({"event": "chunk", "ordinal": chunk.ordinal, "text": chunk.text,
               "heading_path": list(chunk.heading_path), "page_start": chunk.page_start,
               "page_end": chunk.page_end})
    _emit({"event": "done", "title": parsed.title, "page_count": parsed.page_count,
           "ocr_pages": sorted(parsed.ocr_pages), "edition": parsed.edition, "structure": parsed.structure})
    return 0


if __name__ == "__main__":
    settings = json.loads(sys.argv[1])
    _limit_self(settings["limits"]["memory_mb"], settings["limits"]["timeout_s"])
    sys.exit(main(settings))
