"""The FastAPI application: routes, error mapping, metrics, and the container's lifetime."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from tsa import __version__
from tsa.api.clients import ClientLabels
from tsa.api.errors import install_error_handlers
from tsa.api.middleware import MetricsMiddleware
from tsa.api.routes import cache, chat, documents, fleet, health, ollama_proxy, search
from tsa.config import Settings, load_settings
from tsa.container import Container, open_container


def create_app(settings: Settings | None = None, container: Container | None = None) -> FastAPI:
    """An app that opens its own container, or serves one the caller already opened."""
    settings = container.settings if container is not None else settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.background = set()
        async with AsyncExitStack() as stack:
            app.state.container = container or await stack.enter_async_context(
                open_container(settings))
            try:
                yield
            finally:
                await _cancel_all(app.state.background)

    app = FastAPI(title="Technical Service Assistant", version=__version__, lifespan=lifespan)
    install_error_handlers(app)
    for module in (chat, search, documents, fleet, cache, health, ollama_proxy):
        app.include_router(module.router)
    app.add_middleware(MetricsMiddleware, clients=ClientLabels(settings.metrics_max_clients))
    return app


async def _cancel_all(tasks: set[asyncio.Task[Any]]) -> None:
    """Stop background ingestion; each task marks its document failed as it is cancelled."""
    for task in list(tasks):
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
