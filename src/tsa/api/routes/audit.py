"""GET /api/audit: the audit log, newest first, for admins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from tsa.api.auth import AdminOnly
from tsa.api.deps import ContainerDep
from tsa.api.errors import documented
from tsa.api.schemas import IsoTime

router = APIRouter()


@router.get("/api/audit", dependencies=[AdminOnly], responses=documented(401, 403, 422, 429))
async def audit_log(container: ContainerDep,
                    actor: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")] = None,
                    action: Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00]*$",
                                                        description="a prefix: document. finds every document action")] = None,
                    since: IsoTime | None = None, until: IsoTime | None = None,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                    offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> dict[str, Any]:
    entries = await container.access.audit.query(actor=actor, action=action, since=since, until=until,
                                                 limit=limit, offset=offset)
    return {"entries": entries, "retention_days": container.settings.audit_retention_days}
