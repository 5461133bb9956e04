"""Redis caches in front of the expensive steps: embeddings, retrieval, answers."""

from tsa.cache.keys import cache_key, scope_digest
from tsa.cache.layers import EmbeddingCache, JsonLayer
from tsa.cache.redis_cache import RedisCache
from tsa.cache.singleflight import SingleFlight, Ticket
from tsa.cache.stats import cache_stats, reset_stats

__all__ = ["EmbeddingCache", "JsonLayer", "RedisCache", "SingleFlight", "Ticket", "cache_key",
           "cache_stats", "reset_stats", "scope_digest"]
