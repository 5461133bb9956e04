"""Token buckets in Redis, shared by every replica; they fail open when Redis is away.

One script call checks every bucket that applies (the key's and the user's) and takes tokens
from each only if all have them, so a refused request costs nothing. Time comes from the Redis
server, so replicas with drifting clocks agree.

A busy caller would cost a Redis round trip per request. So a replica takes a small lease of
tokens at once (a quarter of a second of the bucket's rate, at most a quarter of its burst and
``MAX_LEASE``) and spends it locally for up to ``LEASE_S``; unspent tokens lapse, which only ever
makes the limit stricter. With a lease of 1 (slow buckets) every request asks Redis.

Concurrent callers whose lease ran out share one refill: without it, ten requests arriving
together would make ten Redis calls, and each lease would replace the last, its tokens taken from
the bucket and never spent.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tsa import metrics

# KEYS: the buckets. ARGV[1]: tokens wanted; then per bucket, tokens per millisecond and capacity.
# Returns {taken, 0}, or {0, milliseconds to wait} when some bucket has not one whole token.
_TOKEN_BUCKETS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local want = tonumber(ARGV[1])
local wait, take, tokens = 0, want, {}
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', key, 't', 'v')
  local last, left = tonumber(state[1]) or now, tonumber(state[2]) or burst
  left = math.min(burst, left + math.max(0, now - last) * rate)
  tokens[i] = left
  if left < 1 then wait = math.max(wait, math.ceil((1 - left) / rate)) end
  take = math.min(take, math.floor(left))
end
if wait > 0 then return {0, wait} end
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  redis.call('HSET', key, 't', now, 'v', tokens[i] - take)
  redis.call('PEXPIRE', key, math.ceil(burst / rate) + 1000)
end
return {take, 0}
"""
_PREFIX = "tsa:v1:ratelimit:"
MAX_LEASE = 20
LEASE_S = 1.0


@dataclass(frozen=True)
class Bucket:
    """``name`` identifies whose bucket it is (e.g. ``key:12``); refills ``per_minute``."""

    name: str
    per_minute: float
    burst: int

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0 and self.burst > 0


def lease_size(buckets: Sequence[Bucket]) -> int:
    """Tokens to take at once: small enough that leases held by replicas barely loosen the limit."""
    sizes = [min(MAX_LEASE, int(b.per_minute / 60 * 0.25), b.burst // 4) for b in buckets]
    return max(1, min(sizes))


@dataclass
class _Lease:
    tokens: int
    until: float


class RateLimiter:
    def __init__(self, redis: aioredis.Redis, retry_after_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._script = redis.register_script(_TOKEN_BUCKETS)
        self._retry_after_s = retry_after_s
        self._clock = clock
        self._down_until = 0.0
        self._leases: dict[tuple[str, ...], _Lease] = {}
        self._refills: dict[tuple[str, ...], asyncio.Future[float]] = {}

    def take_leased(self, buckets: Sequence[Bucket]) -> bool:
        """Take a token from this replica's lease, if it holds one (no I/O); else False."""
        buckets = [b for b in buckets if b.enabled]
        if not buckets:
            return True
        lease = self._leases.get(tuple(b.name for b in buckets))
        if lease is not None and lease.tokens > 0 and self._clock() < lease.until:
            lease.tokens -= 1
            return True
        return False

    async def wait_s(self, buckets: Sequence[Bucket]) -> float:
        """0 when the call may go ahead (a token taken from each bucket), else seconds to wait."""
        if self.take_leased(buckets):
            return 0.0
        buckets = [b for b in buckets if b.enabled]
        names = tuple(b.name for b in buckets)
        while True:
            if self._clock() < self._down_until:  # Redis failed a moment ago: don't wait for it on every call
                metrics.RATE_LIMIT_BYPASSES.inc()
                return 0.0
            refill = self._refills.get(names)
            if refill is None:  # (a refill leaves the table as it ends, so this one is still running)
                refill = self._refills[names] = asyncio.ensure_future(self._refill(names, buckets))
            wait_s = await asyncio.shield(refill)  # one caller leaving does not cancel the others' refill
            if wait_s > 0:
                return wait_s
            if self.take_leased(buckets):
                return 0.0
            # The lease went to callers that joined before us (or Redis failed): go round again.

    async def _refill(self, names: tuple[str, ...], buckets: list[Bucket]) -> float:
        """Lease tokens from Redis for ``names``: 0 when leased (or Redis failed), else seconds to wait.

        It leaves ``_refills`` before it ends, not in a done callback: a caller arriving between its end
        and such a callback would find it finished, await it without yielding, find no token, and go
        round again, forever."""
        try:
            return await self._lease(names, buckets)
        finally:
            self._refills.pop(names, None)

    async def _lease(self, names: tuple[str, ...], buckets: list[Bucket]) -> float:
        now = self._clock()
        args: list[float] = [lease_size(buckets)]
        for bucket in buckets:
            args += [bucket.per_minute / 60_000, bucket.burst]
        try:
            taken, wait_ms = await self._script(keys=[_PREFIX + name for name in names], args=args)
        except (RedisError, OSError):
            self._down_until = now + self._retry_after_s
            return 0.0
        if taken:
            self._leases[names] = _Lease(int(taken), now + LEASE_S)
            if len(self._leases) > 10_000:  # callers who went quiet
                self._leases = {k: v for k, v in self._leases.items() if v.until > now}
        return int(wait_ms) / 1000


def retry_after_header(wait_s: float) -> int:
    """Whole seconds, never 0 (a client told to wait 0 s would retry at once and be refused again)."""
    return max(1, math.ceil(wait_s))
