"""The OpenAI-compatible subset Ollama also serves under /v1: models, embeddings, chat completions."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from tsa.engine.keep_alive import DEFAULT_KEEP_ALIVE_S
from tsa.engine.manager import ModelManager, ModelNotFound


def _error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": None}}, status_code=status)


def _options(body: dict[str, Any]) -> dict[str, Any]:
    """OpenAI sampling fields in Ollama's ``options`` vocabulary."""
    mapping = {"temperature": "temperature", "top_p": "top_p", "seed": "seed", "stop": "stop",
               "max_tokens": "num_predict", "max_completion_tokens": "num_predict"}
    return {ours: body[theirs] for theirs, ours in mapping.items() if body.get(theirs) is not None}


def create_openai_router(manager: ModelManager, generation_lines: Any, embed_counting: Any) -> APIRouter:
    router = APIRouter(prefix="/v1")

    @router.get("/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "tsa"}
                                           for name in manager.catalog]}

    @router.post("/embeddings")
    async def embeddings(request: Request) -> Response:
        body = await request.json()
        texts = body.get("input", "")
        texts = [texts] if isinstance(texts, str) else texts
        try:
            async with manager.use(str(body.get("model", "")), "embed", DEFAULT_KEEP_ALIVE_S) as (model, _):
                vectors, tokens = await asyncio.to_thread(embed_counting, model.backend, texts, True)
        except ModelNotFound as exc:
            return _error(404, str(exc), "not_found_error")
        except ValueError as exc:
            return _error(400, str(exc))
        return JSONResponse({"object": "list", "model": body["model"],
                             "data": [{"object": "embedding", "index": n, "embedding": v}
                                      for n, v in enumerate(vectors)],
                             "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    @router.post("/chat/completions")
    async def chat_completions(request: Request) -> Response:
        body = await request.json()
        name = str(body.get("model", ""))
        try:
            manager.spec(name)
        except ModelNotFound as exc:
            return _error(404, str(exc), "not_found_error")
        lines = generation_lines(manager, name, body.get("messages", []), _options(body), DEFAULT_KEEP_ALIVE_S,
                                 "chat")
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        if body.get("stream"):
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(_sse(lines, completion_id, name, usage), media_type="text/event-stream")
        parts, final = [], {}
        async for line in lines:
            parts.append(line["message"]["content"])
            final = line
        return JSONResponse({"id": completion_id, "object": "chat.completion", "created": int(time.time()),
                             "model": name, "choices": [{"index": 0, "finish_reason": _finish(final),
                                                         "message": {"role": "assistant", "content": "".join(parts)}}],
                             "usage": _usage(final)})

    return router


def _finish(final: dict[str, Any]) -> str:
    return "length" if final.get("done_reason") == "length" else "stop"


def _usage(final: dict[str, Any]) -> dict[str, int]:
    prompt, completion = final.get("prompt_eval_count", 0), final.get("eval_count", 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


async def _sse(lines: AsyncIterator[dict[str, Any]], completion_id: str, model: str,
               include_usage: bool) -> AsyncIterator[bytes]:
    def event(choices: list[dict[str, Any]], **more: Any) -> bytes:
        chunk = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()),
                 "model": model, "choices": choices, **more}
        return f"data: {json.dumps(chunk)}\n\n".encode()

    try:
        async for line in lines:
            if line.get("done"):
                yield event([{"index": 0, "delta": {}, "finish_reason": _finish(line)}])
                if include_usage:
                    yield event([], usage=_usage(line))
            else:
                yield event([{"index": 0, "delta": {"content": line["message"]["content"]},
                              "finish_reason": None}])
    except Exception as exc:  # the 200 is gone: report in-band
        yield f"data: {json.dumps({'error': {'message': str(exc), 'type': 'server_error'}})}\n\n".encode()
    yield b"data: [DONE]\n\n"
