"""Embeddings of many texts with one model, in batches, through the fleet."""

from __future__ import annotations

from collections.abc import Callable

from tsa.errors import BackendError
from tsa.fleet.fleet import Fleet

Progress = Callable[[int, int], None]


class FleetEmbedder:
    """``await embedder(texts)`` → one vector per text, in order.

    >>> vectors = await FleetEmbedder(fleet, "all-minilm", batch_size=32)(["a", "b"])  # doctest: +SKIP
    """

    def __init__(self, fleet: Fleet, model: str, batch_size: int = 32) -> None:
        self.fleet = fleet
        self.model = model
        self.batch_size = batch_size

    async def __call__(self, texts: list[str], progress: Progress | None = None) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            result = await self.fleet.embed(self.model, texts[start:start + self.batch_size])
            vectors += result.embeddings
            if progress:
                progress(len(vectors), len(texts))
        return vectors

    async def dimensions(self) -> int:
        """Ask the model once; the store's vector column is sized by the answer."""
        vector = (await self.fleet.embed(self.model, ["dimension probe"])).embeddings[0]
        if not vector:
            raise BackendError(f"embedding model {self.model!r} returned an empty vector")
        return len(vector)
