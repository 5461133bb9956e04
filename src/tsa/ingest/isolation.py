"""Run the parsing process (``sandbox``) for one document: feed it the original, read its lines.

The worker never holds the parser's memory: the file streams from PostgreSQL into the child's
stdin part by part, and the child dies with whatever a hostile file made it allocate. A timeout,
a crash or a cancellation (the document was deleted) kills it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from tsa.errors import DocumentError, UnsupportedDocument
from tsa.ingest.chunking import ChunkingParams
from tsa.ingest.limits import ParseLimits
from tsa.records import Chunk

# Longest JSON line the child may write (one chunk, or one error).
_LINE_LIMIT = 8 * 1024 * 1024
# The child's environment: one thread per library, small malloc arenas.
_CHILD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2"}


@dataclass(frozen=True)
class ParseResult:
    title: str
    page_count: int | None
    chunks: list[Chunk]
    ocr_pages: frozenset[int]
    edition: str | None
    structure: str


def _job(name: str, limits: ParseLimits, chunking: ChunkingParams, use_ocr: bool) -> str:
    return json.dumps({"name": name, "limits": limits.as_json(), "ocr": use_ocr,
                       "chunking": {"max_chars": chunking.max_chars, "overlap_chars": chunking.overlap_chars,
                                    "boundaries": chunking.boundaries}})


async def _feed(stdin: asyncio.StreamWriter, source: AsyncIterator[bytes]) -> None:
    try:
        async for part in source:
            stdin.write(part)
            await stdin.drain()
        stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the child stopped reading: it has already said why, or died


async def _tail(stream: asyncio.StreamReader, keep: collections.deque[bytes]) -> None:
    while line := await stream.readline():
        keep.append(line)


def _death(returncode: int, limits: ParseLimits, stderr: collections.deque[bytes]) -> DocumentError:
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return DocumentError(f"parsing took more than {limits.timeout_s:g} s (PARSE_TIMEOUT_S)")
    if returncode < 0:
        return DocumentError(f"the parser crashed on this file (signal {-returncode}; a memory limit of "
                             f"{limits.memory_mb} MiB applies, PARSE_MAX_MEMORY_MB)")
    detail = b"".join(stderr).decode(errors="replace").strip().splitlines()
    return DocumentError(f"the parser failed: {detail[-1] if detail else f'exit status {returncode}'}")


async def parse_isolated(source: AsyncIterator[bytes], name: str, limits: ParseLimits, chunking: ChunkingParams,
                         use_ocr: bool = True, on_pages: Callable[[int, int], None] | None = None) -> ParseResult:
    """Parse and chunk one document in a child process; ``DocumentError`` for anything the file did."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tsa.ingest.sandbox", _job(name, limits, chunking, use_ocr),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        limit=_LINE_LIMIT, env={**os.environ, **_CHILD_ENV})
    assert process.stdin and process.stdout and process.stderr
    stderr: collections.deque[bytes] = collections.deque(maxlen=20)
    helpers = [asyncio.create_task(_feed(process.stdin, source)), asyncio.create_task(_tail(process.stderr, stderr))]
    chunks: list[Chunk] = []
    try:
        async with asyncio.timeout(limits.timeout_s + 10):
            while line := await process.stdout.readline():
                event = json.loads(line)
                kind = event.pop("event")
                if kind == "pages" and on_pages:
                    on_pages(event["done"], event["total"])
                elif kind == "chunk":
                    chunks.append(Chunk(event["ordinal"], event["text"], tuple(event["heading_path"]),
                                        event["page_start"], event["page_end"]))
                elif kind == "error":
                    raise (UnsupportedDocument if event["kind"] == "unsupported" else DocumentError)(event["message"])
                elif kind == "done":
                    await process.wait()
                    return ParseResult(event["title"], event["page_count"], chunks, frozenset(event["ocr_pages"]),
                                       event["edition"], event["structure"])
            returncode = await process.wait()
            await asyncio.gather(*helpers, return_exceptions=True)
            raise _death(returncode, limits, stderr)
    except TimeoutError:
        raise DocumentError(f"parsing took more than {limits.timeout_s:g} s (PARSE_TIMEOUT_S)") from None
    except ValueError as exc:  # a line over the limit, or not JSON
        raise DocumentError(f"the parser's output could not be read: {exc}") from None
    finally:
        for helper in helpers:
            helper.cancel()
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await asyncio.shield(process.wait())
