"""Client for an OpenAI-compatible server (vLLM, llama.cpp's server, Ollama's /v1), speaking to the
fleet in the Ollama client's terms: same methods, Ollama-shaped stream chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from tsa.errors import BackendError
from tsa.fleet.client import Embeddings, HttpBackend, read_to_end
from tsa.json_codec import loads

_OPTION_NAMES = {"temperature": "temperature", "top_p": "top_p", "seed": "seed", "stop": "stop",
                 "num_predict": "max_tokens"}


class OpenAIClient(HttpBackend):
    async def version(self) -> str:
        await self._get_json("/v1/models")
        return "openai-compatible"

    async def tags(self) -> list[dict[str, Any]]:
        """Its models as ``/api/tags`` entries (only names: ``/v1/models`` says no more)."""
        return [{"name": m["id"], "model": m["id"]} for m in (await self._get_json("/v1/models")).get("data", [])]

    async def ps(self) -> list[dict[str, Any]]:
        # Such servers keep their models loaded: every model they list counts as warm.
        return [{"name": entry["name"]} for entry in await self.tags()]

    async def embed(self, model: str, inputs: list[str]) -> Embeddings:
        body = await self._post_json("/v1/embeddings", {"model": model, "input": inputs}, model)
        data = sorted(body.get("data", []), key=lambda d: d.get("index", 0))
        if len(data) != len(inputs):
            raise BackendError(f"{self.base_url} returned a malformed /v1/embeddings body")
        return Embeddings([d["embedding"] for d in data], 0.0)

    async def pull(self, model: str) -> AsyncIterator[dict[str, Any]]:
        raise BackendError("an OpenAI-compatible server cannot pull models through this API")
        yield {}  # pragma: no cover - makes this an async generator

    async def delete(self, model: str) -> None:
        raise BackendError("an OpenAI-compatible server cannot delete models through this API")

    async def show(self, model: str) -> dict[str, Any]:
        """What an OpenAI-compatible server says of a model, in ``/api/show``'s shape."""
        body = await self._get_json(f"/v1/models/{model}")
        return {"modelfile": "", "parameters": "", "template": "", "details": {"format": "", "family": "",
                "parameter_size": "", "quantization_level": ""}, "model_info": {"owned_by": body.get("owned_by")}}

    def chat_batches(self, model: str, messages: list[dict[str, Any]], options: dict[str, Any] | None = None,
                     extra: dict[str, Any] | None = None) -> AsyncIterator[list[dict[str, Any]]]:
        """Chat completions over SSE, as Ollama ``/api/chat`` chunks, a list per network read."""
        payload: dict[str, Any] = {"model": model, "messages": messages}
        return self._completions("/v1/chat/completions", payload, model, options,
                                 lambda text: {"message": {"role": "assistant", "content": text}})

    def generate_batches(self, model: str, request: dict[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
        """Ollama's ``/api/generate`` as a text completion; a ``system`` prompt goes before the prompt
        unless the request is ``raw``."""
        prompt = str(request.get("prompt", ""))
        if request.get("system") and not request.get("raw"):
            prompt = f"{request['system']}\n\n{prompt}"
        return self._completions("/v1/completions", {"model": model, "prompt": prompt}, model,
                                 request.get("options"), lambda text: {"response": text})

    async def _completions(self, path: str, payload: dict[str, Any], model: str, options: dict[str, Any] | None,
                           shape: Any) -> AsyncIterator[list[dict[str, Any]]]:
        payload = {**payload, "stream": True, "stream_options": {"include_usage": True}}
        payload.update({ours: (options or {})[theirs] for theirs, ours in _OPTION_NAMES.items()
                        if theirs in (options or {}) and (options or {})[theirs] is not None})
        finish, usage = None, {}
        async with self._stream_lines(path, payload, model) as reads:
            async for lines in reads:
                batch: list[dict[str, Any]] = []
                for line in lines:
                    if not line.startswith(b"data:"):
                        continue
                    data = line[5:].strip()
                    if data == b"[DONE]":
                        try:
                            yield [*batch, {"model": model, **shape(""), "done": True,
                                            "done_reason": "length" if finish == "length" else "stop",
                                            "prompt_eval_count": usage.get("prompt_tokens", 0),
                                            "eval_count": usage.get("completion_tokens", 0)}]
                        finally:
                            await read_to_end(reads)  # consumers close us after the final chunk
                        return
                    chunk = loads(data)
                    if "error" in chunk:
                        if batch:
                            yield batch  # what came before it, first
                        raise BackendError(f"{self.base_url}: {chunk['error']}")
                    usage = chunk.get("usage") or usage
                    for choice in chunk.get("choices", []):
                        finish = choice.get("finish_reason") or finish
                        text = (choice.get("delta") or {}).get("content") or choice.get("text")
                        if text:
                            batch.append({"model": model, **shape(text), "done": False})
                if batch:
                    yield batch
        raise BackendError(f"{self.base_url} ended the stream without [DONE]")
