"""The one settings object, read once at start-up and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Service configuration from the environment (names match the original deployment).

    Unset ``DATABASE_URL``, ``REDIS_URL`` or ``OLLAMA_INSTANCES`` means "start the
    embedded one under ``TSA_HOME``"; the application code path is the same.
    """

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    database_url: str | None = None
    redis_url: str | None = None
    ollama_instances: Annotated[list[str], NoDecode] = Field(default_factory=list)
    chat_model: str = "smollm2:135m"
    # The manuals as a model on the Ollama and OpenAI APIs: this name, and <name>/<collection>.
    manuals_model: str = Field(default="tsa", pattern=r"^[A-Za-z0-9._-]+$")
    embedding_model: str = "all-minilm"
    tsa_home: Path = Path("~/.tsa")

    tsa_host: str = "127.0.0.1"
    tsa_port: int = Field(default=8008, ge=1, le=65535)

    embedding_cache_ttl: int = Field(default=604_800, gt=0)
    inference_cache_ttl: int = Field(default=86_400, gt=0)
    chunk_cache_ttl: int = Field(default=2_592_000, gt=0)

    cache_max_entry_bytes: int = Field(default=1024 * 1024, gt=0)
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    # Bulk import (POST /api/imports): the whole request, files per request or archive, and
    # what one archive may unpack to.
    max_batch_bytes: int = Field(default=1024 * 1024 * 1024, gt=0)
    max_batch_files: int = Field(default=5000, ge=1)
    max_batch_unpacked_mb: int = Field(default=8192, ge=1)
    chunk_max_chars: int = Field(default=1200, ge=200)
    chunk_overlap_chars: int = Field(default=200, ge=0)
    # Where a long section is cut: when the next unit does not fit, or where the meaning shifts
    # (README "How it works"); documents keep their chunks until `tsa reindex --reparse`.
    chunk_boundaries: Literal["structure", "semantic"] = "structure"
    embed_batch_size: int = Field(default=32, ge=1, le=1024)
    # Cosine similarity below which a chunk without an exact identifier match is "not relevant".
    min_similarity: float = Field(default=0.25, ge=-1.0, le=1.0)
    # How the full-text list is ranked before fusion; ts_rank_cd only to compare (README "Evaluation").
    lexical_ranking: Literal["bm25", "ts_rank_cd"] = "bm25"
    # Reciprocal rank fusion weights of the vector, full-text and identifier lists, tuned on the
    # evaluation sets with the default embedding model (python -m bench.retrieval_tuning).
    fusion_weights: Annotated[tuple[float, float, float], NoDecode] = (0.5, 2.0, 1.0)
    fusion_k: int = Field(default=10, ge=1, le=1000)  # the RRF constant: lower trusts each list's top more
    # Add the manuals' words for the properties a question asks about to the full-text query
    # ("how heavy" → weight, mass; README "Query optimisation").
    query_expansion: bool = True
    # "weak": when the first search finds nothing close, search again in the chat model's words
    # (cached) and fuse both; off by default: with the small local model it helped little.
    query_rewrite: Literal["off", "weak"] = "off"
    # Give the model the chunk a retrieved procedure or table continues into (README "Context assembly").
    context_neighbours: bool = True
    # What happens to an answer with a claim its passages do not back (README "Grounding").
    grounding_policy: Literal["annotate", "extractive"] = "annotate"
    # Web search when the manuals are silent (README "Web search"): off unless a provider is set.
    web_search_provider: Literal["none", "searxng", "brave"] = "none"
    # SearXNG's base URL; for Brave, an endpoint other than Brave's own (a proxy).
    web_search_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    web_search_api_key: str | None = None  # Brave Search's subscription token
    # What a question gets when it does not say: auto searches only when the manuals have nothing close.
    web_search_default: Literal["auto", "never", "always"] = "auto"
    web_search_allow_domains: Annotated[tuple[str, ...], NoDecode] = ()  # empty: any domain
    web_search_block_domains: Annotated[tuple[str, ...], NoDecode] = ()
    web_search_timeout_s: float = Field(default=5.0, gt=0, le=60)
    web_search_results: int = Field(default=5, ge=1, le=20)
    web_fetch_pages: int = Field(default=5, ge=1, le=10)
    web_fetch_timeout_s: float = Field(default=5.0, gt=0, le=60)
    web_fetch_max_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    web_fetch_max_redirects: int = Field(default=3, ge=0, le=10)
    # host:port pairs fetched although they resolve to private or loopback addresses (an intranet site).
    web_fetch_allow_private: Annotated[tuple[str, ...], NoDecode] = ()
    web_cache_ttl: int = Field(default=86_400, gt=0)
    # Cosine similarity to the question below which a web passage is not used.
    web_min_similarity: float = Field(default=0.2, ge=-1.0, le=1.0)
    # How long after an answer its feedback is taken (the answer's record waits in Redis).
    feedback_window_s: int = Field(default=7 * 86400, ge=60)

    # Ingestion (see README "How ingestion works"): workers, retries, and what one document may cost.
    worker_in_process: bool = True  # `tsa serve` runs a worker too; false when separate `tsa worker`s do
    worker_concurrency: int = Field(default=2, ge=1, le=64)
    worker_heartbeat_s: float = Field(default=10.0, gt=0)
    worker_stalled_after_s: float = Field(default=30.0, gt=0)
    worker_shutdown_grace_s: float = Field(default=10.0, ge=0)
    ingest_max_attempts: int = Field(default=5, ge=1, le=50)
    ingest_retry_base_s: float = Field(default=5.0, ge=0)
    parse_timeout_s: float = Field(default=600.0, gt=0)
    parse_max_pages: int = Field(default=2000, ge=1)
    parse_max_memory_mb: int = Field(default=1024, ge=128)
    parse_max_unpacked_mb: int = Field(default=256, ge=1)
    ocr_enabled: bool = True

    connect_timeout_s: float = Field(default=5.0, gt=0)
    # Generous: a cold model load on an Ollama server can take tens of seconds.
    generate_timeout_s: float = Field(default=300.0, gt=0)
    embed_timeout_s: float = Field(default=120.0, gt=0)
    engine_threads: int = Field(default=0, ge=0)  # 0 = all cores

    # The fleet (see README "Load balancing").
    fleet_file: Path | None = None
    instance_max_concurrency: int = Field(default=4, ge=1)
    health_interval_s: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=3, ge=1, le=10)
    retry_budget_ratio: float = Field(default=0.2, ge=0)
    queue_max_waiting: int = Field(default=256, ge=0)
    queue_timeout_s: float = Field(default=30.0, gt=0)
    bulk_queue_timeout_s: float = Field(default=600.0, gt=0)
    stream_stall_timeout_s: float = Field(default=60.0, gt=0)
    # A whole generation, from the call to its last token: it then ends with a clear error and frees its slot.
    stream_deadline_s: float = Field(default=900.0, gt=0)
    # A client that reads nothing of its response for this long is let go (its generation cancelled).
    write_timeout_s: float = Field(default=30.0, gt=0)
    eject_consecutive_failures: int = Field(default=3, ge=1)
    eject_base_s: float = Field(default=1.0, gt=0)
    # Capped at one health interval by default, so a restarted instance is back within two.
    eject_max_s: float | None = Field(default=None, gt=0)
    max_ejected_share: float = Field(default=0.5, ge=0, le=1)
    hedge_embeddings: bool = False
    hedge_budget_ratio: float = Field(default=0.1, ge=0)

    # Access (see README "Security").
    session_ttl_s: int = Field(default=8 * 3600, ge=60)
    # None: Secure cookies when the request came over HTTPS (directly or per X-Forwarded-Proto from a
    # trusted proxy); true/false to force.
    session_cookie_secure: bool | None = None
    # Token buckets per user and per API key (requests per minute, and how many may come at once); 0 = off.
    rate_limit_user_per_minute: float = Field(default=1200, ge=0)
    rate_limit_key_per_minute: float = Field(default=1200, ge=0)
    rate_limit_burst: int = Field(default=200, ge=0)
    login_attempts_per_minute: float = Field(default=5, ge=0)  # per account, and 4x that per address
    audit_retention_days: int = Field(default=365, ge=1)
    # Distinct clients (X-Client-Id / X-API-Key) with their own metric label; later ones count as "other".
    metrics_max_clients: int = Field(default=100, ge=1, le=10_000)
    # Where the web app's admin page links for dashboards (e.g. http://grafana:3000); none when unset.
    grafana_url: str | None = Field(default=None, pattern=r"^https?://\S+$")

    @field_validator("ollama_instances", mode="before")
    @classmethod
    def _split_instances(cls, value: object) -> object:
        if isinstance(value, str):
            return [url.strip().rstrip("/") for url in value.split(",") if url.strip()]
        return value

    @field_validator("web_search_allow_domains", "web_search_block_domains", "web_fetch_allow_private",
                     mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip().lower().lstrip(".") for part in value.replace(" ", ",").split(",")
                         if part.strip())
        return value

    @field_validator("fusion_weights", mode="before")
    @classmethod
    def _split_weights(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(","))
        return value

    @field_validator("fusion_weights")
    @classmethod
    def _weights_usable(cls, weights: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(w < 0 for w in weights) or not any(weights):
            raise ValueError("FUSION_WEIGHTS are three non-negative numbers (vector, full text, identifiers), "
                             "not all zero")
        return weights

    @field_validator("ollama_instances")
    @classmethod
    def _check_instance_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"OLLAMA_INSTANCES entry {url!r} must start with http:// or https://")
        return urls

    @model_validator(mode="after")
    def _web_search_configured(self) -> Settings:
        if self.web_search_provider == "searxng" and not self.web_search_url:
            raise ValueError("WEB_SEARCH_PROVIDER=searxng needs WEB_SEARCH_URL (the SearXNG base URL)")
        if self.web_search_provider == "brave" and not self.web_search_api_key:
            raise ValueError("WEB_SEARCH_PROVIDER=brave needs WEB_SEARCH_API_KEY")
        return self

    @model_validator(mode="after")
    def _one_fleet_source(self) -> Settings:
        if self.fleet_file is not None and self.ollama_instances:
            raise ValueError("set OLLAMA_INSTANCES or FLEET_FILE, not both")
        return self

    @field_validator("tsa_home")
    @classmethod
    def _expand_home(cls, path: Path) -> Path:
        return path.expanduser().resolve()

    @field_validator("chunk_overlap_chars")
    @classmethod
    def _overlap_below_max(cls, overlap: int, info) -> int:
        max_chars = info.data.get("chunk_max_chars", 1200)
        if overlap >= max_chars // 2:
            raise ValueError("CHUNK_OVERLAP_CHARS must be less than half of CHUNK_MAX_CHARS")
        return overlap


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; ``overrides`` win (used by the CLI and tests)."""
    return Settings(**overrides)
