"""The fleet behind Ollama's own API: point any Ollama client at tsa and its calls are balanced.

``/api/embed``, ``/api/embeddings``, ``/api/chat`` and ``/api/tags`` behave as on one Ollama
server (errors as ``{"error": "..."}``), but each call goes to the best instance of the fleet.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from tsa.api.deps import ContainerDep
from tsa.api.streaming import SettledStreamingResponse
from tsa.errors import InvalidRequest, TSAError

router = APIRouter()
_PASSED_THROUGH = ("keep_alive", "format", "tools", "think")


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise InvalidRequest("the request body is not valid JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("model"), str) or not body["model"]:
        raise InvalidRequest("a model is required")
    return body


async def _ollama_errors(handler: Callable[[], Awaitable[Response]]) -> Response:
    """Ollama clients expect ``{"error": "message"}``; keep the status and Retry-After."""
    try:
        return await handler()
    except TSAError as exc:
        retry_after = getattr(exc, "retry_after_s", None)
        return JSONResponse({"error": exc.message}, status_code=exc.status,
                            headers={"Retry-After": str(retry_after)} if retry_after is not None else None)


@router.post("/api/embed")
async def embed(request: Request, container: ContainerDep) -> Response:
    async def handle() -> Response:
        body = await _body(request)
        texts = body.get("input", "")
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise InvalidRequest("input must be a string or a list of strings")
        result = await container.fleet.embed(body["model"], texts)
        return JSONResponse({"model": body["model"], "embeddings": result.embeddings})

    return await _ollama_errors(handle)


@router.post("/api/embeddings")
async def embeddings(request: Request, container: ContainerDep) -> Response:
    async def handle() -> Response:
        body = await _body(request)
        result = await container.fleet.embed(body["model"], [str(body.get("prompt", ""))])
        return JSONResponse({"embedding": result.embeddings[0]})

    return await _ollama_errors(handle)


@router.post("/api/chat")
async def chat(request: Request, container: ContainerDep) -> Response:
    async def handle() -> Response:
        body = await _body(request)
        messages = body.get("messages", [])
        if not isinstance(messages, list):
            raise InvalidRequest("messages must be a list")
        extra = {k: body[k] for k in _PASSED_THROUGH if k in body}
        stream = await container.fleet.open_chat(body["model"], messages, body.get("options") or {}, extra=extra)
        if body.get("stream", True):
            return SettledStreamingResponse(_ndjson(stream.chunks), stream.aclose,
                                            media_type="application/x-ndjson")
        return JSONResponse(await _collect(stream.chunks))

    return await _ollama_errors(handle)


async def _ndjson(chunks: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            yield (json.dumps(chunk) + "\n").encode()
    except TSAError as exc:  # the 200 is gone: in-band, as Ollama does
        yield (json.dumps({"error": exc.message}) + "\n").encode()
    finally:
        await chunks.aclose()


async def _collect(chunks: AsyncIterator[dict[str, Any]]) -> dict[str, Any]:
    parts: list[str] = []
    final: dict[str, Any] = {}
    async for chunk in chunks:
        parts.append(chunk.get("message", {}).get("content", ""))
        final = chunk
    final["message"] = {"role": "assistant", "content": "".join(parts)}
    return final


@router.get("/api/tags")
async def tags(container: ContainerDep) -> dict[str, Any]:
    names = sorted({m for i in container.fleet.instances for m in (i.models_available or ())})
    return {"models": [{"name": n, "model": n} for n in names]}


@router.get("/api/version")
async def version() -> dict[str, str]:
    from tsa import __version__

    return {"version": __version__}
