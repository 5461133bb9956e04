"""Real embedded PostgreSQL, Redis and one engine process, started once for the session."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.serving import served_asgi
from tsa.api import create_app
from tsa.config import Settings
from tsa.container import Container, open_container
from tsa.runtime import EmbeddedServices, Endpoints
from tsa.runtime.children import stop
from tsa.runtime.engine_process import start_engine

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
async def services(tmp_path_factory) -> AsyncIterator[Endpoints]:
    runtime = EmbeddedServices(Settings(tsa_home=tmp_path_factory.mktemp("home")))
    endpoints = await asyncio.to_thread(runtime.start)
    try:
        yield endpoints
    finally:
        await asyncio.to_thread(runtime.stop)


@pytest.fixture(scope="session")
def engine_url(services: Endpoints) -> str:
    return services.ollama_instances[0]


@pytest.fixture
async def database_url(services: Endpoints) -> AsyncIterator[str]:
    """A fresh, empty database per test, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(services.database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield services.database_url.replace("/postgres?", f"/{name}?")
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def settings(services: Endpoints, database_url: str, tmp_path) -> Settings:
    return Settings(tsa_home=tmp_path, database_url=database_url, redis_url=services.redis_url,
                    ollama_instances=services.ollama_instances)


@pytest.fixture
async def container(settings: Settings) -> AsyncIterator[Container]:
    async with open_container(settings) as opened:
        yield opened


async def new_user(container: Container, role: str = "viewer", grants: dict[str, str] | None = None,
                   username: str | None = None) -> dict[str, str]:
    """A real account with an API key; ``grants`` maps collection names (created if missing) to read/edit.

    Returns ``{"id", "username", "token", "headers"}``."""
    access = container.access
    user = await access.accounts.create_user(username or f"{role}-{uuid.uuid4().hex[:8]}", role)
    for name, permission in (grants or {}).items():
        collection_id = await access.collections.id_of(name)
        if collection_id is None:
            collection_id = (await access.collections.create(name))["id"]
        await access.collections.grant(collection_id, permission, user_id=user["id"])
    token, _ = await access.accounts.create_key(user["id"], "test", None)
    return {"id": user["id"], "username": user["username"], "token": token,
            "headers": {"Authorization": f"Bearer {token}"}}


@asynccontextmanager
async def serve_api(container: Container, headers: dict[str, str] | None = None
                    ) -> AsyncIterator[httpx.AsyncClient]:
    """The API on a real socket (uvicorn), so streaming and disconnects behave as in production.

    The client signs in as a fresh admin unless given other ``headers`` (``{}``: anonymous)."""
    if headers is None:
        headers = (await new_user(container, "admin"))["headers"]
    async with served_asgi(create_app(container=container), lifespan="on") as port:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120,
                                     headers=headers) as client:
            yield client


@pytest.fixture
async def api(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_api(container) as client:
        yield client


@pytest.fixture
def api_for():
    """Open a container for other settings and serve it: ``async with api_for(settings) as api``."""

    @asynccontextmanager
    async def opened(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
        async with open_container(settings) as container, serve_api(container) as client:
            yield client

    return opened


@pytest.fixture
async def bench_engine(engines):
    """One engine serving the benchmark models: fixed latency, deterministic text."""
    return (await engines(1, "--bench-embed-ms", "2", "--bench-token-ms", "20"))[0]


@pytest.fixture
def bench_settings(settings, bench_engine):
    settings.ollama_instances = [bench_engine.url]
    settings.embedding_model, settings.chat_model = "bench-embed", "bench-chat"
    settings.min_similarity = -1.0  # benchmark vectors are random: let every hit count as relevant
    return settings


@pytest.fixture
def service_for():
    """``async with service_for(settings) as (container, admin_api)``: the container too, to make users."""

    @asynccontextmanager
    async def opened(settings: Settings) -> AsyncIterator[tuple[Container, httpx.AsyncClient]]:
        async with open_container(settings) as container, serve_api(container) as client:
            yield container, client

    return opened


def client_as(api: httpx.AsyncClient, headers: dict[str, str]) -> httpx.AsyncClient:
    """Another caller of the same service (``{}``: anonymous)."""
    return httpx.AsyncClient(base_url=api.base_url, timeout=120, headers=headers)


@dataclass
class Engine:
    url: str
    process: subprocess.Popen[bytes]
    args: list[str]

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)

    async def counters(self) -> dict[str, int]:
        async with httpx.AsyncClient(timeout=10) as http:
            return (await http.get(f"{self.url}/api/engine/stats")).json()["counters"]

    async def assert_generation_interrupted(self, wait_s: float = 30.0) -> None:
        """Wait for the engine to report its one generation interrupted (cancelled upstream), not completed."""
        counters: dict[str, int] = {}
        for _ in range(int(wait_s / 0.1)):
            counters = await self.counters()
            if counters.get("generations_interrupted"):
                break
            await asyncio.sleep(0.1)
        assert counters.get("generations_interrupted") == 1 and not counters.get("generations_completed"), counters


@pytest.fixture
def engines(tmp_path) -> Callable[..., AsyncIterator[list[Engine]]]:
    """``async with engines(8, "--bench-embed-ms", "20") as running`` — each engine a real process."""
    started: list[Engine] = []

    async def launch(args: list[str], port: int = 0) -> Engine:
        url, process = await asyncio.to_thread(start_engine, tmp_path, 1, port, 60.0, ["--bench", *args])
        engine = Engine(url, process, args)
        started.append(engine)
        return engine

    async def many(count: int, *args: str) -> list[Engine]:
        return list(await asyncio.gather(*(launch(list(args)) for _ in range(count))))

    many.restart = lambda engine: launch(engine.args, engine.port)  # type: ignore[attr-defined]
    yield many
    for engine in started:
        stop(engine.process)


async def sse_events(api: httpx.AsyncClient, method: str, path: str, **kwargs: object) -> list[tuple[str, dict]]:
    """Every (event, JSON data) of a server-sent event stream, to its end."""
    events: list[tuple[str, dict]] = []
    async with api.stream(method, path, **kwargs) as response:  # type: ignore[arg-type]
        assert response.headers["content-type"].startswith("text/event-stream"), response.status_code
        name = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[6:])))
    return events


async def wait_until_processed(api: httpx.AsyncClient, document_id: str, attempts: int = 600) -> dict:
    for _ in range(attempts):
        body = (await api.get(f"/api/documents/{document_id}")).json()
        if body["status"] != "processing":
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"document {document_id} still processing")


async def metric_value(api: httpx.AsyncClient, name: str, **labels: str) -> float:  # noqa: D401
    """One sample from the service's own /metrics (0 if the series does not exist yet)."""
    for family in text_string_to_metric_families((await api.get("/metrics")).text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


async def eventually_metric(api: httpx.AsyncClient, expected: float, name: str, **labels: str) -> None:
    """Wait (up to 10 s) for a metric driven by background work to reach ``expected``."""
    for _ in range(200):
        if await metric_value(api, name, **labels) == expected:
            return
        await asyncio.sleep(0.05)
    assert await metric_value(api, name, **labels) == expected, (name, labels)
