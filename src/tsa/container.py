"""Wiring: the connections and services one process needs, opened and closed together.

The API's lifespan and the in-process CLI commands (ingest, ask, reindex) share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis

from tsa.access import AccessWatch, Accounts, AuditLog, Collections, PrincipalCache, Principals, RateLimiter
from tsa.config import Settings
from tsa.dependencies import Probe, watching
from tsa.errors import BackendError, BackendUnavailable
from tsa.fleet import ClientTimeouts, EjectionPolicy, Fleet, FleetEmbedder, FleetOptions, InstanceConfig, Priority
from tsa.fleet.fleet_file import load_fleet_file
from tsa.ingest import ChunkingParams
from tsa.ingest.limits import ParseLimits
from tsa.ingest.pipeline import IngestOptions, IngestPipeline
from tsa.jobs import IngestQueue
from tsa.jobs.queue import install_queue_schema
from tsa.jobs.worker import WorkerOptions, running_worker, sample_queue_forever
from tsa.store.migrate import MIGRATION_LOCK
from tsa.store.conversations import ConversationStore
from tsa.store.feedback import AnswerRecords, FeedbackStore
from tsa.store.progress_feed import ProgressFeed
from tsa.cache import EmbeddingCache, JsonLayer, RedisCache, SingleFlight
from tsa.rag import Caches, RagService
from tsa.runtime import Endpoints, embedded_services
from tsa.websearch.addresses import DomainRules
from tsa.websearch.fetch import PageFetcher
from tsa.websearch.providers import BraveProvider, SearchProvider, SearxngProvider
from tsa.websearch.service import WebSearch, WebSearchOptions
from tsa.store import DocumentStore, HybridRetriever, OriginalStore, Ranking, create_pool, ensure_embedding_space, migrate

log = logging.getLogger(__name__)


@dataclass
class Access:
    principals: Principals
    accounts: Accounts
    collections: Collections
    audit: AuditLog
    limiter: RateLimiter
    principal_cache: PrincipalCache
    watch: AccessWatch


@dataclass
class Container:
    settings: Settings
    endpoints: Endpoints
    pool: asyncpg.Pool
    redis: aioredis.Redis
    fleet: Fleet
    embedder: FleetEmbedder
    documents: DocumentStore
    originals: OriginalStore
    retriever: HybridRetriever
    pipeline: IngestPipeline
    queue: IngestQueue
    progress: ProgressFeed
    rag: RagService
    conversations: ConversationStore
    feedback: FeedbackStore
    answer_records: AnswerRecords
    caches: Caches
    dependencies: dict[str, Probe]
    access: Access


async def _stored_space(pool: asyncpg.Pool) -> tuple[str, int] | None:
    rows = {r["key"]: r["value"] for r in await pool.fetch(
        "SELECT key, value FROM store_meta WHERE key IN ('embedding_model', 'embedding_dims')")}
    return (rows["embedding_model"], int(rows["embedding_dims"])) if "embedding_model" in rows else None


async def prepare_embedding_space(pool: asyncpg.Pool, embedder: FleetEmbedder, *, check: bool = True) -> int:
    """Size the vector column from the model; tolerate a fleet that is still starting if the store agrees.

    Returns the embedding dimension."""
    try:
        dims = await embedder.dimensions()
    except (BackendUnavailable, BackendError):
        stored = await _stored_space(pool)
        if stored is not None and stored[0] == embedder.model:
            log.warning("no LLM instance answered at start-up; keeping the stored embedding space")
            return stored[1]
        raise
    if check:
        await ensure_embedding_space(pool, embedder.model, dims)
    return dims


def build_fleet(settings: Settings, endpoints: Endpoints) -> Fleet:
    if settings.fleet_file is not None:
        configs = load_fleet_file(settings.fleet_file, settings.instance_max_concurrency)
    else:
        configs = [InstanceConfig(url, max_concurrency=settings.instance_max_concurrency)
                   for url in endpoints.ollama_instances]
    options = FleetOptions(
        max_attempts=settings.max_attempts, retry_budget_ratio=settings.retry_budget_ratio,
        queue_max_waiting=settings.queue_max_waiting, queue_timeout_s=settings.queue_timeout_s,
        bulk_queue_timeout_s=settings.bulk_queue_timeout_s, stream_stall_timeout_s=settings.stream_stall_timeout_s,
        stream_deadline_s=settings.stream_deadline_s,
        health_interval_s=settings.health_interval_s, hedge_embeddings=settings.hedge_embeddings,
        hedge_budget_ratio=settings.hedge_budget_ratio,
        ejection=EjectionPolicy(consecutive_failures=settings.eject_consecutive_failures,
                                base_s=settings.eject_base_s,
                                max_s=settings.eject_max_s or settings.health_interval_s,
                                max_ejected_share=settings.max_ejected_share))
    timeouts = ClientTimeouts(connect_s=settings.connect_timeout_s, embed_s=settings.embed_timeout_s,
                              generate_s=settings.generate_timeout_s)
    return Fleet(configs, options, timeouts)


async def _prune_audit_forever(audit: AuditLog, retention_days: int, every_s: float = 3600.0) -> None:
    while True:
        try:
            pruned = await audit.prune(retention_days)
            if pruned:
                log.info("audit log: removed %d entries older than %d days", pruned, retention_days)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("audit log pruning failed: %s", exc)
        await asyncio.sleep(every_s)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _stop_flusher(flusher: asyncio.Task[None], cache: RedisCache) -> None:
    await _cancel(flusher)
    await cache.flush()


def build_caches(settings: Settings, redis: aioredis.Redis, fleet: Fleet, dims: int) -> Caches:
    cache = RedisCache(redis, settings.cache_max_entry_bytes)
    model = settings.embedding_model

    def embeddings(priority: Priority) -> EmbeddingCache:
        inner = FleetEmbedder(fleet, model, settings.embed_batch_size, priority)
        return EmbeddingCache(cache, inner, model, dims, settings.embedding_cache_ttl)

    return Caches(cache, embeddings(Priority.INTERACTIVE), embeddings(Priority.BULK),
                  JsonLayer(cache, "chunks", settings.chunk_cache_ttl),
                  JsonLayer(cache, "inference", settings.inference_cache_ttl),
                  SingleFlight(cache, "inference", max_wait_s=settings.generate_timeout_s))


@asynccontextmanager
async def open_container(settings: Settings, *, check_embedding_space: bool = True) -> AsyncIterator[Container]:
    async with AsyncExitStack() as stack:
        endpoints = await stack.enter_async_context(embedded_services(settings))
        pool = await create_pool(endpoints.database_url)
        stack.push_async_callback(pool.close)
        await migrate(pool)
        # Short timeouts: a slow Redis must never hold a request up for long.
        redis = aioredis.from_url(endpoints.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        stack.push_async_callback(redis.aclose)
        dependencies: dict[str, Probe] = {"postgres": lambda: pool.fetchval("SELECT 1"), "redis": redis.ping}
        await stack.enter_async_context(watching(dependencies, settings.health_interval_s))
        fleet = build_fleet(settings, endpoints)
        stack.push_async_callback(fleet.aclose)
        await fleet.start()
        embedder = FleetEmbedder(fleet, settings.embedding_model, settings.embed_batch_size)
        dims = await prepare_embedding_space(pool, embedder, check=check_embedding_space)
        caches = build_caches(settings, redis, fleet, dims)
        flusher = asyncio.create_task(caches.redis.flush_forever(), name="cache-stats-flush")
        stack.push_async_callback(_stop_flusher, flusher, caches.redis)
        documents = DocumentStore(pool)
        originals = OriginalStore(pool)
        ranking = Ranking(settings.lexical_ranking, settings.fusion_weights, settings.fusion_k,
                          settings.query_expansion)
        retriever = HybridRetriever(pool, ranking=ranking)
        await install_queue_schema(pool, MIGRATION_LOCK)
        queue = IngestQueue(endpoints.database_url)
        await queue.open()
        stack.push_async_callback(queue.close)
        pipeline = IngestPipeline(documents, originals, caches.bulk_embeddings, ingest_options(settings), queue)
        sampler = asyncio.create_task(sample_queue_forever(pool), name="queue-sampler")
        stack.push_async_callback(_cancel, sampler)
        web = build_web_search(settings, caches)
        if web is not None:
            stack.push_async_callback(web.aclose)
        rag = RagService(fleet, retriever, documents, caches, settings.chat_model, settings.min_similarity,
                         settings.grounding_policy, settings.context_neighbours, settings.query_rewrite,
                         web, settings.web_search_default, Collections(pool).web_settings)
        access = Access(Principals(pool), Accounts(pool), Collections(pool), AuditLog(pool), RateLimiter(redis),
                        PrincipalCache(), AccessWatch())
        watcher = asyncio.create_task(access.watch.run(endpoints.database_url), name="access-watch")
        stack.push_async_callback(_cancel, watcher)
        pruner = asyncio.create_task(_prune_audit_forever(access.audit, settings.audit_retention_days),
                                     name="audit-prune")
        stack.push_async_callback(_cancel, pruner)
        progress = ProgressFeed(endpoints.database_url)
        stack.push_async_callback(progress.close)
        yield Container(settings, endpoints, pool, redis, fleet, embedder, documents, originals, retriever,
                        pipeline, queue, progress, rag, ConversationStore(pool), FeedbackStore(pool),
                        AnswerRecords(caches.redis, settings.feedback_window_s), caches, dependencies, access)


def build_web_search(settings: Settings, caches: Caches) -> WebSearch | None:
    """The web search fallback, when a provider is configured (README "Web search")."""
    provider: SearchProvider
    if settings.web_search_provider == "searxng":
        assert settings.web_search_url is not None  # the settings' own check
        provider = SearxngProvider(settings.web_search_url, settings.web_search_timeout_s)
    elif settings.web_search_provider == "brave":
        assert settings.web_search_api_key is not None
        extra = {"base_url": settings.web_search_url} if settings.web_search_url else {}
        provider = BraveProvider(settings.web_search_api_key, settings.web_search_timeout_s, **extra)
    else:
        return None
    fetcher = PageFetcher(settings.web_fetch_timeout_s, settings.web_fetch_max_bytes, settings.web_fetch_max_redirects,
                          frozenset(settings.web_fetch_allow_private))
    rules = DomainRules(settings.web_search_allow_domains, settings.web_search_block_domains)
    options = WebSearchOptions(results=settings.web_search_results, pages=settings.web_fetch_pages,
                               min_similarity=settings.web_min_similarity)
    return WebSearch(provider, fetcher, JsonLayer(caches.redis, "web", settings.web_cache_ttl), caches.embeddings,
                     rules, options)


def ingest_options(settings: Settings) -> IngestOptions:
    limits = ParseLimits(max_pages=settings.parse_max_pages,
                         max_unpacked_bytes=settings.parse_max_unpacked_mb * 1024 * 1024,
                         memory_mb=settings.parse_max_memory_mb, timeout_s=settings.parse_timeout_s)
    chunking = ChunkingParams(settings.chunk_max_chars, settings.chunk_overlap_chars, settings.chunk_boundaries)
    return IngestOptions(chunking, settings.max_upload_bytes, limits, settings.ocr_enabled)


def worker_options(settings: Settings, concurrency: int | None = None) -> WorkerOptions:
    return WorkerOptions(
        concurrency=concurrency or settings.worker_concurrency, max_attempts=settings.ingest_max_attempts,
        retry_base_s=settings.ingest_retry_base_s, heartbeat_s=settings.worker_heartbeat_s,
        stalled_after_s=settings.worker_stalled_after_s, shutdown_grace_s=settings.worker_shutdown_grace_s,
        sole_owner=settings.database_url is None)


def container_worker(container: Container, concurrency: int | None = None):  # noqa: ANN201 - a context manager
    """A worker for this container's queue (``async with``)."""
    return running_worker(container.queue, container.pipeline, worker_options(container.settings, concurrency))

