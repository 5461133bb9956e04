"""Hybrid retrieval on the sample manual: meaning, words and exact identifiers."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
async def manual(container, sample_pdf):
    await container.pipeline.ingest("hf22-service-manual.pdf", sample_pdf)
    return container


async def _search(container, query: str, k: int = 5):
    return await container.retriever.search(query, (await container.embedder([query]))[0], k,
                                            await container.access.collections.all_ids())


@pytest.mark.parametrize(("query", "page", "section_end"), [
    ("E-17", 6, "5 Troubleshooting and Error Codes"),
    ("SK-4471", 5, "4.3 Replacing the mechanical seal"),
    ("M8x1.25", 2, "2 Technical Specifications"),
    ("OR-3515", 4, "4.2 Replacing the inlet filter cartridge"),
])
async def test_identifiers_are_found_exactly(manual, query, page, section_end):
    hits = await _search(manual, query)
    identifier_hits = [h for h in hits if "identifier" in h.ranks]
    assert identifier_hits, "the identifier list must match"
    assert any(h.page_start == page and h.heading_path[-1] == section_end for h in identifier_hits)
    assert "identifier" in hits[0].ranks, "an exact identifier match must rank first"


async def test_questions_in_other_words_find_the_right_section(manual):
    hits = await _search(manual, "How often should I grease the motor bearings?")
    assert hits[0].heading_path[-1] == "4.4 Lubricating the motor bearings" and hits[0].page_start == 5


async def test_results_are_ranked_by_fused_score(manual):
    hits = await _search(manual, "seal leaking", 8)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len({h.chunk_id for h in hits}) == len(hits)


async def test_an_empty_store_returns_nothing(container):
    assert await _search(container, "anything") == []


async def test_a_narrow_scope_still_fills_its_results(bench_settings):
    """The collection filter runs inside each list's scan: a small collection among many chunks of
    another is not starved by a top-k taken before filtering (the vector list's HNSW scan included)."""
    import random
    import uuid

    from tsa.container import open_container
    from tsa.store.pool import vector_literal

    rng = random.Random(5)
    async with open_container(bench_settings) as container:
        dims = container.caches.embeddings.dims
        big, small = [(await container.access.collections.create(name))["id"] for name in ("big", "small")]
        for collection, count in ((big, 400), (small, 3)):
            document = uuid.uuid4()
            await container.pool.execute(
                "INSERT INTO documents (id, collection_id, source, title, sha256, doc_type, status, size_bytes)"
                " VALUES ($1, $2, $3, $3, 'x', 'md', 'ready', 1)", document, collection, f"{document}.md")
            await container.pool.executemany(
                "INSERT INTO chunks (document_id, collection_id, ordinal, text, embedding)"
                " VALUES ($1, $2, $3, $4, $5::text::vector)",
                [(document, collection, n, f"pump seal note {n}", vector_literal([rng.gauss(0, 1) for _ in range(dims)]))
                 for n in range(count)])
        query = [rng.gauss(0, 1) for _ in range(dims)]
        hits = await container.retriever.search("pump seal", query, 5, {small})
        assert len(hits) == 3 and {h.collection_id for h in hits} == {small}
        assert len(await container.retriever.search("pump seal", query, 5, {big})) == 5
        assert await container.retriever.search("pump seal", query, 5, set()) == []


async def test_sources_say_where_section_titles_came_from(container, sample_pdf):
    from tests.documents import outlined_pdf_bytes

    await container.pipeline.ingest("hf22-service-manual.pdf", sample_pdf)
    outlined = outlined_pdf_bytes([["3 Command reference", "", "EOD"], ["3.1upsc", "", "upsc lists every variable."]],
                                  [("Command reference", 0, 0), ("upsc", 1, 1)])
    info = await container.pipeline.ingest("reference.pdf", outlined)
    assert info.structure == "outline"
    hits = await _search(container, "upsc lists every variable", 40)
    structures = {(h.source, h.structure) for h in hits}
    assert structures == {("reference.pdf", "outline"), ("hf22-service-manual.pdf", "layout")}
    upsc = next(h for h in hits if h.source == "reference.pdf" and "upsc" in h.text)
    assert upsc.heading_path == ("3 Command reference", "3.1 upsc")


async def test_a_weak_search_is_searched_again_in_the_models_words(bench_settings):
    """QUERY_REWRITE=weak: nothing close was found (the bench engine's vectors are unrelated to
    meaning), so the chat model's query ("seal", scripted) is searched too and both are fused."""
    from prometheus_client import REGISTRY

    from tsa.container import open_container

    sections = "".join(f"## Part {n}\n\nThe bracket {n} is painted blue.\n\n" for n in range(12))
    manual = f"# Pump\n\n{sections}## Seal\n\nReplace the seal yearly.\n".encode()
    question = "Which part wears out first? Say: seal replacement"
    ranks = {}
    for mode in ("off", "weak"):
        async with open_container(bench_settings.model_copy(update={"query_rewrite": mode})) as container:
            await container.pipeline.ingest("pump.md", manual)
            scope = await container.access.collections.all_ids()
            before = REGISTRY.get_sample_value("tsa_rag_search_rewrites_total", {"outcome": "rewritten"}) or 0
            hits = (await container.rag.retrieve(question, 5, scope, use_cache=False)).hits
            ranks[mode] = next((n for n, h in enumerate(hits, start=1) if "seal" in h.text), None)
            rewritten = REGISTRY.get_sample_value("tsa_rag_search_rewrites_total", {"outcome": "rewritten"}) - before
            assert rewritten == (1 if mode == "weak" else 0)
    assert ranks["off"] != 1 and ranks["weak"] == 1, ranks
