"""The chat service: embed the question → retrieve → prompt with cited context → generate,
with each step behind its cache layer and identical concurrent questions answered once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tsa import metrics
from tsa.cache import EmbeddingCache, JsonLayer, RedisCache, SingleFlight, Ticket, scope_digest
from tsa.cache.layers import record
from tsa.errors import InvalidRequest, TSAError
from tsa.fleet import Fleet
from tsa.model_names import canonical_name
from tsa.rag.answer import Answer, WebFollowUp, cacheable
from tsa.rag.context import assemble
from tsa.rag.followups import Turn, acceptable, needs_rewrite, recent, rewrite_messages, rules_rewrite
from tsa.rag.question_types import classify_question
from tsa.rag.search_rewrite import fused, is_weak, search_rewrite_messages, usable_query
from tsa.rag.hazards import hazard_level
from tsa.rag.prompt import PROMPT_VERSION, build_messages, is_relevant, snippet, web_preamble
from tsa.records import SearchHit
from tsa.store import DocumentStore, HybridRetriever
from tsa.websearch.addresses import DomainRules
from tsa.websearch.service import WebFindings, WebPassage, WebSearch


# A rewrite is a short call; past this the question goes on with the rules' rewrite.
REWRITE_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Question:
    query: str
    # The collections the asker may read: retrieval, caches and single-flight are confined to them.
    collections: frozenset[int]
    max_context_chunks: int = 5
    model: str | None = None
    temperature: float = 0.2
    max_tokens: int = 512
    use_cache: bool = True
    # A stop at max_tokens is a complete answer only when the client chose the limit.
    max_tokens_requested: bool = False
    # The corpus generation, when the caller has just read it (the API reads it with the access check).
    generation: str | None = None
    # Older editions of manuals are left out of answers unless asked for.
    include_superseded: bool = False
    # Earlier turns of the conversation, which the model sees (bounded); never part of a cache key.
    history: tuple[Turn, ...] = ()
    # auto: search the web when the manuals have nothing close; always; never (README "Web search").
    web_search: str = "never"
    # A collection's domain rules, on top of the service's (a question confined to that collection).
    web_rules: DomainRules | None = None


@dataclass
class Retrieval:
    hits: list[SearchHit]
    timings_ms: dict[str, float]
    cached: dict[str, bool] = field(default_factory=lambda: {"embedding": False, "chunks": False})


def source_of(hit: SearchHit) -> dict[str, Any]:
    return {"kind": "manual", "document_id": str(hit.document_id), "collection_id": hit.collection_id,
            "title": hit.title, "source": hit.source,
            "page": hit.page_start, "page_end": hit.page_end, "section": " > ".join(hit.heading_path),
            "chunk_id": hit.chunk_id, "edition": hit.edition, "superseded": hit.superseded, "ocr": hit.ocr,
            "structure": hit.structure,
            "score": round(hit.score, 6),
            "similarity": None if hit.similarity is None else round(hit.similarity, 4),
            "hazard": hazard_level(hit.text), "snippet": snippet(hit.text)}


# What of a manual source an answer rests on: the passage (a chunk's text never changes under its id)
# and what the answer says about where it is from. Scores are left out: they move with the corpus.
_EVIDENCE_FIELDS = ("chunk_id", "document_id", "collection_id", "title", "source", "page", "page_end", "section",
                    "edition", "superseded")


def evidence_of(sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: s.get(k) for k in _EVIDENCE_FIELDS} for s in sources if s.get("kind") == "manual"]


def web_source(passage: WebPassage, number: int) -> dict[str, Any]:
    """A web passage as a source: labelled W1, W2 … and never mistaken for a manual's page."""
    return {"kind": "web", "label": f"W{number}", "url": passage.url, "title": passage.title,
            "retrieved_at": passage.retrieved_at, "score": passage.score, "hazard": hazard_level(passage.text),
            "snippet": snippet(passage.text)}


def web_summary(findings: WebFindings) -> dict[str, Any]:
    return {"used": bool(findings.passages), "provider": findings.provider, "outcome": findings.outcome,
            "identity": findings.identity}


