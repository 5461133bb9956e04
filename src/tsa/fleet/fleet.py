"""The set of LLM instances the service sends work to.

This first version picks the instance with the fewest calls in flight and fails
over to the next one when an instance is unreachable; richer routing (health
probes, warm models, latency) builds on the same interface.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from tsa.errors import BackendUnavailable
from tsa.fleet.client import ClientTimeouts, OllamaClient


@dataclass
class Instance:
    client: OllamaClient
    in_flight: int = 0
    total_requests: int = 0
    failed_requests: int = 0

    @property
    def url(self) -> str:
        return self.client.base_url


@dataclass(frozen=True)
class EmbedResult:
    embeddings: list[list[float]]
    instance: str


@dataclass
class ChatStream:
    """A chat stream bound to the instance that serves it."""

    instance: str
    chunks: AsyncIterator[dict[str, Any]] = field(repr=False)


def pick_instance(instances: list[Instance], order: int) -> list[Instance]:
    """Candidates in the order to try: fewest in flight first, ties rotated by ``order``."""
    count = len(instances)
    rotated = [instances[(order + i) % count] for i in range(count)]
    return sorted(rotated, key=lambda inst: inst.in_flight)


class Fleet:
    def __init__(self, urls: list[str], timeouts: ClientTimeouts | None = None) -> None:
        if not urls:
            raise ValueError("a fleet needs at least one instance URL")
        self.instances = [Instance(OllamaClient(url, timeouts)) for url in urls]
        self._turn = itertools.count()

    async def aclose(self) -> None:
        for instance in self.instances:
            await instance.client.aclose()

    def _candidates(self) -> list[Instance]:
        return pick_instance(self.instances, next(self._turn))

    async def embed(self, model: str, texts: list[str]) -> EmbedResult:
        last_error: BackendUnavailable | None = None
        for instance in self._candidates():
            instance.in_flight += 1
            instance.total_requests += 1
            try:
                vectors = await instance.client.embed(model, texts)
                return EmbedResult(vectors, instance.url)
            except BackendUnavailable as exc:
                instance.failed_requests += 1
                last_error = exc
            finally:
                instance.in_flight -= 1
        raise last_error or BackendUnavailable("no LLM instance available")

    async def open_chat(self, model: str, messages: list[dict[str, str]],
                        options: dict[str, Any] | None = None) -> ChatStream:
        """Start a chat stream, failing over to another instance before the first byte."""
        last_error: BackendUnavailable | None = None
        for instance in self._candidates():
            stream = _tracked(instance, instance.client.chat_stream(model, messages, options))
            try:
                first = await anext(stream)
            except BackendUnavailable as exc:
                last_error = exc
                continue
            return ChatStream(instance.url, _prepend(first, stream))
        raise last_error or BackendUnavailable("no LLM instance available")

    async def probe(self) -> list[dict[str, Any]]:
        """Live state of every instance: reachable, version, models present and loaded."""
        return [await _probe_one(instance) for instance in self.instances]


async def _tracked(instance: Instance, chunks: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    instance.in_flight += 1
    instance.total_requests += 1
    try:
        async for chunk in chunks:
            yield chunk
    except Exception:
        instance.failed_requests += 1
        raise
    finally:
        instance.in_flight -= 1
        await chunks.aclose()


async def _prepend(first: dict[str, Any], rest: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    try:
        yield first
        async for chunk in rest:
            yield chunk
    finally:
        await rest.aclose()


async def _probe_one(instance: Instance) -> dict[str, Any]:
    state: dict[str, Any] = {"url": instance.url, "healthy": False}
    try:
        state["version"] = await instance.client.version()
        state["models_available"] = await instance.client.tags()
        state["models_loaded"] = [m["name"] for m in await instance.client.ps()]
        state["healthy"] = True
    except Exception as exc:  # a probe reports, it never raises
        state["error"] = str(exc)
    return state
