"""A caller's conversations: list, read, delete. Each user sees only their own."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from tsa.api.auth import Viewer
from tsa.api.deps import ContainerDep
from tsa.api.errors import documented
from tsa.api.schemas import CONVERSATION_ID

router = APIRouter()
ConversationId = Annotated[str, Path(min_length=1, max_length=200, pattern=CONVERSATION_ID)]


@router.get("/api/conversations", responses=documented(401, 403, 422, 429))
async def list_conversations(container: ContainerDep, principal: Viewer,
                             limit: Annotated[int, Query(ge=1, le=500)] = 50,
                             offset: Annotated[int, Query(ge=0, le=2**31)] = 0) -> dict[str, Any]:
    """Your conversations, most recently continued first."""
    return {"conversations": await container.conversations.list(principal.user_id, limit, offset)}


@router.get("/api/conversations/{conversation_id}", responses=documented(401, 403, 404, 422, 429))
async def get_conversation(conversation_id: ConversationId, container: ContainerDep, principal: Viewer
                           ) -> dict[str, Any]:
    """One of your conversations with its turns: each question, what retrieval saw, the answer, its sources."""
    return await container.conversations.get(principal.user_id, conversation_id)


@router.delete("/api/conversations/{conversation_id}", status_code=204, responses=documented(401, 403, 404, 422,
                                                                                              429))
async def delete_conversation(conversation_id: ConversationId, container: ContainerDep, principal: Viewer
                              ) -> Response:
    await container.conversations.delete(principal.user_id, conversation_id)
    return Response(status_code=204)