@dataclass
class Caches:
    redis: RedisCache
    embeddings: EmbeddingCache  # questions: interactive priority
    bulk_embeddings: EmbeddingCache  # ingestion: queues behind questions
    chunks: JsonLayer
    answers: JsonLayer
    flight: SingleFlight


class RagService:
    def __init__(self, fleet: Fleet, retriever: HybridRetriever, documents: DocumentStore, caches: Caches,
                 chat_model: str, min_similarity: float, grounding_policy: str = "annotate",
                 assemble_context: bool = True, query_rewrite: str = "off", web: WebSearch | None = None,
                 web_default: str = "auto",
                 collection_web: Callable[[int], Awaitable[dict[str, Any] | None]] | None = None) -> None:
        self.fleet = fleet
        self.retriever = retriever
        self.documents = documents
        self.caches = caches
        self.chat_model = chat_model
        self.min_similarity = min_similarity
        self.grounding_policy = grounding_policy
        self.assemble_context = assemble_context
        self.query_rewrite = query_rewrite
        self.web, self.web_default = web, web_default
        self.collection_web = collection_web or _no_collection_settings

    def _retrieval_parts(self, query: str, k: int, generation: str, collections: frozenset[int],
                         include_superseded: bool) -> dict[str, Any]:
        parts = {"query": query, "k": k, "embedding_model": self.caches.embeddings.model,
                 "min_similarity": self.min_similarity, "generation": generation,
                 "ranking": self.retriever.ranking.fingerprint, "query_rewrite": self.query_rewrite,
                 "scope": scope_digest(collections)}
        if include_superseded:
            parts["include_superseded"] = True
        return parts

    async def retrieve(self, query: str, k: int, collections: frozenset[int], use_cache: bool = True,
                       generation: str | None = None, include_superseded: bool = False) -> Retrieval:
        """The best ``k`` chunks among ``collections`` (the caller's readable scope), from current
        editions only unless ``include_superseded``."""
        generation = await self.documents.generation() if generation is None else generation
        result = Retrieval([], {})
        started = time.perf_counter()
        key = self.caches.chunks.key(self._retrieval_parts(query, k, generation, collections, include_superseded))
        if use_cache and (entry := await self.caches.chunks.get(key)) is not None:
            result.hits = await self.retriever.fetch(entry, collections)
            result.cached = {"embedding": True, "chunks": True}
            result.timings_ms["retrieve_ms"] = _elapsed_ms(started, "retrieve")
            return result
        vectors, result.cached["embedding"] = await self.caches.embeddings.lookup([query], use_cache=use_cache)
        embedded = time.perf_counter()
        result.timings_ms["embed_ms"] = _elapsed_ms(started, "embed")
        result.hits = await self.retriever.search(query, vectors[0], k, collections, include_superseded)
        if self.query_rewrite == "weak" and is_weak(result.hits):
            result.hits = await self._search_again(query, result.hits, k, collections, include_superseded)
        result.timings_ms["retrieve_ms"] = _elapsed_ms(embedded, "retrieve")
        if use_cache:
            entry = [{"id": h.chunk_id, "score": h.score, "similarity": h.similarity, "ranks": h.ranks}
                     for h in result.hits]
            await self.caches.chunks.put(key, entry, (time.perf_counter() - started) * 1000)
        return result

    async def _search_again(self, query: str, hits: list[SearchHit], k: int, collections: frozenset[int],
                            include_superseded: bool) -> list[SearchHit]:
        """The first search was weak: search in the chat model's words too (cached) and fuse both."""
        key = self.caches.answers.key({"search_rewrite": query, "chat_model": canonical_name(self.chat_model),
                                       "prompt_version": PROMPT_VERSION})
        rewritten: str | None
        if (cached := await self.caches.answers.get(key)) is not None:
            rewritten, outcome = cached["query"], "cached"
        else:
            started = time.perf_counter()
            if (reply := await self._short_reply(self.chat_model, search_rewrite_messages(query), 48)) is None:
                metrics.RAG_SEARCH_REWRITES.labels("failed").inc()
                return hits
            rewritten = usable_query(reply, query)
            outcome = "rewritten" if rewritten else "unusable"
            await self.caches.answers.put(key, {"query": rewritten}, (time.perf_counter() - started) * 1000)
        metrics.RAG_SEARCH_REWRITES.labels(outcome).inc()
        if not rewritten:
            return hits
        vectors, _ = await self.caches.embeddings.lookup([rewritten])
        return fused(hits, await self.retriever.search(rewritten, vectors[0], k, collections, include_superseded), k)

    async def _short_reply(self, model: str, messages: list[dict[str, str]], max_tokens: int) -> str | None:
        """A rewrite's whole reply (temperature 0, within REWRITE_TIMEOUT_S); None when the model fails."""
        try:
            async with asyncio.timeout(REWRITE_TIMEOUT_S):
                stream = await self.fleet.open_chat(model, messages, {"temperature": 0.0, "num_predict": max_tokens})
                return "".join([c.get("message", {}).get("content", "") async for c in stream.chunks])
        except (TSAError, TimeoutError):
            return None

    async def context(self, hits: list[SearchHit]) -> list[SearchHit]:
        """The passages the model is given: the relevant hits, each with the neighbouring chunk its
        procedure or table continues into (README "Context assembly")."""
        if not hits or not self.assemble_context:
            return hits
        return assemble(hits, await self.retriever.neighbours([h.chunk_id for h in hits]))

    async def standalone(self, question: str, history: list[Turn], model: str | None = None) -> tuple[str, str]:
        """The question as retrieval should see it, and how it was made: ``none`` (it stands alone),
        ``model`` (rewritten by the chat model, cached) or ``rules`` (the model's rewrite was missing or
        unusable)."""
        if not needs_rewrite(question, history):
            return question, "none"
        model = model or self.chat_model
        key = self.caches.answers.key({"rewrite": question, "turns": [t.standalone for t in history[-3:]],
                                       "chat_model": canonical_name(model), "prompt_version": PROMPT_VERSION})
        if (cached := await self.caches.answers.get(key)) is not None:
            metrics.RAG_REWRITES.labels("cached").inc()
            return cached["standalone"], "model"
        started = time.perf_counter()
        reply = await self._short_reply(model, rewrite_messages(question, history), 64)
        rewritten = acceptable(reply, question) if reply is not None else None
        if rewritten is None:
            metrics.RAG_REWRITES.labels("rules").inc()
            return rules_rewrite(question, history), "rules"
        metrics.RAG_REWRITES.labels("model").inc()
        await self.caches.answers.put(key, {"standalone": rewritten}, (time.perf_counter() - started) * 1000)
        return rewritten, "model"

    async def ask(self, question: Question) -> Answer:
        """Answer from the cache, or retrieve and open the generation; raises before any byte is sent
        if the model or the fleet fails. The answer counts its own outcome as it is delivered."""
        metrics.RAG_QUESTIONS.labels(classify_question(question.query)).inc()
        try:
            return await self._ask(question)
        except BaseException as exc:
            metrics.RAG_ANSWERS.labels("cancelled" if isinstance(exc, asyncio.CancelledError) else "error").inc()
            raise

    async def _ask(self, question: Question) -> Answer:
        started = time.perf_counter()
        model = question.model or self.chat_model
        generation = question.generation or await self.documents.generation()
        options = {"temperature": question.temperature, "num_predict": question.max_tokens}
        parts = {
            **self._retrieval_parts(question.query, question.max_context_chunks, generation, question.collections,
                                    question.include_superseded),
            "chat_model": canonical_name(model), "options": options, "prompt_version": PROMPT_VERSION,
            "grounding_policy": self.grounding_policy, "context_neighbours": self.assemble_context,
            **self._web_parts(question)}
        key = self.caches.answers.key(parts)
        # The same question at any corpus generation: an answer outlives changes that leave its passages be.
        lasting = self.caches.answers.key({**parts, "generation": None})
        ticket: Ticket | None = None
        retrieval: Retrieval | None = None  # made by a revalidation that found the evidence changed
        if question.use_cache:
            payload = await self._cached_answer(key, question)
            if payload is None:
                # One check (or answer) at a time per question: the same question asked many times
                # just after a corpus change waits for the first one's revalidation.
                ticket = await self.caches.flight.join(key, lambda: self.caches.answers.peek(key))
                if not ticket.leader:
                    await record(self.caches.redis, "inference", "miss")
                    await record(self.caches.redis, "inference", "coalesced")
                    return Answer.from_cache(ticket.value, started, {})
                try:
                    payload, retrieval = await self._revalidated(lasting, key, question, generation)
                except BaseException:
                    await ticket.finish(None)
                    raise
                if payload is not None:
                    await ticket.finish(payload)
            await record(self.caches.redis, "inference", "miss" if payload is None else "hit")
            if payload is not None:
                return Answer.from_cache(payload, started, {})
        try:
            answer = await self._generate(question, model, options, generation, started, retrieval)
        except BaseException:
            if ticket is not None:
                await ticket.finish(None)
            raise
        if ticket is not None:
            answer._on_finished = lambda done: self._remember(done, (key, lasting), ticket, question, started)
        return answer

    async def web_policy(self, requested: str | None, collections: frozenset[int]
                         ) -> tuple[str, DomainRules | None]:
        """The web search mode a question gets and the collection's domain rules: as asked, else (for a
        question confined to one collection) that collection's setting, else the service default;
        never without a provider."""
        if self.web is None:
            if requested == "always":
                raise InvalidRequest("web search is not configured on this service (WEB_SEARCH_PROVIDER)")
            return "never", None
        own = await self.collection_web(next(iter(collections))) if len(collections) == 1 else None
        rules = DomainRules(tuple(own["web_allow_domains"]), tuple(own["web_block_domains"])) if own else None
        return requested or (own or {}).get("web_search") or self.web_default, rules

    def _web_parts(self, question: Question) -> dict[str, Any]:
        """What of the web search goes into an answer's cache key (nothing when it cannot be used)."""
        if self.web is None or question.web_search == "never":
            return {}
        narrower = question.web_rules or DomainRules()
        return {"web_search": question.web_search, "web_provider": self.web.provider.identity,
                "web_rules": [list(self.web.rules.allow), list(self.web.rules.block), list(narrower.allow),
                              list(narrower.block)]}

    async def _cached_answer(self, key: str, question: Question) -> dict[str, Any] | None:
        """A cached answer; one made from web pages only while the question still finds the same pages.
        Counts no hit or miss: the caller does, once per question."""
        payload = await self.caches.answers.peek(key)
        web = (payload or {}).get("web") or {}
        if web.get("used") and self.web is not None and await self.web.identity(question.query) != web["identity"]:
            return None
        return payload

    async def _revalidated(self, lasting: str, key: str, question: Question, generation: str
                           ) -> tuple[dict[str, Any] | None, Retrieval | None]:
        """An answer made before the corpus last changed, if the question still retrieves exactly the
        passages it was made from, in the same order and with the same titles, editions and pages:
        then nothing it rests on has changed (a deleted, replaced or superseded document's passages
        are no longer found; a new document that matters changes what is found). Stored again under
        this generation, so the check runs once per change. Else the retrieval it made, for the
        fresh answer to use."""
        payload = await self._cached_answer(lasting, question)
        if payload is None or "evidence" not in payload:
            return None, None
        retrieval = await self.retrieve(question.query, question.max_context_chunks, question.collections,
                                        True, generation, question.include_superseded)
        hits = await self.context([h for h in retrieval.hits if is_relevant(h, self.min_similarity)])
        if evidence_of([source_of(h) for h in hits]) != payload["evidence"]:
            metrics.ANSWER_REVALIDATIONS.labels("changed").inc()
            return None, retrieval
        metrics.ANSWER_REVALIDATIONS.labels("same").inc()
        await self.caches.answers.put(key, payload, None, tag=copy_tag(payload.get("instance")))
        return payload, None

    async def _web_findings(self, question: Question, hits: list[SearchHit]) -> WebFindings | None:
        if self.web is None or question.web_search == "never" or (question.web_search == "auto" and hits):
            return None
        metrics.WEB_FALLBACKS.labels("always" if question.web_search == "always" else "nothing_relevant").inc()
        return await self.web.find(question.query, question.web_rules)

    async def _generate(self, question: Question, model: str, options: dict[str, Any], generation: str,
                        started: float, retrieval: Retrieval | None = None) -> Answer:
        if retrieval is None:
            retrieval = await self.retrieve(question.query, question.max_context_chunks, question.collections,
                                            question.use_cache, generation, question.include_superseded)
        hits = await self.context([h for h in retrieval.hits if is_relevant(h, self.min_similarity)])
        cached = {**retrieval.cached, "inference": False}
        findings = await self._web_findings(question, hits)
        web = findings.passages if findings else []
        if findings:
            retrieval.timings_ms.update(findings.timings_ms)
        sources = [source_of(h) for h in hits] + [web_source(p, n) for n, p in enumerate(web, start=1)]
        summary = web_summary(findings) if findings else None
        if not sources:
            return Answer(sources, model, None, retrieval.timings_ms, cached, web=summary, _started=started)
        generate_started = time.perf_counter()
        messages = build_messages(question.query, hits, recent(list(question.history)), web)
        stream = await self.fleet.open_chat(model, messages, options)
        answer = Answer(sources, model, stream.instance, retrieval.timings_ms, cached, policy=self.grounding_policy,
                        web=summary, _question=question.query,
                        _passages=[h.text for h in hits] + [p.text for p in web],
                        _preamble=web_preamble(len(hits), len(web)), _manual_passages=len(hits) if web else None,
                        _stream=stream, _started=started, _generate_started=generate_started)
        if findings is None and self.web is not None and question.web_search == "auto":
            answer._web_after = lambda: self._web_follow_up(question, model, options)
        return answer

    async def _web_follow_up(self, question: Question, model: str, options: dict[str, Any]) -> WebFollowUp:
        """The manuals' answer failed its check or declined: what the web says, to stream after it."""
        assert self.web is not None
        metrics.WEB_FALLBACKS.labels("not_grounded").inc()
        findings = await self.web.find(question.query, question.web_rules)
        if not findings.passages:
            return WebFollowUp([], [], None, web_summary(findings))
        messages = build_messages(question.query, [], recent(list(question.history)), findings.passages)
        try:
            stream = await self.fleet.open_chat(model, messages, options)
        except TSAError:  # the manuals' answer stands on its own
            return WebFollowUp([], [], None, web_summary(findings))
        return WebFollowUp([web_source(p, n) for n, p in enumerate(findings.passages, start=1)],
                           [p.text for p in findings.passages], stream, web_summary(findings))

    async def _remember(self, answer: Answer | None, keys: tuple[str, str], ticket: Ticket, question: Question,
                        started: float) -> None:
        """Store a complete answer (under this generation's key, and under the lasting key with the
        passages it was made from) and hand it to identical waiting questions; otherwise let them compute.

        The ticket is finished whatever happens here, so waiting questions are never left hanging."""
        payload = None
        try:
            if answer is not None and cacheable(answer.text, answer.done_reason, question.max_tokens_requested):
                payload = {**answer.payload(), "instance": answer.instance, "evidence": evidence_of(answer.sources)}
                # Tagged with its instance, so removing the instance can drop what it generated.
                current, lasting = keys
                await self.caches.answers.put(lasting, payload, (time.perf_counter() - started) * 1000,
                                              tag=answer_tag(answer.instance))
                await self.caches.answers.put(current, payload, None, tag=copy_tag(answer.instance))
        finally:
            await ticket.finish(payload)


async def _no_collection_settings(collection_id: int) -> dict[str, Any] | None:
    return None


def answer_tag(instance: str | None) -> str | None:
    return None if instance is None else f"instance:{instance}"


def copy_tag(instance: str | None) -> str | None:
    """The tag of an answer's copies under a corpus generation (the answer itself is the lasting entry)."""
    return None if instance is None else f"instance-copy:{instance}"


async def forget_answers_of(caches: Caches, instance: str) -> int | None:
    """Drop the cached answers an instance generated (it was removed, or is not to be trusted):
    how many, or None when Redis is unavailable."""
    forgotten = await caches.answers.forget(answer_tag(instance))
    await caches.answers.forget(copy_tag(instance))
    return forgotten


def _elapsed_ms(since: float, stage: str) -> float:
    seconds = time.perf_counter() - since
    metrics.RAG_STAGE_DURATION.labels(stage=stage).observe(seconds)
    return round(seconds * 1000, 2)
