"""The access generation pushed by PostgreSQL, so a known caller costs no query per request.

Every change to who may read what advances ``access_generation`` (triggers, migration 0003); since
migration 0011 each advance is also announced on ``tsa_access`` with its new value, delivered when
its transaction commits. A replica that listens knows the generation without asking, and trusts
what it knows only while all of these hold:

- its listening connection is up (lost: callers fall back to the query, and it reconnects);
- the value came from a query begun after listening started, raised since by announcements, so no
  change can have fallen between the two;
- no write was handled by this replica since (``invalidate``). An announcement arrives a moment after
  its commit; a client that revokes a key here and at once uses it must already be refused.

Other replicas honour a change when its announcement arrives, a few milliseconds after the commit.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from tsa import metrics

log = logging.getLogger(__name__)

CHANNEL = "tsa_access"


class AccessWatch:
    def __init__(self) -> None:
        self._value: int | None = None
        self._epoch = 0
        self._listening = False

    def current(self) -> str | None:
        """The access generation, when it is known for certain; None: ask the database."""
        return str(self._value) if self._listening and self._value is not None else None

    @property
    def epoch(self) -> int:
        """Taken before a query, handed back with its result to ``learned``."""
        return self._epoch

    def learned(self, value: str, epoch: int) -> None:
        """A generation read by a query begun at ``epoch``; kept only if nothing happened since that
        could make it stale (listening started or stopped, a local write)."""
        if self._listening and epoch == self._epoch:
            self._raise_to(int(value))

    def invalidate(self) -> None:
        """A write was handled here: ask the database until a query says what it left."""
        self._epoch += 1
        self._value = None

    def announced(self, value: str) -> None:
        if self._value is not None:  # raised only from a value a query established
            self._raise_to(int(value))

    def _raise_to(self, value: int) -> None:
        # Announcements and queries can arrive out of order; the generation only ever grows.
        self._value = value if self._value is None else max(self._value, value)

    def _listening_changed(self, listening: bool) -> None:
        self._listening = listening
        metrics.ACCESS_ANNOUNCEMENTS_UP.set(int(listening))
        self.invalidate()

    async def run(self, database_url: str, retry_s: float = 1.0) -> None:
        """Listen until cancelled, reconnecting after a lost connection."""
        while True:
            lost = asyncio.Event()
            connection: asyncpg.Connection | None = None
            try:
                connection = await asyncpg.connect(database_url, timeout=5)
                connection.add_termination_listener(lambda _: lost.set())
                await connection.add_listener(CHANNEL, lambda _c, _p, _ch, payload: self.announced(payload))
                self._listening_changed(True)
                await lost.wait()
                log.warning("access announcements lost; reading the access generation per request until back")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("access announcements unavailable (%s); reading the access generation per request", exc)
            finally:
                self._listening_changed(False)
                if connection is not None and not connection.is_closed():
                    connection.terminate()
            await asyncio.sleep(retry_s)
