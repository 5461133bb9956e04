"""Original files in PostgreSQL: written in parts, read back by byte range, dropped with their last document.

Every replica and worker sees them with no shared disk. Callers hold the advisory lock of the
file's hash (``lock_original``) around writing it and around dropping it, so an upload of the
same content racing the deletion of the last document using it never ends without its file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg

PART_BYTES = 256 * 1024
DROP_UNUSED = ("DELETE FROM originals o WHERE o.sha256 = ANY($1::text[])"
               " AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.sha256 = o.sha256)")


async def lock_original(conn: asyncpg.Connection, sha256: str) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('original:' || $1))", sha256)


async def store_original(conn: asyncpg.Connection, sha256: str, data: bytes) -> None:
    """Write the file once (inside the caller's transaction); identical content is already there."""
    if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM originals WHERE sha256 = $1)", sha256):
        return
    await conn.execute("INSERT INTO originals (sha256, size_bytes, part_bytes) VALUES ($1, $2, $3)",
                       sha256, len(data), PART_BYTES)
    view = memoryview(data)
    await conn.executemany(
        "INSERT INTO original_parts (sha256, part, data) VALUES ($1, $2, $3)",
        ((sha256, n, bytes(view[start:start + PART_BYTES])) for n, start in enumerate(range(0, len(data), PART_BYTES))))


async def drop_unused_originals(conn: asyncpg.Connection, sha256s: list[str]) -> None:
    """Delete the files no document uses any more (inside the transaction that deleted the documents)."""
    for sha256 in sorted(set(sha256s)):
        await lock_original(conn, sha256)
    await conn.execute(DROP_UNUSED, sorted(set(sha256s)))


class OriginalStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def size(self, sha256: str) -> int | None:
        return await self.pool.fetchval("SELECT size_bytes FROM originals WHERE sha256 = $1", sha256)

    async def read(self, sha256: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes ``start`` to ``end`` inclusive, one part at a time."""
        part_bytes = await self.pool.fetchval("SELECT part_bytes FROM originals WHERE sha256 = $1", sha256)
        if part_bytes is None:
            return
        for part in range(start // part_bytes, end // part_bytes + 1):
            first = max(start - part * part_bytes, 0)
            last = min(end - part * part_bytes, part_bytes - 1)
            # substring on an EXTERNAL bytea reads only the bytes asked for.
            chunk = await self.pool.fetchval(
                "SELECT substring(data FROM $3 FOR $4) FROM original_parts WHERE sha256 = $1 AND part = $2",
                sha256, part, first + 1, last - first + 1)
            if chunk is None:
                return
            yield chunk
