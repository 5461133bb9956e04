"""Embeddings of many texts with one model: batches fanned out across the fleet, reassembled in order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tsa.errors import BackendError
from tsa.fleet.admission import Priority
from tsa.fleet.fleet import Fleet

Progress = Callable[[int, int], None]


class FleetEmbedder:
    """``await embedder(texts)`` → one vector per text, in order.

    Batches of ``batch_size`` run concurrently, as many at once as the routable
    instances take, so a large ingestion keeps every instance busy.

    >>> vectors = await FleetEmbedder(fleet, "all-minilm", batch_size=32)(["a", "b"])  # doctest: +SKIP
    """

    def __init__(self, fleet: Fleet, model: str, batch_size: int = 32,
                 priority: Priority = Priority.INTERACTIVE) -> None:
        self.fleet = fleet
        self.model = model
        self.batch_size = batch_size
        self.priority = priority

    async def __call__(self, texts: list[str], progress: Progress | None = None) -> list[list[float]]:
        batches = [texts[start:start + self.batch_size] for start in range(0, len(texts), self.batch_size)]
        if len(batches) == 1:
            return (await self.fleet.embed(self.model, batches[0], self.priority)).embeddings
        results: list[list[list[float]]] = [[] for _ in batches]
        gate = asyncio.Semaphore(min(len(batches), self.fleet.fan_out_width(self.model, "embed")))
        done = 0

        async def one(index: int, batch: list[str]) -> None:
            nonlocal done
            async with gate:
                results[index] = (await self.fleet.embed(self.model, batch, self.priority)).embeddings
            done += len(batch)
            if progress:
                progress(done, len(texts))

        async with asyncio.TaskGroup() as group:  # one failure cancels the rest
            for index, batch in enumerate(batches):
                group.create_task(one(index, batch))
        return [vector for batch in results for vector in batch]

    async def dimensions(self) -> int:
        """Ask the model once; the store's vector column is sized by the answer."""
        vector = (await self.fleet.embed(self.model, ["dimension probe"])).embeddings[0]
        if not vector:
            raise BackendError(f"embedding model {self.model!r} returned an empty vector")
        return len(vector)
