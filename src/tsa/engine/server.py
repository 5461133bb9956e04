"""The local engine: an HTTP server speaking the subset of the Ollama API that tsa uses."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from tsa import __version__
from tsa.engine.backends import Generation, ModelSpec
from tsa.engine.faults import FaultInjector, Faults
from tsa.engine.keep_alive import FOREVER, parse_keep_alive
from tsa.engine.manager import LoadedModel, ModelManager, ModelNotFound
from tsa.engine.openai_api import create_openai_router
from tsa.engine.threads import iterate_in_thread


class Message(BaseModel):
    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""


class ChatRequest(BaseModel):
    model: str
    messages: list[Message] = Field(default_factory=list)
    stream: bool = True
    options: dict[str, Any] = Field(default_factory=dict)
    keep_alive: str | float | None = None
    format: Any = None


class GenerateRequest(BaseModel):
    model: str
    prompt: str = ""
    system: str | None = None
    stream: bool = True
    options: dict[str, Any] = Field(default_factory=dict)
    keep_alive: str | float | None = None


class ShowRequest(BaseModel):
    model: str | None = None
    name: str | None = None  # what older clients send


class EmbedRequest(BaseModel):
    model: str
    input: str | list[str]
    truncate: bool = True
    keep_alive: str | float | None = None
    dimensions: int | None = None


class LegacyEmbedRequest(BaseModel):
    model: str
    prompt: str
    keep_alive: str | float | None = None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _digest(spec: ModelSpec) -> str:
    return hashlib.sha256(spec.name.encode()).hexdigest()


def _details(spec: ModelSpec) -> dict[str, Any]:
    return {"format": "gguf" if spec.kind == "chat" else "safetensors", "family": spec.family,
            "families": [spec.family], "parameter_size": spec.parameter_size,
            "quantization_level": spec.quantization}


def _ps_entry(model: LoadedModel) -> dict[str, Any]:
    spec = model.spec
    expires = "2318-08-19T00:00:00Z" if model.expires_at == FOREVER else \
        datetime.fromtimestamp(model.expires_at, UTC).isoformat().replace("+00:00", "Z")
    return {"name": spec.name, "model": spec.name, "size": spec.size_bytes, "digest": _digest(spec),
            "details": _details(spec), "expires_at": expires, "size_vram": 0}


class JsonBodies:
    """Ollama reads every POST body as JSON whatever its content type (``curl -d`` sends a form type)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}
        await self.app(scope, receive, send)


