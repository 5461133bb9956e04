"""PostgreSQL + pgvector: pool, migrations, documents, embedding space and hybrid search."""

from tsa.store.documents import DocumentStore, PublishResult
from tsa.store.embedding_space import embedding_text, ensure_embedding_space, reindex
from tsa.store.migrate import migrate
from tsa.store.originals import OriginalStore
from tsa.store.pool import create_pool
from tsa.store.search import HybridRetriever, Ranking

__all__ = ["DocumentStore", "HybridRetriever", "OriginalStore", "PublishResult", "Ranking", "create_pool",
           "embedding_text", "ensure_embedding_space", "migrate", "reindex"]
