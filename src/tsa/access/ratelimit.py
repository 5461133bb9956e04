"""Token buckets in Redis, shared by every replica; they fail open when Redis is away.

One script call checks every bucket that applies (the key's and the user's) and takes a token
from each only if all have one, so a refused request costs nothing. Time comes from the Redis
server, so replicas with drifting clocks agree.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tsa import metrics

# ARGV: per bucket, tokens per millisecond and capacity. Returns 0 (allowed) or the wait in ms.
_TOKEN_BUCKETS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait, tokens = 0, {}
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local state = redis.call('HMGET', key, 't', 'v')
  local last, left = tonumber(state[1]) or now, tonumber(state[2]) or burst
  left = math.min(burst, left + math.max(0, now - last) * rate)
  tokens[i] = left
  if left < 1 then wait = math.max(wait, math.ceil((1 - left) / rate)) end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  redis.call('HSET', key, 't', now, 'v', tokens[i] - 1)
  redis.call('PEXPIRE', key, math.ceil(burst / rate) + 1000)
end
return 0
"""
_PREFIX = "tsa:v1:ratelimit:"


@dataclass(frozen=True)
class Bucket:
    """``name`` identifies whose bucket it is (e.g. ``key:1a2b3c4d``); refills ``per_minute``."""

    name: str
    per_minute: float
    burst: int

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0 and self.burst > 0


class RateLimiter:
    def __init__(self, redis: aioredis.Redis, retry_after_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._script = redis.register_script(_TOKEN_BUCKETS)
        self._retry_after_s = retry_after_s
        self._clock = clock
        self._down_until = 0.0

    async def wait_s(self, buckets: Sequence[Bucket]) -> float:
        """0 when the call may go ahead (a token taken from each bucket), else seconds to wait."""
        buckets = [b for b in buckets if b.enabled]
        if not buckets:
            return 0.0
        if self._clock() < self._down_until:  # Redis failed a moment ago: don't wait for it on every call
            metrics.RATE_LIMIT_BYPASSES.inc()
            return 0.0
        args: list[float] = []
        for bucket in buckets:
            args += [bucket.per_minute / 60_000, bucket.burst]
        try:
            wait_ms = await self._script(keys=[_PREFIX + b.name for b in buckets], args=args)
        except (RedisError, OSError):
            self._down_until = self._clock() + self._retry_after_s
            metrics.RATE_LIMIT_BYPASSES.inc()
            return 0.0
        return int(wait_ms) / 1000


def retry_after_header(wait_s: float) -> int:
    """Whole seconds, never 0 (a client told to wait 0 s would retry at once and be refused again)."""
    return max(1, math.ceil(wait_s))
