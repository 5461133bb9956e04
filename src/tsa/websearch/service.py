"""Search the web for a question and find the passages that answer it: search (cached), fetch the
top pages in parallel (cached), extract their main text, embed the passages through the fleet (the
embedding cache applies) and rank them against the question."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from tsa import metrics
from tsa.cache import EmbeddingCache, JsonLayer
from tsa.websearch.addresses import BothRules, DomainRules
from tsa.websearch.extract import main_text, passages
from tsa.websearch.fetch import FetchRefused, PageFetcher
from tsa.websearch.providers import SearchFailed, SearchProvider, SearchResult

PASSAGES_PER_PAGE = 12  # a long article's later passages rarely answer better than its first dozen
# Passages embedded per question: the ones sharing most words with it. Embedding every passage of
# five pages took 1.5 s of the local model's time (bench.web_search); the best rarely lies past these.
EMBEDDED_PASSAGES = 10
_WORD = re.compile(r"[a-z0-9][a-z0-9\-]+")


@dataclass(frozen=True)
class WebPassage:
    url: str
    title: str
    text: str
    retrieved_at: str
    score: float


@dataclass
class WebFindings:
    provider: str
    outcome: str  # used, no_results, error, blocked
    passages: list[WebPassage] = field(default_factory=list)
    # The search results the passages came from, as one digest: an answer made from them is served
    # from the cache only while the same question finds the same results.
    identity: str | None = None
    detail: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class WebSearchOptions:
    results: int = 5  # asked of the provider
    pages: int = 5  # fetched, best-ranked first
    passages: int = 4  # given to the model
    min_similarity: float = 0.2  # a passage further from the question is not used


def results_identity(results: list[SearchResult]) -> str:
    return hashlib.sha256("\n".join(r.url for r in results).encode()).hexdigest()[:32]


def likeliest(question: str, candidates: list[tuple[dict[str, Any], str]], count: int
              ) -> list[tuple[dict[str, Any], str]]:
    """The ``count`` passages sharing most of the question's words (each word counted once per passage,
    weighted by how rare it is among the passages), in their original order among equals."""
    words = set(_WORD.findall(question.lower()))
    bags = [set(_WORD.findall(text.lower())) & words for _, text in candidates]
    rarity = {w: 1.0 / (1 + sum(w in bag for bag in bags)) for w in words}
    scores = [sum(rarity[w] for w in bag) for bag in bags]
    order = sorted(range(len(candidates)), key=lambda n: -scores[n])[:count]
    return [candidates[n] for n in sorted(order)]


def best_passages(question: list[float], candidates: list[tuple[dict[str, Any], str]], vectors: list[list[float]],
                  count: int, min_similarity: float) -> list[WebPassage]:
    """The ``count`` passages closest to the question (cosine), each at least ``min_similarity``."""
    if not candidates:
        return []
    q = np.asarray(question, dtype=np.float32)
    m = np.asarray(vectors, dtype=np.float32)
    scores = m @ q / (np.linalg.norm(m, axis=1) * np.linalg.norm(q) + 1e-9)
    order = np.argsort(-scores)[:count]
    return [WebPassage(candidates[i][0]["url"], candidates[i][0]["title"], candidates[i][1],
                       candidates[i][0]["fetched_at"], round(float(scores[i]), 4))
            for i in order if scores[i] >= min_similarity]


class WebSearch:
    def __init__(self, provider: SearchProvider, fetcher: PageFetcher, cache: JsonLayer, embeddings: EmbeddingCache,
                 rules: DomainRules, options: WebSearchOptions | None = None) -> None:
        self.provider, self.fetcher, self.cache, self.embeddings = provider, fetcher, cache, embeddings
        self.rules = rules
        self.options = options or WebSearchOptions()

    async def aclose(self) -> None:
        await self.provider.aclose()
        await self.fetcher.aclose()

    async def results(self, query: str) -> list[SearchResult]:
        """The provider's results for ``query`` (cached); raises SearchFailed."""
        key = self.cache.key({"search": query, "provider": self.provider.identity, "limit": self.options.results})
        if (cached := await self.cache.get(key)) is not None:
            return [SearchResult(**r) for r in cached]
        started = time.perf_counter()
        found = await self.provider.search(query, self.options.results)
        await self.cache.put(key, [asdict(r) for r in found], (time.perf_counter() - started) * 1000)
        return found

    async def identity(self, query: str) -> str | None:
        """What the web says to ``query`` now, as a digest (None when the provider fails)."""
        try:
            return results_identity(await self.results(query))
        except SearchFailed:
            return None

    async def find(self, query: str, narrower: DomainRules | None = None) -> WebFindings:
        """``narrower``: a collection's domain rules, applied on top of the service's."""
        started = time.perf_counter()
        findings = await self._find(query, self.rules.and_(narrower or DomainRules()))
        findings.timings_ms["web_ms"] = round((time.perf_counter() - started) * 1000, 2)
        metrics.WEB_SEARCH.labels(self.provider.name, findings.outcome).inc()
        return findings

    async def _find(self, query: str, rules: DomainRules | BothRules) -> WebFindings:
        name = self.provider.name
        try:
            found = await self.results(query)
        except SearchFailed as exc:
            return WebFindings(name, "error", detail=str(exc))
        permitted = [r for r in found if rules.permits(r.url)][: self.options.pages]
        if not found or not permitted:
            return WebFindings(name, "no_results" if not found else "blocked", identity=results_identity(found))
        pages = [p for p in await asyncio.gather(*(self._page(r, rules) for r in permitted)) if p is not None]
        candidates = [(page, text) for page in pages for text in passages(page["text"])[:PASSAGES_PER_PAGE]]
        if not candidates:
            return WebFindings(name, "no_results", identity=results_identity(found), detail="no readable page")
        candidates = likeliest(query, candidates, EMBEDDED_PASSAGES)
        vectors, _ = await self.embeddings.lookup([query] + [text for _, text in candidates])
        chosen = best_passages(vectors[0], candidates, vectors[1:], self.options.passages, self.options.min_similarity)
        return WebFindings(name, "used" if chosen else "no_results", chosen, results_identity(found))

    async def _page(self, result: SearchResult, rules: DomainRules | BothRules) -> dict[str, Any] | None:
        """The page's title and main text (cached by URL); None when it cannot or may not be read."""
        key = self.cache.key({"page": result.url})
        if (cached := await self.cache.get(key)) is not None:
            if not rules.permits(cached["url"]):  # redirected, when it was read, to a domain refused here
                metrics.WEB_PAGES.labels("blocked").inc()
                return None
            metrics.WEB_PAGES.labels("cached").inc()
            return cached
        started = time.perf_counter()
        try:
            page = await self.fetcher.fetch(result.url, rules)
        except FetchRefused as exc:
            metrics.WEB_PAGES.labels(exc.outcome).inc()
            return None
        finally:
            metrics.WEB_FETCH_DURATION.observe(time.perf_counter() - started)
        title, text = await asyncio.to_thread(main_text, page)
        metrics.WEB_PAGES.labels("ok").inc()
        entry = {"url": page.final_url, "title": title or result.title, "text": text, "fetched_at": page.fetched_at}
        await self.cache.put(key, entry, (time.perf_counter() - started) * 1000)
        return entry
