"""OpenAI's API in front of the fleet: ``/v1/chat/completions``, ``/v1/completions``,
``/v1/embeddings``, ``/v1/models``. Requests become the fleet's Ollama calls, so balancing, queueing,
failover, stall detection and cancellation apply unchanged; errors come in OpenAI's shape."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from tsa.access import Principal
from tsa.api.auth import Viewer
from tsa.api.compat import manuals
from tsa.api.compat.errors import in_own_shape
from tsa.api.compat.observe import Observed
from tsa.api.compat.openai_shapes import (Completion, chat_call, embedding_inputs, encoded, error_body, finish_reason,
                                          manuals_fields, options_of, tool_calls, usage)
from tsa.api.deps import ContainerDep
from tsa.api.errors import documented
from tsa.container import Container
from tsa.api.streaming import SettledJSONResponse, SettledStreamingResponse, closing, while_connected
from tsa.errors import InvalidRequest, TSAError
from tsa.fleet.stream import Batch, collect
from tsa.json_codec import dumps

router = APIRouter(prefix="/v1")
_OPENAI_ERROR = {"content": {"application/json": {"schema": {"type": "object", "required": ["error"], "properties": {
    "error": {"type": "object", "required": ["message", "type"], "properties": {
        "message": {"type": "string"}, "type": {"type": "string"}, "code": {"type": ["string", "null"]}}}}}}}}
_ERRORS: dict[int | str, dict[str, Any]] = {**documented(401, 403, 429), **{
    status: {**_OPENAI_ERROR, "description": text} for status, text in (
        (400, "Malformed request"), (404, "Unknown model"), (502, "An instance answered with an error"),
        (503, "No instance could take the call"))}}
_ANY_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["model"], "properties": {"model": {"type": "string", "minLength": 1}}}}}}}


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        raise InvalidRequest("the request body is not valid JSON") from None


async def _openai_errors(handler: Callable[[], Awaitable[Response]], principal: Principal, observed: Observed
                         ) -> Response:
    return await in_own_shape(handler, principal, observed, error_body)


def _sse(payload: dict[str, Any] | str) -> bytes:
    return b"data: " + (payload.encode() if isinstance(payload, str) else dumps(payload)) + b"\n\n"


_DONE = _sse("[DONE]")


@router.get("/models", responses=_ERRORS)
async def models(container: ContainerDep, principal: Viewer) -> dict[str, Any]:
    names = sorted({m for i in container.fleet.instances for m in (i.models_available or ())})
    names += await manuals.manuals_models(container, principal)
    return {"object": "list", "data": [{"id": n, "object": "model", "created": 0, "owned_by": "tsa"} for n in names]}


@router.post("/chat/completions", responses=_ERRORS, openapi_extra=_ANY_BODY)
async def chat_completions(request: Request, container: ContainerDep, principal: Viewer) -> Response:
    return await answer_chat_completions(request, container, principal, None)


async def answer_chat_completions(request: Request, container: Container, principal: Principal, body: Any) -> Response:
    observed = Observed("openai", "chat_completions", "unknown")

    async def handle() -> Response:
        call = chat_call(await _json(request) if body is None else body)
        observed.model = call.model
        stream = await manuals.open_chat(container, principal, request, call.model, call.messages, call.options,
                                         call.extra)
        reply = Completion(call.model)
        batches = observed.batches(stream.batches)
        settle = closing(batches, stream)
        if call.stream:
            return SettledStreamingResponse(_chat_events(batches, reply, call.include_usage), settle,
                                            media_type="text/event-stream")
        async def whole() -> Response:
            final = await collect(batches)
            return SettledJSONResponse({**reply.chat_whole(final["message"]["content"], final),
                                        **manuals_fields(final)}, settle)

        return await while_connected(request.receive, whole(), settle)

    return await _openai_errors(handle, principal, observed)


async def _chat_events(batches: AsyncIterator[Batch], reply: Completion, include_usage: bool) -> AsyncIterator[bytes]:
    """The SSE events of each batch, written together; the opening event goes with the first."""
    opening = [_sse(reply.chat_chunk({"role": "assistant", "content": ""}))]
    try:
        async for batch in batches:
            events, opening = opening, []
            for chunk in batch:
                message = chunk.get("message") or {}
                if text := message.get("content"):
                    events.append(b"data: " + reply.content_json(text) + b"\n\n")
                if message.get("tool_calls"):
                    calls = [{**call, "index": n} for n, call in enumerate(tool_calls(chunk))]
                    events.append(_sse(reply.chat_chunk({"tool_calls": calls})))
                if chunk.get("done"):
                    events.append(_sse({**reply.chat_chunk({}, finish_reason(chunk)), **manuals_fields(chunk)}))
                    if include_usage:
                        head = reply.head("chat.completion.chunk")
                        events.append(_sse({**head, "choices": [], "usage": usage(chunk)}))
                    events.append(_DONE)
            yield b"".join(events)
            if batch[-1].get("done"):
                return  # the response settles the stream
    except TSAError as exc:  # the 200 is gone: in-band, as OpenAI-compatible servers do
        yield b"".join([*opening, _sse(error_body(exc.message, exc.status))])


@router.post("/completions", responses=_ERRORS, openapi_extra=_ANY_BODY)
async def completions(request: Request, container: ContainerDep, principal: Viewer) -> Response:
    return await answer_completions(request, container, principal, None)


async def answer_completions(request: Request, container: Container, principal: Principal, body: Any) -> Response:
    observed = Observed("openai", "completions", "unknown")

    async def handle() -> Response:
        nonlocal body
        body = await _json(request) if body is None else body
        if not isinstance(body, dict) or not isinstance(body.get("model"), str) or not body["model"]:
            raise InvalidRequest("a model is required")
        observed.model = body["model"]
        prompt = body.get("prompt", "")
        if not isinstance(prompt, str):
            raise InvalidRequest("prompt must be a string")
        stream = await container.fleet.open_generate(body["model"], {"prompt": prompt, "raw": True,
                                                                     "options": options_of(body)})
        reply = Completion(body["model"], "text_completion")
        batches = observed.batches(stream.batches)
        settle = closing(batches, stream)
        if body.get("stream"):
            return SettledStreamingResponse(_text_events(batches, reply), settle, media_type="text/event-stream")
        async def whole() -> Response:
            final = await collect(batches)
            return SettledJSONResponse({**reply.text_chunk(final["response"], finish_reason(final)),
                                        "usage": usage(final)}, settle)

        return await while_connected(request.receive, whole(), settle)

    return await _openai_errors(handle, principal, observed)


async def _text_events(batches: AsyncIterator[Batch], reply: Completion) -> AsyncIterator[bytes]:
    try:
        async for batch in batches:
            events = []
            for chunk in batch:
                if text := chunk.get("response"):
                    events.append(_sse(reply.text_chunk(text)))
                if chunk.get("done"):
                    events += [_sse(reply.text_chunk("", finish_reason(chunk))), _DONE]
            yield b"".join(events)
            if batch[-1].get("done"):
                return  # the response settles the stream
    except TSAError as exc:
        yield _sse(error_body(exc.message, exc.status))


@router.post("/embeddings", responses=_ERRORS, openapi_extra=_ANY_BODY)
async def embeddings(request: Request, container: ContainerDep, principal: Viewer) -> Response:
    return await answer_embeddings(request, container, principal, None)


async def answer_embeddings(request: Request, container: Container, principal: Principal, body: Any) -> Response:
    observed = Observed("openai", "embeddings", "unknown")

    async def handle() -> Response:
        model, texts, encoding = embedding_inputs(await _json(request) if body is None else body)
        observed.model = model
        result = await container.fleet.embed(model, texts)
        tokens = sum(len(t.split()) for t in texts)  # the fleet does not report counts; words stand in
        observed.end("ok", tokens_in=tokens)
        return JSONResponse({"object": "list", "model": model, "data": [
            {"object": "embedding", "index": n, "embedding": encoded(v, encoding)}
            for n, v in enumerate(result.embeddings)], "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    return await _openai_errors(handle, principal, observed)
