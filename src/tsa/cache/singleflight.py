"""Single-flight: concurrent identical misses cost one computation.

Within a process, followers await the leader's future. Across replicas, the
leader holds a Redis lock (``SET NX PX``, renewed while it works); followers
watch for the value to land, and take over if the lock vanishes without one
(the holder died or gave up).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tsa.cache.keys import lock_key
from tsa.cache.redis_cache import RedisCache

_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


@dataclass
class Ticket:
    """``value`` is set for a follower that got the leader's result; otherwise the holder
    computes and must call ``finish`` (with the value, or None when it is not cacheable)."""

    key: str
    value: Any = None
    _flight: SingleFlight | None = field(default=None, repr=False)
    _token: str | None = None
    _future: asyncio.Future[Any] | None = field(default=None, repr=False)
    _renewal: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def leader(self) -> bool:
        return self.value is None

    async def finish(self, value: Any) -> None:
        if self._flight is not None:
            flight, self._flight = self._flight, None
            await flight._finish(self, value)


class SingleFlight:
    def __init__(self, cache: RedisCache, layer: str, lock_ttl_s: float = 10.0, poll_s: float = 0.05,
                 max_wait_s: float = 600.0) -> None:
        self.cache = cache
        self.layer = layer
        self.lock_ttl_ms = int(lock_ttl_s * 1000)
        self.poll_s = poll_s
        self.max_wait_s = max_wait_s
        self._local: dict[str, asyncio.Future[Any]] = {}

    async def join(self, key: str, lookup: Callable[[], Awaitable[Any]]) -> Ticket:
        local = self._local.get(key)
        if local is not None:
            value = await asyncio.shield(local)
            if value is not None:
                return Ticket(key, value)
        future = self._local[key] = asyncio.get_running_loop().create_future()
        ticket = Ticket(key, _flight=self, _future=future)
        try:
            value = await self._lead_or_follow(ticket, lookup)
        except BaseException:
            await ticket.finish(None)
            raise
        if value is not None:
            await ticket.finish(value)
            return Ticket(key, value)
        return ticket

    async def _lead_or_follow(self, ticket: Ticket, lookup: Callable[[], Awaitable[Any]]) -> Any:
        """None once this caller holds the lock (or Redis is away); the value if another replica made it."""
        lock = lock_key(ticket.key)
        token = secrets.token_hex(8)
        waited = 0.0
        async def take(r: Any) -> bool:
            # redis-py answers None, not False, when NX finds the key: make "held elsewhere" a False,
            # so that None keeps meaning "Redis is unavailable".
            return bool(await r.set(lock, token, nx=True, px=self.lock_ttl_ms))

        while waited < self.max_wait_s:
            taken = await self.cache.run(self.layer, take)
            if taken is None or taken:
                ticket._token = token if taken else None
                if taken:
                    ticket._renewal = asyncio.create_task(self._renew(lock, token))
                return None
            while waited < self.max_wait_s:  # another replica computes: watch for its result
                await asyncio.sleep(self.poll_s)
                waited += self.poll_s
                value = await lookup()
                if value is not None:
                    return value
                if not await self.cache.run(self.layer, lambda r: r.exists(lock)):
                    break  # the holder is gone without a result: try to take over
        return None

    async def _renew(self, lock: str, token: str) -> None:
        while True:
            await asyncio.sleep(self.lock_ttl_ms / 3000)
            await self.cache.run(self.layer, lambda r: r.pexpire(lock, self.lock_ttl_ms))

    async def _finish(self, ticket: Ticket, value: Any) -> None:
        if self._local.get(ticket.key) is ticket._future:
            del self._local[ticket.key]
        if ticket._future is not None and not ticket._future.done():
            ticket._future.set_result(value)
        if ticket._renewal is not None:
            ticket._renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticket._renewal
        if ticket._token is not None:
            lock = lock_key(ticket.key)
            await self.cache.run(self.layer, lambda r: r.eval(_RELEASE, 1, lock, ticket._token))
