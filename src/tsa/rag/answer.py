"""An answer being produced, or replayed from the cache: sources up front, text as pieces."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tsa import metrics
from tsa.fleet import ChatStream
from tsa.rag.prompt import NO_CONTEXT_ANSWER

Finished = Callable[["Answer | None"], Awaitable[None]]


def cacheable(text: str, done_reason: str | None, length_limit_requested: bool) -> bool:
    """Complete answers only: not empty, not cut short (a length stop only when the client set the limit)."""
    if not text.strip():
        return False
    return done_reason in ("stop", "no_context") or (done_reason == "length" and length_limit_requested)


@dataclass
class Answer:
    sources: list[dict[str, Any]]
    model: str
    instance: str | None
    timings_ms: dict[str, float]
    cached: dict[str, bool] = field(default_factory=lambda: {"embedding": False, "chunks": False,
                                                             "inference": False})
    text: str = ""
    done_reason: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    _stream: ChatStream | None = field(default=None, repr=False)
    _replay: str | None = field(default=None, repr=False)
    _started: float = field(default_factory=time.perf_counter, repr=False)
    # Set just before the generation is opened, so first_token includes queueing and prompt evaluation.
    _generate_started: float = field(default_factory=time.perf_counter, repr=False)
    _on_finished: Finished | None = field(default=None, repr=False)
    _begun: bool = field(default=False, repr=False)

    @classmethod
    def from_cache(cls, payload: dict[str, Any], started: float, timings_ms: dict[str, float]) -> Answer:
        return cls(payload["sources"], payload["model"], None, timings_ms,
                   {"embedding": True, "chunks": True, "inference": True}, done_reason=payload["done_reason"],
                   usage=payload.get("usage", {}), _replay=payload["answer"], _started=started)

    def payload(self) -> dict[str, Any]:
        return {"answer": self.text, "sources": self.sources, "model": self.model,
                "done_reason": self.done_reason, "usage": self.usage}

    @property
    def kind(self) -> str:
        """How this answer is produced: cached, no_context or generated."""
        if self._replay is not None:
            return "cached"
        return "no_context" if self._stream is None else "generated"

    async def pieces(self) -> AsyncIterator[str]:
        self._begun = True
        outcome = "error"
        first = True
        try:
            if self._replay is not None:
                self.text = self._replay
                pieces: AsyncIterator[str] = _once(self._replay)
            elif self._stream is None:
                self.text, self.done_reason = NO_CONTEXT_ANSWER, "no_context"
                pieces = _once(NO_CONTEXT_ANSWER)
            else:
                pieces = self._generated()
            async with contextlib.aclosing(pieces):  # leaving early closes the generation now, not at GC
                async for piece in pieces:
                    if first:
                        first = False
                        self._first_piece()
                    yield piece
            outcome = "answered" if self.sources else "no_context"
        except (asyncio.CancelledError, GeneratorExit):
            outcome = "cancelled"
            raise
        finally:
            metrics.RAG_ANSWERS.labels(outcome).inc()
            if self._on_finished is not None:
                finished, self._on_finished = self._on_finished, None
                await finished(self if outcome in ("answered", "no_context") else None)

    async def abandon(self) -> None:
        """For an answer whose pieces were never asked for (the client left before the body began):
        close the generation upstream and release identical waiting questions. No-op otherwise."""
        if self._begun:
            return
        self._begun = True
        try:
            if self._stream is not None:
                await self._stream.aclose()
        finally:
            metrics.RAG_ANSWERS.labels("cancelled").inc()
            if self._on_finished is not None:
                finished, self._on_finished = self._on_finished, None
                await finished(None)

    def _first_piece(self) -> None:
        seconds = time.perf_counter() - self._started
        self.timings_ms["time_to_first_token_ms"] = round(seconds * 1000, 2)
        metrics.TIME_TO_FIRST_TOKEN.labels(self.kind).observe(seconds)

    async def _generated(self) -> AsyncIterator[str]:
        assert self._stream is not None
        parts: list[str] = []
        try:
            async for chunk in self._stream.chunks:
                piece = chunk.get("message", {}).get("content", "")
                if piece:
                    if not parts:
                        self._mark("first_token", self._generate_started)
                    parts.append(piece)
                    yield piece
                if chunk.get("done"):
                    self.done_reason = chunk.get("done_reason", "stop")
                    self.usage = {"prompt_tokens": chunk.get("prompt_eval_count", 0),
                                  "completion_tokens": chunk.get("eval_count", 0)}
        finally:
            await self._stream.chunks.aclose()
        self.text = "".join(parts)
        self._mark("generate", self._generate_started)

    def _mark(self, stage: str, since: float) -> None:
        seconds = time.perf_counter() - since
        self.timings_ms[f"{stage}_ms"] = round(seconds * 1000, 2)
        metrics.RAG_STAGE_DURATION.labels(stage=stage).observe(seconds)

    def metadata(self) -> dict[str, Any]:
        self.timings_ms["total_ms"] = round((time.perf_counter() - self._started) * 1000, 2)
        return {"answer": self.text, "sources": self.sources, "model": self.model, "instance": self.instance,
                "cached": self.cached, "done_reason": self.done_reason, "usage": self.usage,
                "timings_ms": self.timings_ms}


async def _once(text: str) -> AsyncIterator[str]:
    yield text
