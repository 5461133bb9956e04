"""The chat service: embed the question → retrieve → prompt with cited context → generate."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from tsa import metrics
from tsa.fleet import ChatStream, Fleet, FleetEmbedder
from tsa.rag.prompt import NO_CONTEXT_ANSWER, build_messages, is_relevant, snippet
from tsa.records import SearchHit
from tsa.store import HybridRetriever


@dataclass(frozen=True)
class Question:
    query: str
    max_context_chunks: int = 5
    model: str | None = None
    temperature: float = 0.2
    max_tokens: int = 512


@dataclass
class Answer:
    """An answer being produced: sources are known up front, text arrives as ``pieces()``."""

    sources: list[dict[str, Any]]
    model: str
    instance: str | None
    timings_ms: dict[str, float]
    _stream: ChatStream | None = field(default=None, repr=False)
    _started: float = field(default_factory=time.perf_counter, repr=False)
    # Set just before the generation is opened, so first_token includes queueing and prompt evaluation.
    _generate_started: float = field(default_factory=time.perf_counter, repr=False)
    text: str = ""
    done_reason: str | None = None
    usage: dict[str, int] = field(default_factory=dict)

    async def pieces(self) -> AsyncIterator[str]:
        if self._stream is None:
            self.text, self.done_reason = NO_CONTEXT_ANSWER, "no_context"
            yield NO_CONTEXT_ANSWER
            return
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
                "cached": {"embedding": False, "chunks": False, "inference": False},
                "done_reason": self.done_reason, "usage": self.usage, "timings_ms": self.timings_ms}


def source_of(hit: SearchHit) -> dict[str, Any]:
    return {"document_id": str(hit.document_id), "title": hit.title, "source": hit.source,
            "page": hit.page_start, "page_end": hit.page_end, "section": " > ".join(hit.heading_path),
            "chunk_id": hit.chunk_id, "score": round(hit.score, 6),
            "similarity": None if hit.similarity is None else round(hit.similarity, 4),
            "snippet": snippet(hit.text)}


class RagService:
    def __init__(self, fleet: Fleet, embedder: FleetEmbedder, retriever: HybridRetriever,
                 chat_model: str, min_similarity: float) -> None:
        self.fleet = fleet
        self.embedder = embedder
        self.retriever = retriever
        self.chat_model = chat_model
        self.min_similarity = min_similarity

    async def retrieve(self, query: str, k: int, timings_ms: dict[str, float]) -> list[SearchHit]:
        started = time.perf_counter()
        vector = (await self.embedder([query]))[0]
        embedded = time.perf_counter()
        hits = await self.retriever.search(query, vector, k)
        finished = time.perf_counter()
        timings_ms["embed_ms"] = round((embedded - started) * 1000, 2)
        timings_ms["retrieve_ms"] = round((finished - embedded) * 1000, 2)
        metrics.RAG_STAGE_DURATION.labels(stage="embed").observe(embedded - started)
        metrics.RAG_STAGE_DURATION.labels(stage="retrieve").observe(finished - embedded)
        return hits

    async def ask(self, question: Question) -> Answer:
        """Retrieve and open the generation; raises before any byte is sent if the model or fleet fails."""
        started = time.perf_counter()
        model = question.model or self.chat_model
        timings: dict[str, float] = {}
        hits = [h for h in await self.retrieve(question.query, question.max_context_chunks, timings)
                if is_relevant(h, self.min_similarity)]
        sources = [source_of(h) for h in hits]
        if not hits:
            metrics.RAG_ANSWERS.labels(outcome="no_context").inc()
            return Answer(sources, model, None, timings, _started=started)
        options = {"temperature": question.temperature, "num_predict": question.max_tokens}
        generate_started = time.perf_counter()
        try:
            stream = await self.fleet.open_chat(model, build_messages(question.query, hits), options)
        except Exception:
            metrics.RAG_ANSWERS.labels(outcome="error").inc()
            raise
        metrics.RAG_ANSWERS.labels(outcome="answered").inc()
        return Answer(sources, model, stream.instance, timings, stream, _started=started,
                      _generate_started=generate_started)
