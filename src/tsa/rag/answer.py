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
from tsa.rag.grounding import Grounding, annotated, check, extractive
from tsa.rag.prompt import NO_CONTEXT_ANSWER, WEB_ONLY_PREAMBLE, says_not_covered, web_citations_numbered

Finished = Callable[["Answer | None"], Awaitable[None]]


@dataclass
class WebFollowUp:
    """What the web adds after a manuals answer that failed its check or declined (auto mode)."""

    sources: list[dict[str, Any]]
    passages: list[str]
    stream: ChatStream | None  # None: the web had nothing to add
    web: dict[str, Any]


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
    grounding: Grounding | None = None
    # "annotate": unsupported claims are marked; "extractive": an answer with any is replaced by quotes.
    policy: str = "annotate"
    replaced: bool = False
    # Whether the web was searched for this answer, and what came of it (None: not searched).
    web: dict[str, Any] | None = None
    _question: str = field(default="", repr=False)
    # Said before the generated text (that it comes from the web); part of the answer.
    _preamble: str = field(default="", repr=False)
    # How many of the passages are the manuals' (the rest, web passages, are cited as [W1] …).
    _manual_passages: int | None = field(default=None, repr=False)
    _passages: list[str] = field(default_factory=list, repr=False)
    _stream: ChatStream | None = field(default=None, repr=False)
    _replay: str | None = field(default=None, repr=False)
    _started: float = field(default_factory=time.perf_counter, repr=False)
    # Set just before the generation is opened, so first_token includes queueing and prompt evaluation.
    _generate_started: float = field(default_factory=time.perf_counter, repr=False)
    _on_finished: Finished | None = field(default=None, repr=False)
    # Asked when the manuals' answer fails its grounding check or says they do not cover the question.
    _web_after: Callable[[], Awaitable[WebFollowUp]] | None = field(default=None, repr=False)
    _begun: bool = field(default=False, repr=False)

    @classmethod
    def from_cache(cls, payload: dict[str, Any], started: float, timings_ms: dict[str, float]) -> Answer:
        grounding = payload.get("grounding")
        return cls(payload["sources"], payload["model"], None, timings_ms,
                   {"embedding": True, "chunks": True, "inference": True}, done_reason=payload["done_reason"],
                   usage=payload.get("usage", {}), grounding=Grounding.from_json(grounding) if grounding else None,
                   replaced=payload.get("replaced", False), web=payload.get("web"), _replay=payload["answer"],
                   _started=started)

    def payload(self) -> dict[str, Any]:
        """What the cache keeps: the text as delivered, with its grounding result."""
        return {"answer": self.text, "sources": self.sources, "model": self.model,
                "done_reason": self.done_reason, "usage": self.usage,
                "grounding": self.grounding.as_json() if self.grounding else None, "replaced": self.replaced,
                "web": self.web}

    @property
    def passages(self) -> list[str]:
        """The passages the model was given (after context assembly), numbered from 1 as cited;
        empty for a cached answer."""
        return list(self._passages)

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
                self.grounding = Grounding(True)
                pieces = _once(NO_CONTEXT_ANSWER)
            elif self.policy == "extractive":
                pieces = self._checked_first()
            else:
                pieces = self._generated()
            async with contextlib.aclosing(pieces):  # leaving early closes the generation now, not at GC
                async for piece in pieces:
                    if first:
                        first = False
                        self._first_piece()
                    yield piece
            outcome = "answered" if self.sources else "no_context"
            if self.grounding is None and self._stream is not None:
                self._check()
            if self._wants_the_web():
                async with contextlib.aclosing(self._web_part()) as more:
                    async for piece in more:
                        yield piece
            if outcome == "answered" and self.grounding is not None:
                metrics.RAG_GROUNDING.labels("replaced" if self.replaced else
                                             "supported" if self.grounding.supported else "unsupported").inc()
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

    def _wants_the_web(self) -> bool:
        return (self._web_after is not None and self._stream is not None and self.policy != "extractive"
                and self.grounding is not None
                and (not self.grounding.supported or says_not_covered(self.text)))

    async def _web_part(self) -> AsyncIterator[str]:
        """The web's answer after the manuals' one, marked as such; grounding checked over both."""
        assert self._web_after is not None
        follow, self._web_after = await self._web_after(), None
        self.web = follow.web
        if follow.stream is None:
            return
        manual_text = self.text
        self._manual_passages = len(self._passages)
        self.sources = [*self.sources, *follow.sources]
        self._passages = [*self._passages, *follow.passages]
        self._stream, self._preamble = follow.stream, "\n\n" + WEB_ONLY_PREAMBLE
        self._generate_started = time.perf_counter()
        async with contextlib.aclosing(self._generated()) as generated:
            async for piece in generated:
                yield piece
        self.text = manual_text + self.text
        self._check()

    def _check(self) -> None:
        started = time.perf_counter()
        text = self.text if self._manual_passages is None else web_citations_numbered(self.text,
                                                                                         self._manual_passages)
        self.grounding = check(text, self._passages)
        metrics.RAG_STAGE_DURATION.labels(stage="grounding").observe(time.perf_counter() - started)

    async def _checked_first(self) -> AsyncIterator[str]:
        """Extractive policy: the whole answer is checked before any of it goes out; one that fails
        becomes the passages' own sentences, quoted."""
        async with contextlib.aclosing(self._generated()) as generated:
            async for _ in generated:
                pass
        self._check()
        assert self.grounding is not None
        if not self.grounding.supported:
            self.text = extractive(self._question, self._passages, self.grounding.cited)
            self.replaced = True
        yield self.text

    def _first_piece(self) -> None:
        seconds = time.perf_counter() - self._started
        self.timings_ms["time_to_first_token_ms"] = round(seconds * 1000, 2)
        metrics.TIME_TO_FIRST_TOKEN.labels(self.kind).observe(seconds)

    async def _generated(self) -> AsyncIterator[str]:
        assert self._stream is not None
        parts: list[str] = [self._preamble] if self._preamble else []
        marked = False
        try:
            if self._preamble:
                yield self._preamble
            async for chunk in self._stream.chunks:
                piece = chunk.get("message", {}).get("content", "")
                if piece:
                    if not marked:
                        marked = True
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
        """The delivered answer: unsupported claims marked in the text (the streamed tokens are as the
        model wrote them; ``grounding.unsupported`` says where, for clients that mark them)."""
        self.timings_ms["total_ms"] = round((time.perf_counter() - self._started) * 1000, 2)
        text = self.text
        grounding = None
        if self.grounding is not None:
            grounding = {**self.grounding.as_json(), "replaced": self.replaced}
            if not self.replaced:
                text = annotated(self.text, self.grounding)
        # Plainly "not in the manuals": nothing relevant was found, or the answer says so itself.
        covered = any(s.get("kind") != "web" for s in self.sources) and not says_not_covered(self.text)
        return {"answer": text, "covered": covered, "sources": self.sources, "model": self.model,
                "instance": self.instance, "web": self.web,
                "cached": self.cached, "done_reason": self.done_reason, "usage": self.usage,
                "grounding": grounding, "timings_ms": self.timings_ms}


async def _once(text: str) -> AsyncIterator[str]:
    yield text
