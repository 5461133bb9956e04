"""A chat stream as its consumers take it: in batches — the chunks that arrived together, as they
arrived — or one chunk at a time.

Batches are what the gateway relays: a fast instance sends many chunks per network read, and each
one taken alone would cost an async step in every layer between the instance and the client. A slow
instance sends one token per read, which is a batch of one, passed on the moment it comes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

Chunk = dict[str, Any]
Batch = list[Chunk]


def text_of(chunk: Chunk) -> str:
    """The text a chunk adds: a chat's message content or a generation's response."""
    return chunk.get("response") or (chunk.get("message") or {}).get("content") or ""


async def collect(batches: AsyncIterator[Batch]) -> Chunk:
    """A whole answer as one chunk: the final chunk, holding the whole text (and, for a chat, every
    tool call, which instances send in chunks of their own). The stream is left open at its final
    chunk, for its owner to settle once the answer is on its way."""
    parts: list[str] = []
    calls: list[Any] = []
    final: Chunk = {}
    async for batch in batches:
        for chunk in batch:
            parts.append(text_of(chunk))
            if (message := chunk.get("message")) and message.get("tool_calls"):
                calls += message["tool_calls"]
        final = batch[-1]
        if final.get("done"):
            break
    if "response" in final:
        return {**final, "response": "".join(parts)}
    message = {"role": "assistant", "content": "".join(parts), **({"tool_calls": calls} if calls else {})}
    return {**final, "message": message}


async def one_by_one(batches: AsyncIterator[Batch]) -> AsyncIterator[Chunk]:
    async with contextlib.aclosing(batches):  # type: ignore[type-var]
        async for batch in batches:
            for chunk in batch:
                yield chunk


async def one_per_batch(chunks: AsyncIterator[Chunk]) -> AsyncIterator[Batch]:
    async with contextlib.aclosing(chunks):  # type: ignore[type-var]
        async for chunk in chunks:
            yield [chunk]


@dataclass
class ChatStream:
    """A chat stream bound to the instance that serves it; closing it cancels the call upstream.

    Read either ``batches`` or ``chunks``, not both. ``aclose`` also settles a stream nobody read
    from (closing an unstarted generator runs none of its code, which would leave the upstream call
    and the instance slot taken)."""

    instance: str
    batches: AsyncIterator[Batch] = field(repr=False)
    _end_unread: Callable[[], Awaitable[None]] | None = field(default=None, repr=False)
    _chunks: AsyncIterator[Chunk] | None = field(default=None, repr=False)

    @property
    def chunks(self) -> AsyncIterator[Chunk]:
        if self._chunks is None:
            self._chunks = one_by_one(self.batches)
        return self._chunks

    async def aclose(self) -> None:
        if self._chunks is not None:
            await self._chunks.aclose()  # type: ignore[attr-defined]
        await self.batches.aclose()  # type: ignore[attr-defined]
        if self._end_unread is not None:
            await self._end_unread()
