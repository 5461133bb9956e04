"""A cited passage in its section, for readers of sources that have no pages to render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from tsa.api.auth import Viewer
from tsa.api.deps import ContainerDep
from tsa.api.errors import documented

router = APIRouter()


@router.get("/api/chunks/{chunk_id}/section", responses=documented(401, 403, 404, 422, 429))
async def passage_section(chunk_id: Annotated[int, Path(ge=1, le=2**63 - 1)], container: ContainerDep,
                          principal: Viewer) -> dict[str, Any]:
    """The passage (a source's ``chunk_id``) with the other passages of its section, in order; a
    passage in a collection the caller cannot read is not found."""
    return await container.documents.section(chunk_id, principal.scope.readable)
