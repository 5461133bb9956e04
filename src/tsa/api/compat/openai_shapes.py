"""OpenAI's request and response shapes, translated to and from the fleet's Ollama terms. Pure."""

from __future__ import annotations

import base64
import json
import random
import struct
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from tsa.errors import InvalidRequest
from tsa.json_codec import dumps

# OpenAI sampling fields in Ollama's ``options`` vocabulary.
_OPTIONS = {"temperature": "temperature", "top_p": "top_p", "seed": "seed", "stop": "stop",
            "frequency_penalty": "frequency_penalty", "presence_penalty": "presence_penalty",
            "max_tokens": "num_predict", "max_completion_tokens": "num_predict"}


@dataclass(frozen=True)
class ChatCall:
    model: str
    messages: list[dict[str, Any]]
    options: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)  # format, tools: passed to the instance as they are
    stream: bool = False
    include_usage: bool = False


def _text_and_images(content: Any) -> tuple[str, list[str]]:
    """A message's content: a string, or OpenAI's list of parts (text, and images as data URLs)."""
    if content is None or isinstance(content, str):
        return content or "", []
    if not isinstance(content, list):
        raise InvalidRequest("message content must be a string or a list of parts")
    texts, images = [], []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            texts.append(str(part.get("text", "")))
        elif kind == "image_url":
            url = str((part.get("image_url") or {}).get("url", ""))
            if not url.startswith("data:") or "," not in url:
                raise InvalidRequest("images must be sent as base64 data URLs")
            images.append(url.split(",", 1)[1])
        else:
            raise InvalidRequest(f"unsupported content part {kind!r}")
    return "\n".join(texts), images


def ollama_messages(messages: Any) -> list[dict[str, Any]]:
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("messages must be a non-empty list")
    converted = []
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise InvalidRequest("every message needs a role")
        text, images = _text_and_images(message.get("content"))
        out: dict[str, Any] = {"role": message["role"], "content": text}
        if images:
            out["images"] = images
        if message.get("tool_calls"):
            out["tool_calls"] = [{"function": {"name": c["function"]["name"],
                                               "arguments": _arguments(c["function"].get("arguments"))}}
                                 for c in message["tool_calls"]]
        converted.append(out)
    return converted


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def options_of(body: dict[str, Any]) -> dict[str, Any]:
    return {ours: body[theirs] for theirs, ours in _OPTIONS.items() if body.get(theirs) is not None}


def chat_call(body: Any) -> ChatCall:
    if not isinstance(body, dict) or not isinstance(body.get("model"), str) or not body["model"]:
        raise InvalidRequest("a model is required")
    extra: dict[str, Any] = {}
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_object":
        extra["format"] = "json"
    elif response_format.get("type") == "json_schema":
        extra["format"] = (response_format.get("json_schema") or {}).get("schema", "json")
    if body.get("tools"):
        extra["tools"] = body["tools"]
    stream_options = body.get("stream_options") or {}
    return ChatCall(body["model"], ollama_messages(body.get("messages")), options_of(body), extra,
                    bool(body.get("stream")), bool(stream_options.get("include_usage")))


def finish_reason(chunk: dict[str, Any]) -> str:
    if chunk.get("message", {}).get("tool_calls"):
        return "tool_calls"
    return "length" if chunk.get("done_reason") == "length" else "stop"


def usage(final: dict[str, Any]) -> dict[str, int]:
    prompt, completion = int(final.get("prompt_eval_count") or 0), int(final.get("eval_count") or 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def manuals_fields(final: dict[str, Any]) -> dict[str, Any]:
    """What the manuals model adds to its last chunk, for integrations (clients ignore it)."""
    return {k: final[k] for k in ("tsa_sources", "tsa_grounding") if k in final}


def tool_calls(chunk: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
             "function": {"name": c["function"]["name"], "arguments": json.dumps(c["function"].get("arguments", {}))}}
            for c in chunk.get("message", {}).get("tool_calls") or []]


# Marks where a chunk's text goes in a template (a NUL, which JSON writes escaped).
_HOLE = "\x00"
_HOLE_JSON = dumps(_HOLE)


@dataclass
class Completion:
    """Ids and the clock of one response, shared by its chunks."""

    model: str
    kind: str = "chat.completion"
    # 96 random bits, as OpenAI's ids have; not a secret, so from the fast generator.
    id: str = field(default_factory=lambda: f"chatcmpl-{random.getrandbits(96):024x}")
    created: int = field(default_factory=lambda: int(time.time()))
    _content_template: list[bytes] | None = field(default=None, init=False, repr=False)

    def content_json(self, text: str) -> bytes:
        """``chat_chunk({"content": text})`` as JSON, filled into a template made once per response
        rather than built and encoded whole: a stream sends one per token."""
        if self._content_template is None:
            self._content_template = dumps(self.chat_chunk({"content": _HOLE})).split(_HOLE_JSON)
        before, after = self._content_template
        return before + dumps(text) + after

    def head(self, kind: str | None = None) -> dict[str, Any]:
        return {"id": self.id, "object": kind or self.kind, "created": self.created, "model": self.model}

    def chat_chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**self.head("chat.completion.chunk"),
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    def chat_whole(self, text: str, final: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if calls := tool_calls(final):
            message["tool_calls"] = calls
        return {**self.head(), "choices": [{"index": 0, "message": message, "logprobs": None,
                                            "finish_reason": finish_reason(final)}], "usage": usage(final)}

    def text_chunk(self, text: str, finish: str | None = None) -> dict[str, Any]:
        return {**self.head("text_completion"),
                "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish}]}


def embedding_inputs(body: Any) -> tuple[str, list[str], str]:
    if not isinstance(body, dict) or not isinstance(body.get("model"), str) or not body["model"]:
        raise InvalidRequest("a model is required")
    texts = body.get("input")
    texts = [texts] if isinstance(texts, str) else texts
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise InvalidRequest("input must be a string or a non-empty list of strings (token arrays are not accepted)")
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise InvalidRequest("encoding_format must be float or base64")
    return body["model"], texts, encoding


def encoded(vector: list[float], encoding: str) -> list[float] | str:
    """``base64``: the float32 little-endian bytes, as the ``openai`` client decodes them."""
    if encoding == "float":
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def error_body(message: str, status: int) -> dict[str, Any]:
    kinds = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
             404: "invalid_request_error", 422: "invalid_request_error", 429: "rate_limit_error"}
    codes = {404: "model_not_found", 429: "rate_limit_exceeded"}
    return {"error": {"message": message, "type": kinds.get(status, "server_error"), "param": None,
                      "code": codes.get(status)}}
