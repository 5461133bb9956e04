"""POST /api/rag-chat: answers with cited sources, as JSON or as server-sent events."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from tsa.access import Principal
from tsa.api.auth import Viewer
from tsa.api.deps import ContainerDep
from tsa.api.errors import documented, error_body, visible_message
from tsa.api.schemas import RagChatRequest
from tsa.api.sse import sse_event
from tsa.api.streaming import SettledStreamingResponse
from tsa.container import Container
from tsa.errors import TSAError
from tsa.rag import Answer, Question
from tsa.rag.followups import Turn
from tsa.store.pool import database_down
from tsa.websearch.addresses import DomainRules

router = APIRouter()
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Turn:
    """This question's place in its conversation (if any): what retrieval saw, and how it came to be."""

    conversation_id: str | None
    standalone: str
    rewrite: str  # none, model, rules
    history: tuple[Turn, ...] = ()

    def json(self) -> dict[str, Any]:
        return {"conversation_id": self.conversation_id, "standalone_query": self.standalone,
                "rewrite": self.rewrite}


async def _turn(body: RagChatRequest, principal: Principal, container: Container) -> _Turn:
    if body.conversation_id is None:
        return _Turn(None, body.query, "none")
    history = await container.conversations.history(principal.user_id, body.conversation_id)
    standalone, how = await container.rag.standalone(body.query, history, body.model)
    return _Turn(body.conversation_id, standalone, how, tuple(history))


def _question(body: RagChatRequest, principal: Principal, generation: str, turn: _Turn,
              web: tuple[str, DomainRules | None]) -> Question:
    return Question(query=turn.standalone, collections=principal.scope.readable, generation=generation,
                    web_search=web[0], web_rules=web[1],
                    max_context_chunks=body.max_context_chunks, model=body.model,
                    temperature=body.temperature, max_tokens=body.max_tokens, use_cache=body.cache != "no-cache",
                    max_tokens_requested="max_tokens" in body.model_fields_set,
                    include_superseded=body.include_superseded, history=turn.history)


async def _remember(container: Container, principal: Principal, body: RagChatRequest, turn: _Turn,
                    answer: Answer, answer_id: uuid.UUID) -> bool:
    """Keep what was answered: for feedback (a while, in Redis), and as a turn of its conversation.
    False when the database went away meanwhile: the answer still goes out, only its record is lost."""
    try:
        await _record(container, principal, body, turn, answer, answer_id)
    except Exception as exc:
        if not database_down(exc):
            raise
        log.warning("answer %s delivered but not recorded: the database is unavailable (%s)", answer_id,
                    type(exc).__name__)
        return False
    return True


async def _record(container: Container, principal: Principal, body: RagChatRequest, turn: _Turn,
                  answer: Answer, answer_id: uuid.UUID) -> None:
    await container.answer_records.remember(answer_id, {
        "question": body.query, "answer": answer.text, "sources": answer.sources, "model": answer.model,
        "grounding": answer.grounding.as_json() if answer.grounding else None, "user_id": principal.user_id})
    if turn.conversation_id is None:
        return
    await container.conversations.append(
        principal.user_id, turn.conversation_id, principal.key_id, question=body.query, standalone=turn.standalone,
        rewrite=turn.rewrite, answer=answer.text, sources=answer.sources, model=answer.model)


_RESPONSES: dict[int | str, dict] = {
    200: {"description": "The answer as JSON, or with `stream: true` as server-sent events "
                         "(`sources`, `token`, `done`, `error`)",
          "content": {"application/json": {"schema": {"type": "object"}},
                      "text/event-stream": {"schema": {
                          "type": "object", "required": ["event", "data"], "properties": {
                              "event": {"enum": ["sources", "token", "done", "error"]},
                              "data": {"type": "string", "description": "a JSON object"}}}}}},
    **documented(400, 401, 403, 404, 422, 429, 502, 503),
}


@router.post("/api/rag-chat", response_model=None, responses=_RESPONSES)
async def rag_chat(body: RagChatRequest, request: Request, container: ContainerDep, principal: Viewer
                   ) -> JSONResponse | StreamingResponse:
    """Answer from the documents the caller may read. 404: the requested model is unknown."""
    # Retrieval and opening the generation happen before any byte is sent,
    # so an unknown model or a dead fleet still gets a proper status code.
    web = await container.rag.web_policy(body.web_search, principal.scope.readable)
    turn = await _turn(body, principal, container)
    answer = await container.rag.ask(_question(body, principal, request.state.corpus_generation, turn, web))
    answer_id = uuid.uuid4()
    if body.stream:
        return SettledStreamingResponse(_events(answer, principal, turn, answer_id, lambda: _remember(
                                            container, principal, body, turn, answer, answer_id)),
                                        answer.abandon, media_type="text/event-stream",
                                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    async with contextlib.aclosing(answer.pieces()) as pieces:
        async for _ in pieces:
            pass
    recorded = await _remember(container, principal, body, turn, answer, answer_id)
    # plain JSON types: skip FastAPI's encoder
    return JSONResponse({**answer.metadata(), **turn.json(), "answer_id": str(answer_id), "recorded": recorded})


async def _events(answer: Answer, principal: Principal, turn: _Turn, answer_id: uuid.UUID,
                  remember: Callable[[], Awaitable[bool]]) -> AsyncIterator[bytes]:
    yield sse_event("sources", {"sources": answer.sources})
    try:
        # If the client goes away, closing the pieces cancels the upstream generation at once.
        async with contextlib.aclosing(answer.pieces()) as pieces:
            async for piece in pieces:
                yield sse_event("token", {"text": piece})
    except TSAError as exc:
        yield sse_event("error", error_body(exc.code, visible_message(exc, principal))["error"])
        return
    except Exception:  # the status line is gone; the client learns of it in-band
        log.exception("stream failed")
        yield sse_event("error", {"code": "internal_error",
                                  "message": "an unexpected error occurred; it has been logged"})
        return
    recorded = await remember()
    yield sse_event("done", {**answer.metadata(), **turn.json(), "answer_id": str(answer_id), "recorded": recorded})
