"""Wake the followers of a document when its progress changes (PostgreSQL LISTEN/NOTIFY).

One listening connection per process, opened on first use; a worker on any machine notifies
through the database. Followers also re-read on a timeout, so a lost connection slows them
down rather than stopping them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

import asyncpg

from tsa.store.documents import PROGRESS_CHANNEL

log = logging.getLogger(__name__)


class ProgressFeed:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._followers: dict[str, set[asyncio.Event]] = {}
        self._conn: asyncpg.Connection | None = None
        self._connecting = asyncio.Lock()

    def _wake(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        for event in self._followers.get(payload, ()):
            event.set()

    async def _listen(self) -> None:
        async with self._connecting:
            if self._conn is not None and not self._conn.is_closed():
                return
            try:
                self._conn = await asyncpg.connect(self.database_url, timeout=5)
                await self._conn.add_listener(PROGRESS_CHANNEL, self._wake)
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                log.warning("progress notifications unavailable, following by polling: %s", exc)
                self._conn = None

    @contextlib.asynccontextmanager
    async def follow(self, document_id: uuid.UUID) -> AsyncIterator[asyncio.Event]:
        """An event set whenever the document changes (clear it before reading the document)."""
        await self._listen()
        event = asyncio.Event()
        key = str(document_id)
        self._followers.setdefault(key, set()).add(event)
        try:
            yield event
        finally:
            followers = self._followers.get(key)
            if followers is not None:
                followers.discard(event)
                if not followers:
                    del self._followers[key]

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close(timeout=5)
            self._conn = None
