"""Loads models on first use, serialises calls per model, unloads after keep_alive."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from tsa.engine.backends import ModelSpec
from tsa.model_names import canonical_name
from tsa.engine.keep_alive import FOREVER


class ModelNotFound(LookupError):
    pass


@dataclass
class LoadedModel:
    spec: ModelSpec
    backend: Any
    load_duration_ns: int
    expires_at: float = FOREVER
    in_use: int = 0
    # One call at a time per model, as an Ollama server does without OLLAMA_NUM_PARALLEL.
    busy: asyncio.Lock = field(default_factory=asyncio.Lock)


def is_expired(model: LoadedModel, now: float) -> bool:
    return model.in_use == 0 and model.expires_at <= now


class ModelManager:
    def __init__(self, catalog: dict[str, ModelSpec], clock: Callable[[], float] = time.time) -> None:
        self.catalog = catalog
        self._clock = clock
        self._loaded: dict[str, LoadedModel] = {}
        self._loading = asyncio.Lock()

    def spec(self, name: str) -> ModelSpec:
        spec = self.catalog.get(canonical_name(name))
        if spec is None:
            raise ModelNotFound(f'model "{name}" not found, try pulling it first')
        return spec

    def loaded(self) -> list[LoadedModel]:
        return list(self._loaded.values())

    @asynccontextmanager
    async def use(self, name: str, kind: str, keep_alive_s: float) -> AsyncIterator[tuple[LoadedModel, int]]:
        """Hold the model for one call; yields it and the load time this call paid (ns)."""
        spec = self.spec(name)
        if spec.kind != kind:
            raise ValueError(f'"{name}" does not support {"embeddings" if kind == "embed" else "chat"}')
        model, load_ns = await self._ensure_loaded(spec)
        model.in_use += 1
        try:
            async with model.busy:
                yield model, load_ns
        finally:
            model.in_use -= 1
            model.expires_at = self._clock() + keep_alive_s
            if keep_alive_s == 0:
                self.unload_expired()

    async def _ensure_loaded(self, spec: ModelSpec) -> tuple[LoadedModel, int]:
        async with self._loading:
            model = self._loaded.get(spec.name)
            if model is not None:
                return model, 0
            started = time.perf_counter_ns()
            backend = await asyncio.to_thread(spec.load)
            model = LoadedModel(spec, backend, time.perf_counter_ns() - started)
            self._loaded[spec.name] = model
            return model, model.load_duration_ns

    def forget(self, name: str) -> None:
        """Take the model out of the catalog (``/api/delete``); a call using it finishes first."""
        spec = self.spec(name)
        self.catalog.pop(spec.name)
        model = self._loaded.get(spec.name)
        if model is not None and model.in_use == 0:
            del self._loaded[spec.name]

    def unload_expired(self) -> list[str]:
        now = self._clock()
        gone = [name for name, model in self._loaded.items() if is_expired(model, now)]
        for name in gone:
            del self._loaded[name]
        return gone

    async def reap_forever(self, every_s: float = 1.0) -> None:
        while True:
            await asyncio.sleep(every_s)
            self.unload_expired()
