"""A zero-latency Ollama-protocol server, for measuring gateways rather than inference.

    python -m bench.zero_ollama --port 11500

It answers as Ollama does — ``/api/chat``, ``/api/generate`` and ``/api/embed`` (streamed NDJSON or
not), ``/v1/chat/completions`` (SSE or not), ``/api/tags``, ``/api/ps``, ``/api/show``, ``/api/version``
— with canned bodies built once at start-up, so each request costs only HTTP parsing and a write. A
raw ASGI app on uvicorn: no framework between the socket and the answer.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn

from tsa.asgi import read_body

TOKENS = [f"token{n} " for n in range(16)]
MODELS = ("bench-chat:latest", "bench-embed:latest")
STATS = {"total_duration": 1000, "load_duration": 0, "prompt_eval_count": 8, "prompt_eval_duration": 100,
         "eval_count": len(TOKENS), "eval_duration": 900}
CREATED_AT = "2026-11-30T00:00:00Z"

Send = Callable[[dict[str, Any]], Awaitable[None]]


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _chat_lines(key: str, field: Callable[[str], object]) -> bytes:
    lines = [_json({"model": "bench-chat", "created_at": CREATED_AT, key: field(t), "done": False}) for t in TOKENS]
    lines.append(_json({"model": "bench-chat", "created_at": CREATED_AT, key: field(""), "done": True,
                        "done_reason": "stop", **STATS}))
    return b"".join(line + b"\n" for line in lines)


def _openai_stream() -> bytes:
    def chunk(delta: dict[str, str], finish: str | None) -> bytes:
        body = {"id": "chatcmpl-0", "object": "chat.completion.chunk", "created": 1796000000, "model": "bench-chat",
                "system_fingerprint": "fp_ollama",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return b"data: " + _json(body) + b"\n\n"

    parts = [chunk({"role": "assistant", "content": t}, None) for t in TOKENS]
    parts.append(chunk({"role": "assistant", "content": ""}, "stop"))
    return b"".join(parts) + b"data: [DONE]\n\n"


ANSWER = "".join(TOKENS)
VECTOR = [round(1 / 384 ** 0.5, 6)] * 384
BODIES: dict[tuple[str, bool], tuple[bytes, bytes]] = {
    ("/api/chat", False): (b"application/json", _json({
        "model": "bench-chat", "created_at": CREATED_AT, "message": {"role": "assistant", "content": ANSWER},
        "done": True, "done_reason": "stop", **STATS})),
    ("/api/chat", True): (b"application/x-ndjson",
                          _chat_lines("message", lambda t: {"role": "assistant", "content": t})),
    ("/api/generate", False): (b"application/json", _json({
        "model": "bench-chat", "created_at": CREATED_AT, "response": ANSWER, "done": True, "done_reason": "stop",
        **STATS})),
    ("/api/generate", True): (b"application/x-ndjson", _chat_lines("response", lambda t: t)),
    ("/v1/chat/completions", False): (b"application/json", _json({
        "id": "chatcmpl-0", "object": "chat.completion", "created": 1796000000, "model": "bench-chat",
        "system_fingerprint": "fp_ollama",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 8, "completion_tokens": len(TOKENS), "total_tokens": 8 + len(TOKENS)}})),
    ("/v1/chat/completions", True): (b"text/event-stream", _openai_stream()),
    ("/api/tags", False): (b"application/json", _json({"models": [
        {"name": m, "model": m, "modified_at": CREATED_AT, "size": 1, "digest": "0" * 64,
         "details": {"format": "gguf", "family": "bench", "parameter_size": "0", "quantization_level": "none"}}
        for m in MODELS]})),
    ("/api/ps", False): (b"application/json", _json({"models": [
        {"name": m, "model": m, "size": 1, "digest": "0" * 64, "expires_at": "2099-01-01T00:00:00Z",
         "size_vram": 0} for m in MODELS]})),
    ("/api/show", False): (b"application/json", _json({
        "modelfile": "", "parameters": "", "template": "{{ .Prompt }}",
        "details": {"format": "gguf", "family": "bench", "parameter_size": "0", "quantization_level": "none"},
        "model_info": {}, "capabilities": ["completion"]})),
    ("/api/version", False): (b"application/json", _json({"version": "0.12.0"})),
    ("/", False): (b"text/plain", b"Ollama is running"),
}


def _wants_stream(path: str, body: bytes) -> bool:
    """Ollama streams unless told not to; the OpenAI API streams only when asked."""
    if not body:
        return False
    try:
        stream = json.loads(body).get("stream")
    except ValueError:
        return False
    return bool(stream) if path.startswith("/v1/") else stream is not False


async def app(scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]], send: Send) -> None:
    if scope["type"] != "http":
        return
    body = await read_body(receive)
    path = scope["path"]
    if path == "/api/embed":
        count = len(json.loads(body).get("input") or [""]) if body else 1
        found: tuple[bytes, bytes] | None = (b"application/json", _json(
            {"model": "bench-embed", "embeddings": [VECTOR] * count, "prompt_eval_count": count}))
    else:
        found = BODIES.get((path, _wants_stream(path, body))) or BODIES.get((path, False))
    status, (content_type, payload) = (200, found) if found else (404, (b"application/json", b'{"error":"not found"}'))
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, lifespan="off")


if __name__ == "__main__":
    main()
