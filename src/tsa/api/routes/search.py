"""POST /api/search: ranked chunks with document, page and score; no generation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tsa.api.deps import ContainerDep
from tsa.api.schemas import SearchRequest
from tsa.rag import source_of

router = APIRouter()


@router.post("/api/search")
async def search(body: SearchRequest, container: ContainerDep) -> dict[str, Any]:
    retrieval = await container.rag.retrieve(body.query, body.k, use_cache=body.cache != "no-cache")
    results = [{**source_of(hit), "text": hit.text, "matched_by": sorted(hit.ranks)} for hit in retrieval.hits]
    return {"query": body.query, "results": results, "cached": retrieval.cached, "timings_ms": retrieval.timings_ms}
