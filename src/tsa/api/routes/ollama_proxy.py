"""The fleet behind Ollama's own API: point any Ollama client at tsa and its calls are balanced.

``/api/generate``, ``/api/chat``, ``/api/embed``, ``/api/embeddings``, ``/api/show``, ``/api/ps`` and
``/api/tags`` behave as on one Ollama server (errors as ``{"error": "..."}``), but each call goes to
the best instance of the fleet (``ps`` and ``tags`` answer for all of it).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from tsa.access import Principal
from tsa.api.auth import Admin, Viewer, ViewerOnly
from tsa.api.compat import manuals
from tsa.api.compat.errors import in_own_shape
from tsa.api.compat.observe import Observed
from tsa.api.deps import ContainerDep
from tsa.api.errors import documented
from tsa.container import Container
from tsa.api.streaming import SettledJSONResponse, SettledStreamingResponse, closing, while_connected
from tsa.errors import InvalidRequest, TSAError, UnknownModel
from tsa.fleet.stream import Batch, ChatStream, collect
from tsa.json_codec import dumps

router = APIRouter()
_OLLAMA_ERROR = {"content": {"application/json": {"schema": {
    "type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}}}}
# Access errors come before the route and keep the service's shape; the route's own errors are Ollama's.
_ERRORS: dict[int | str, dict[str, Any]] = {**documented(401, 403, 429), **{
    status: {**_OLLAMA_ERROR, "description": text} for status, text in (
        (400, "Malformed request"), (404, "Unknown model"), (502, "An instance answered with an error"),
        (503, "No instance could take the call"))}}


def _body_schema(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI for a body these routes read themselves (Ollama's own, so extra fields pass through)."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": required, "properties": properties}}}}}


_MODEL = {"type": "string", "minLength": 1}
_EMBED_BODY = _body_schema(["model"], {"model": _MODEL, "input": {
    "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}})
_EMBEDDINGS_BODY = _body_schema(["model"], {"model": _MODEL, "prompt": {"type": "string"}})
_CHAT_BODY = _body_schema(["model"], {"model": _MODEL, "stream": {"type": "boolean"}, "messages": {
    "type": "array", "items": {"type": "object", "required": ["role", "content"], "properties": {
        "role": {"type": "string"}, "content": {"type": "string"}}}}, "options": {"type": "object"}})
_PASSED_THROUGH = ("keep_alive", "format", "tools", "think")
# What /api/tags says of the manuals models: clients show the family and format next to each name.
MANUALS_DETAILS = {"format": "rag", "family": "tsa", "families": ["tsa"], "parameter_size": "", "quantization_level": ""}
MANUALS_MODIFIED_AT = "1970-01-01T00:00:00Z"


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        raise InvalidRequest("the request body is not valid JSON") from None


def _checked(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("model"), str) or not body["model"]:
        raise InvalidRequest("a model is required")
    if not isinstance(body.get("options") or {}, dict):
        raise InvalidRequest("options must be an object")
    if not isinstance(body.get("stream", True), bool):
        raise InvalidRequest("stream must be true or false")
    return body


async def _ollama_errors(handler: Callable[[], Awaitable[Response]], principal: Principal, observed: Observed
                         ) -> Response:
    return await in_own_shape(handler, principal, observed, lambda message, _: {"error": message})


@router.post("/api/embed", responses=_ERRORS, openapi_extra=_EMBED_BODY)
async def embed(request: Request, container: ContainerDep, principal: Viewer) -> Response:
    return await answer_embed(request, container, principal, None)


async def answer_embed(request: Request, container: Container, principal: Principal, body: Any) -> Response:
    observed = Observed("ollama", "embed", "unknown")

    async def handle() -> Response:
        nonlocal body
        body = _checked(await _json(request) if body is None else body)
        observed.model = body["model"]
        texts = body.get("input", "")
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise InvalidRequest("input must be a string or a list of strings")
        result = await container.fleet.embed(body["model"], texts)
        observed.end("ok")
        return JSONResponse({"model": body["model"], "embeddings": result.embeddings})

    return await _ollama_errors(handle, principal, observed)


@router.post("/api/embeddings", responses=_ERRORS, openapi_extra=_EMBEDDINGS_BODY)
async def embeddings(request: Request, container: ContainerDep, principal: Viewer) -> Response:
    return await answer_embeddings(request, container, principal, None)


async def answer_embeddings(request: Request, container: Container, principal: Principal, body: Any) -> Response:
    observed = Observed("ollama", "embeddings", "unknown")

    async def handle() -> Response:
        nonlocal body
        body = _checked(await _json(request) if body is None else body)
        observed.model = body["model"]
        result = await container.fleet.embed(body["model"], [str(body.get("prompt", ""))])
        observed.end("ok")
        return JSONResponse({"embedding": result.embeddings[0]})

    return await _ollama_errors(handle, principal, observed)


@router.post("/api/chat", responses={
    200: {"description": "NDJSON stream (default) or one JSON object with `stream: false`",
          "content": {"application/x-ndjson": {"schema": {"type": "string"}},
                      "application/json": {"schema": {"type": "object"}}}}, **_ERRORS},
    openapi_extra=_CHAT_BODY)
async def chat(request: Request, container: ContainerDep, principal: Viewer) -> Response:
    return await answer_chat(request, container, principal, None)


async def answer_chat(request: Request, container: Container, principal: Principal, body: Any) -> Response:
    observed = Observed("ollama", "chat", "unknown")

    async def handle() -> Response:
        nonlocal body
        body = _checked(await _json(request) if body is None else body)
        observed.model = body["model"]
        messages = body.get("messages", [])
        if not isinstance(messages, list):
            raise InvalidRequest("messages must be a list")
        extra = {k: body[k] for k in _PASSED_THROUGH if k in body}
        stream = await manuals.open_chat(container, principal, request, body["model"], messages,
                                         body.get("options") or {}, extra)
        return await _answered(request, stream, observed, body.get("stream", True))

    return await _ollama_errors(handle, principal, observed)


_GENERATE_BODY = _body_schema(["model"], {"model": _MODEL, "prompt": {"type": "string"}, "system": {"type": "string"},
                                           "raw": {"type": "boolean"}, "stream": {"type": "boolean"},
                                           "options": {"type": "object"}})


@router.post("/api/generate", responses={
    200: {"description": "NDJSON stream (default) or one JSON object with `stream: false`",
          "content": {"application/x-ndjson": {"schema": {"type": "string"}},
                      "application/json": {"schema": {"type": "object"}}}}, **_ERRORS},
    openapi_extra=_GENERATE_BODY)
async def generate(request: Request, container: ContainerDep, principal: Viewer) -> Response:
    """Ollama's ``/api/generate`` on the best instance: every field the client sent (``prompt``,
    ``system``, ``raw``, ``format``, ``images``, ``options``, ``keep_alive``, …) goes through."""
    return await answer_generate(request, container, principal, None)


async def answer_generate(request: Request, container: Container, principal: Principal, body: Any) -> Response:
    observed = Observed("ollama", "generate", "unknown")

    async def handle() -> Response:
        nonlocal body
        body = _checked(await _json(request) if body is None else body)
        observed.model = body["model"]
        if not isinstance(body.get("prompt", ""), str):
            raise InvalidRequest("prompt must be a string")
        fields = {k: v for k, v in body.items() if k not in ("model", "stream")}
        stream = await container.fleet.open_generate(body["model"], fields)
        return await _answered(request, stream, observed, body.get("stream", True))

    return await _ollama_errors(handle, principal, observed)


@router.post("/api/show", responses=_ERRORS, openapi_extra=_body_schema(["model"], {"model": _MODEL}))
async def show(request: Request, container: ContainerDep, principal: Viewer) -> Response:
    """What an instance that has the model says of it (older clients send ``name``)."""
    observed = Observed("ollama", "show", "unknown")

    async def handle() -> Response:
        body = await _json(request)
        model = body.get("model") or body.get("name") if isinstance(body, dict) else None
        if not isinstance(model, str) or not model:
            raise InvalidRequest("a model is required")
        observed.model = model
        shown = await container.fleet.show(model)
        observed.end("ok")
        return JSONResponse(shown)

    return await _ollama_errors(handle, principal, observed)


def _model_and_instances(body: Any) -> tuple[str, list[str] | None]:
    model = (body.get("model") or body.get("name")) if isinstance(body, dict) else None
    if not isinstance(model, str) or not model:
        raise InvalidRequest("a model is required")
    names = body.get("instances")
    if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
        raise InvalidRequest("instances must be a list of instance names")
    return model, names or None


_PULL_BODY = _body_schema(["model"], {"model": _MODEL, "instances": {"type": "array", "items": {"type": "string"}},
                                      "stream": {"type": "boolean"}})


@router.post("/api/pull", responses={
    200: {"description": "NDJSON progress per instance (default) or one JSON object with `stream: false`",
          "content": {"application/x-ndjson": {"schema": {"type": "string"}},
                      "application/json": {"schema": {"type": "object"}}}}, **_ERRORS}, openapi_extra=_PULL_BODY)
async def pull(request: Request, container: ContainerDep, principal: Admin) -> Response:
    """Admin: pull a model onto every instance (or those named in ``instances``), streaming each
    instance's progress (lines carry ``instance``); whole, ``{"status", "instances": {name: status}}``
    with 502 when any failed."""
    observed = Observed("ollama", "pull", "unknown")

    async def handle() -> Response:
        body = await _json(request)
        model, names = _model_and_instances(body)
        if not isinstance(body.get("stream", True), bool):
            raise InvalidRequest("stream must be true or false")
        observed.model = model
        lines = container.fleet.pull(model, names)
        await container.access.audit.record("fleet.pull", principal, target=model, instances=names)
        if body.get("stream", True):
            observed.end("ok")
            return StreamingResponse(_ndjson_lines(lines), media_type="application/x-ndjson")
        ends, missing = {}, set()
        async for line in lines:
            if line.get("status") in ("success", "error"):
                ends[line["instance"]] = line.get("error") or "success"
                if line.get("not_found"):
                    missing.add(line["instance"])
        failed = sorted(name for name, end in ends.items() if end != "success")
        if failed and set(failed) == missing == set(ends):
            raise UnknownModel(f"model {model!r} not found for any instance to pull")
        observed.end("error" if failed else "ok")
        if failed:
            return JSONResponse({"error": f"pulling {model!r} failed on {', '.join(failed)}", "status": "error",
                                 "instances": ends}, status_code=502)
        return JSONResponse({"status": "success", "instances": ends})

    return await _ollama_errors(handle, principal, observed)


async def _ndjson_lines(lines: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    async with contextlib.aclosing(lines):  # type: ignore[type-var]
        async for line in lines:
            yield (json.dumps(line) + "\n").encode()


@router.delete("/api/delete", responses=_ERRORS, openapi_extra=_body_schema(["model"], {
    "model": _MODEL, "instances": {"type": "array", "items": {"type": "string"}}}))
async def delete(request: Request, container: ContainerDep, principal: Admin) -> Response:
    """Admin: delete a model from every instance (or those named): ``{"instances": {name: outcome}}``;
    404 when no instance had it."""
    observed = Observed("ollama", "delete", "unknown")

    async def handle() -> Response:
        body = await _json(request)
        model, names = _model_and_instances(body)
        observed.model = model
        said = await container.fleet.delete(model, names)
        await container.access.audit.record("fleet.delete_model", principal, target=model, instances=said)
        if "deleted" not in said.values():
            raise UnknownModel(f"model {model!r} not found on any instance")
        observed.end("ok")
        return JSONResponse({"instances": said})

    return await _ollama_errors(handle, principal, observed)


@router.get("/api/ps", dependencies=[ViewerOnly], responses=_ERRORS)
async def ps(container: ContainerDep) -> dict[str, Any]:
    """The models loaded across the fleet now."""
    return {"models": await container.fleet.loaded()}


async def _answered(request: Request, stream: ChatStream, observed: Observed, streamed: bool) -> Response:
    """A chat or generation as Ollama answers it: NDJSON as it comes, or one JSON object at its end."""
    batches = observed.batches(stream.batches)
    settle = closing(batches, stream)
    if streamed:
        return SettledStreamingResponse(_ndjson(batches), settle, media_type="application/x-ndjson")
    whole = await while_connected(request.receive, collect(batches), settle)
    return whole if isinstance(whole, Response) else SettledJSONResponse(whole, settle)


async def _ndjson(batches: AsyncIterator[Batch]) -> AsyncIterator[bytes]:
    """NDJSON lines, a write per batch, ending with the final chunk (the response settles the stream)."""
    try:
        async for batch in batches:
            yield b"".join([dumps(chunk) + b"\n" for chunk in batch])
            if batch[-1].get("done"):
                return
    except TSAError as exc:  # the 200 is gone: in-band, as Ollama does
        yield (json.dumps({"error": exc.message}) + "\n").encode()


@router.get("/api/tags", responses=_ERRORS)
async def tags(container: ContainerDep, principal: Viewer) -> dict[str, Any]:
    """The fleet's models (with what the instances say of them: size, digest, details), then the
    manuals as models (those the caller may read)."""
    manuals_entries = [{"name": n, "model": n, "modified_at": MANUALS_MODIFIED_AT, "size": 0, "digest": "",
                        "details": MANUALS_DETAILS} for n in await manuals.manuals_models(container, principal)]
    return {"models": container.fleet.listed() + manuals_entries}


@router.get("/api/version", dependencies=[ViewerOnly], responses=_ERRORS)
async def version() -> dict[str, str]:
    from tsa import __version__

    return {"version": __version__}
