"""POST /api/search: ranked chunks with document, page and score; no generation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from tsa.api.auth import Viewer
from tsa.api.deps import ContainerDep
from tsa.api.errors import documented
from tsa.api.schemas import SearchRequest
from tsa.rag import source_of

router = APIRouter()


@router.post("/api/search", responses=documented(400, 401, 403, 422, 429, 503))
async def search(body: SearchRequest, request: Request, container: ContainerDep, principal: Viewer
                 ) -> dict[str, Any]:
    """Ranked chunks from the documents the caller may read."""
    retrieval = await container.rag.retrieve(body.query, body.k, principal.scope.readable,
                                             use_cache=body.cache != "no-cache",
                                             generation=request.state.corpus_generation,
                                             include_superseded=body.include_superseded)
    results = [{**source_of(hit), "text": hit.text, "matched_by": sorted(hit.ranks)} for hit in retrieval.hits]
    return {"query": body.query, "results": results, "cached": retrieval.cached, "timings_ms": retrieval.timings_ms}