def create_engine_app(manager: ModelManager, faults: Faults | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        reaper = asyncio.create_task(manager.reap_forever())
        yield
        reaper.cancel()

    app = FastAPI(title="tsa engine", lifespan=lifespan, docs_url=None, redoc_url=None)
    counters = Counter[str]()
    if faults is not None and faults.active:
        app.add_middleware(FaultInjector, faults=faults)
    app.add_middleware(JsonBodies)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return _error(400, f"invalid request: {where} {first['msg']}".replace("  ", " "))

    @app.exception_handler(ModelNotFound)
    async def _not_found(_: Request, exc: ModelNotFound) -> JSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(ValueError)
    async def _bad_value(_: Request, exc: ValueError) -> JSONResponse:
        return _error(400, str(exc))

    @app.exception_handler(Exception)
    async def _failed(_: Request, exc: Exception) -> JSONResponse:
        return _error(500, f"{type(exc).__name__}: {exc}")

    @app.get("/", response_class=PlainTextResponse)
    async def root() -> str:
        return "Ollama is running"

    @app.get("/api/version")
    async def version() -> dict[str, str]:
        return {"version": __version__}

    @app.get("/api/tags")
    async def tags() -> dict[str, Any]:
        return {"models": [
            {"name": s.name, "model": s.name, "modified_at": _now_iso(), "size": s.size_bytes,
             "digest": _digest(s), "details": _details(s)} for s in manager.catalog.values()]}

    @app.post("/api/show")
    async def show(body: ShowRequest) -> dict[str, Any]:
        spec = manager.spec(body.model or body.name or "")
        capabilities = ["completion"] if spec.kind == "chat" else ["embedding"]
        return {"modelfile": f"FROM {spec.name}\n", "parameters": "", "template": "{{ .Prompt }}",
                "details": _details(spec), "model_info": {"general.architecture": spec.family},
                "capabilities": capabilities, "modified_at": _now_iso()}

    @app.get("/api/ps")
    async def ps() -> dict[str, Any]:
        return {"models": [_ps_entry(m) for m in manager.loaded()]}

    app.include_router(create_openai_router(
        manager, lambda *args: _counted(_generation_lines(*args), counters), _embed_counting))

    @app.get("/api/engine/stats")
    async def engine_stats() -> dict[str, Any]:
        """Not part of Ollama's API: counts that let tests see cancellations and routing."""
        return {"counters": dict(counters)}

    @app.post("/api/pull")
    async def pull(body: ShowRequest) -> Response:
        """The engine's models ship in wheels: pulling one it has is done at once; others it cannot fetch."""
        spec = manager.spec(body.model or body.name or "")
        steps = [{"status": "pulling manifest"}, {"status": f"using {spec.name} from the installed package"},
                 {"status": "success"}]
        return Response("".join(json.dumps(step) + "\n" for step in steps), media_type="application/x-ndjson")

    @app.delete("/api/delete")
    async def delete(body: ShowRequest) -> Response:
        """Forgets the model for as long as this engine runs (the package stays installed)."""
        manager.forget(body.model or body.name or "")
        return Response(status_code=200)

    @app.post("/api/embed")
    async def embed(body: EmbedRequest) -> dict[str, Any]:
        counters["embed_requests"] += 1
        texts = [body.input] if isinstance(body.input, str) else body.input
        started = time.perf_counter_ns()
        async with manager.use(body.model, "embed", parse_keep_alive(body.keep_alive)) as (model, load_ns):
            vectors, tokens = await asyncio.to_thread(_embed_counting, model.backend, texts, body.truncate)
        if body.dimensions:
            vectors = [v[: body.dimensions] for v in vectors]
        return {"model": body.model, "embeddings": vectors, "total_duration": time.perf_counter_ns() - started,
                "load_duration": load_ns, "prompt_eval_count": tokens}

    @app.post("/api/embeddings")
    async def embeddings(body: LegacyEmbedRequest) -> dict[str, Any]:
        async with manager.use(body.model, "embed", parse_keep_alive(body.keep_alive)) as (model, _):
            vectors = await asyncio.to_thread(model.backend.embed, [body.prompt], True)
        return {"embedding": vectors[0]}

    @app.post("/api/chat")
    async def chat(body: ChatRequest) -> Any:
        messages = [m.model_dump() for m in body.messages]
        return await _respond(manager, body.model, messages, body.options, body.keep_alive, body.stream, "chat",
                              counters)

    @app.post("/api/generate")
    async def generate(body: GenerateRequest) -> Any:
        messages = ([{"role": "system", "content": body.system}] if body.system else []) + \
            [{"role": "user", "content": body.prompt}]
        return await _respond(manager, body.model, messages, body.options, body.keep_alive, body.stream, "generate",
                              counters)

    return app


def _embed_counting(backend: Any, texts: list[str], truncate: bool) -> tuple[list[list[float]], int]:
    return backend.embed(texts, truncate), sum(backend.count_tokens(t) for t in texts)


async def _respond(manager: ModelManager, name: str, messages: list[dict[str, str]], options: dict[str, Any],
                   keep_alive: object, stream: bool, shape: str, counters: Counter[str]) -> Any:
    manager.spec(name)  # unknown model → 404 before any streaming starts
    keep_alive_s = parse_keep_alive(keep_alive)
    lines = _counted(_generation_lines(manager, name, messages, options, keep_alive_s, shape), counters)
    if stream:
        return StreamingResponse(_ndjson(lines), media_type="application/x-ndjson")
    parts: list[str] = []
    final: dict[str, Any] = {}
    async for line in lines:
        if line.get("done"):
            final = line
        else:
            parts.append(line["message"]["content"] if shape == "chat" else line["response"])
    if shape == "chat":
        final["message"] = {"role": "assistant", "content": "".join(parts)}
    else:
        final["response"] = "".join(parts)
    return final


async def _counted(lines: AsyncIterator[dict[str, Any]], counters: Counter[str]) -> AsyncIterator[dict[str, Any]]:
    counters["generations_started"] += 1
    finished = False
    try:
        async for line in lines:
            finished = bool(line.get("done"))
            yield line
    finally:
        counters["generations_completed" if finished else "generations_interrupted"] += 1
        await lines.aclose()


async def _ndjson(lines: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    try:
        async for line in lines:
            yield (json.dumps(line) + "\n").encode()
    except Exception as exc:  # after the 200 went out, errors travel in-band as Ollama does
        yield (json.dumps({"error": str(exc)}) + "\n").encode()


async def _generation_lines(manager: ModelManager, name: str, messages: list[dict[str, str]],
                            options: dict[str, Any], keep_alive_s: float, shape: str) -> AsyncIterator[dict[str, Any]]:
    started = time.perf_counter_ns()
    stats = Generation()

    def piece(text: str, done: bool) -> dict[str, Any]:
        line: dict[str, Any] = {"model": name, "created_at": _now_iso()}
        if shape == "chat":
            line["message"] = {"role": "assistant", "content": text}
        else:
            line["response"] = text
        line["done"] = done
        return line

    async with manager.use(name, "chat", keep_alive_s) as (model, load_ns):
        tokens = iterate_in_thread(lambda cancelled: model.backend.chat(messages, options, cancelled, stats))
        try:
            async for text in tokens:
                yield piece(text, False)
        finally:
            await tokens.aclose()
    final = piece("", True)
    final.update(done_reason=stats.done_reason, total_duration=time.perf_counter_ns() - started,
                 load_duration=load_ns, prompt_eval_count=stats.prompt_eval_count,
                 prompt_eval_duration=stats.prompt_eval_duration, eval_count=stats.eval_count,
                 eval_duration=stats.eval_duration)
    yield final
