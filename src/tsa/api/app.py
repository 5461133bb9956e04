"""The FastAPI application: routes, error mapping, metrics, and the container's lifetime."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.types import Receive, Scope, Send

from tsa import __version__
from tsa.api.auth import document_security
from tsa.api.clients import ClientLabels
from tsa.api.compat import openai_routes
from tsa.api.errors import install_error_handlers
from tsa.api.lane import DropInLane
from tsa.api.limits import BodyLimitMiddleware, WriteTimeoutMiddleware
from tsa.api.middleware import MetricsMiddleware
from tsa.api.routes import (audit, auth, cache, chat, collections, conversations, documents, feedback, fleet, health,
                            imports, ollama_proxy, passages, search, users, web)
from tsa.config import Settings, load_settings
from tsa.container import Container, container_worker, open_container


# Questions, settings and Ollama calls: generous for long chat histories and images, cut off early
# when a client streams without end.
MAX_JSON_BODY_BYTES = 32 * 1024 * 1024


def create_app(settings: Settings | None = None, container: Container | None = None) -> FastAPI:
    """An app that opens its own container, or serves one the caller already opened."""
    settings = container.settings if container is not None else settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.background = set()  # short tasks a request leaves behind (fleet clean-up)
        async with AsyncExitStack() as stack:
            opened = app.state.container = container or await stack.enter_async_context(open_container(settings))
            if settings.worker_in_process:  # the quick start needs no separate `tsa worker`
                await stack.enter_async_context(container_worker(opened))
            try:
                yield
            finally:
                await _cancel_all(app.state.background)

    app = ServiceApp(title="Technical Service Assistant", version=__version__, lifespan=lifespan)
    install_error_handlers(app)
    # Matched in this order, route by route: the drop-in APIs, called most often, come first.
    for module in (ollama_proxy, openai_routes, chat, conversations, feedback, search, documents, passages, imports,
                   auth, users, collections, audit, fleet, cache, health, web):
        app.include_router(module.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.add_middleware(WriteTimeoutMiddleware, timeout_s=settings.write_timeout_s)
    app.add_middleware(BodyLimitMiddleware, limit_for=_upload_limit)
    clients = ClientLabels(settings.metrics_max_clients)
    app.add_middleware(MetricsMiddleware, clients=clients)
    app.lane = DropInLane(partial(FastAPI.__call__, app), clients, settings.write_timeout_s)
    return app


class ServiceApp(FastAPI):
    """The service: the drop-in lane (``tsa.api.lane``) first, FastAPI for everything it does not take."""

    lane: DropInLane

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self
        await self.lane(scope, receive, send)


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        app.openapi_schema = document_security(
            get_openapi(title=app.title, version=app.version, routes=app.routes), app.routes)
    return app.openapi_schema


def _upload_limit(scope: Scope) -> int | None:
    """Uploads may carry MAX_UPLOAD_BYTES of file; every other body is small."""
    settings = scope["app"].state.container.settings
    if scope["path"] == "/api/documents" and scope["method"] == "POST":
        return settings.max_upload_bytes + documents.MULTIPART_OVERHEAD_BYTES
    if scope["path"] == "/api/imports" and scope["method"] == "POST":
        return settings.max_batch_bytes
    return MAX_JSON_BODY_BYTES


async def _cancel_all(tasks: set[asyncio.Task[Any]]) -> None:
    for task in list(tasks):
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
