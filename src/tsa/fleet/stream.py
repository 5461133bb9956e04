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


def cut_off(first: Chunk, tokens: int) -> Chunk:
    """The final chunk of a stream stopped at its token limit, shaped as the stream's own."""
    shape = {"response": ""} if "response" in first else {"message": {"role": "assistant", "content": ""}}
    return {"model": first.get("model"), "created_at": first.get("created_at"), **shape, "done": True,
            "done_reason": "length", "eval_count": tokens}


@dataclass
class RelayTally:
    """What a relayed stream has carried so far, and where it ends: at the instance's final chunk, or
    at the caller's token limit, which an instance may ignore (``num_predict`` is only a request) and
    overrun inside one network read."""

    shape: Chunk  # the stream's first chunk: a final chunk of our own looks like it
    limit: int | None = None  # tokens the caller asked for at most
    tokens: int = 0
    text: list[str] = field(default_factory=list)  # streamed so far, for a resumption elsewhere
    resumed_after: int = 0  # tokens streamed before the instance now streaming took over

    def admit(self, batch: Batch) -> tuple[Batch, Chunk | None]:
        """The chunks of ``batch`` to pass on, and the stream's final chunk if it ends here (the
        instance's, its count including what came before a resumption; or one of ours at the limit)."""
        relayed: Batch = []
        for chunk in batch:
            piece = text_of(chunk)
            done = bool(chunk.get("done"))
            if self.limit is not None and self.tokens >= self.limit and piece and not done:
                final = cut_off(self.shape, self.tokens)  # one token too many
                relayed.append(final)
                return relayed, final
            self.tokens += bool(piece)
            self.text.append(piece)
            if done:
                if self.resumed_after:
                    chunk = {**chunk, "eval_count": self.resumed_after + int(chunk.get("eval_count") or 0)}
                relayed.append(chunk)
                return relayed, chunk
            relayed.append(chunk)
        return relayed, None


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
