"""POST /api/rag-chat: answers with cited sources, as JSON or as server-sent events."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse

from tsa.api.deps import ContainerDep
from tsa.api.errors import error_body
from tsa.api.schemas import RagChatRequest
from tsa.api.sse import sse_event
from tsa.api.streaming import SettledStreamingResponse
from tsa.errors import TSAError
from tsa.rag import Answer, Question

router = APIRouter()
log = logging.getLogger(__name__)


def _question(body: RagChatRequest) -> Question:
    return Question(query=body.query, max_context_chunks=body.max_context_chunks, model=body.model,
                    temperature=body.temperature, max_tokens=body.max_tokens, use_cache=body.cache != "no-cache",
                    max_tokens_requested="max_tokens" in body.model_fields_set)


@router.post("/api/rag-chat", response_model=None)
async def rag_chat(body: RagChatRequest, container: ContainerDep) -> JSONResponse | StreamingResponse:
    # Retrieval and opening the generation happen before any byte is sent,
    # so an unknown model or a dead fleet still gets a proper status code.
    answer = await container.rag.ask(_question(body))
    if body.stream:
        return SettledStreamingResponse(_events(answer), answer.abandon, media_type="text/event-stream",
                                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    async with contextlib.aclosing(answer.pieces()) as pieces:
        async for _ in pieces:
            pass
    return JSONResponse(answer.metadata())  # plain JSON types already: skip FastAPI's encoder


async def _events(answer: Answer) -> AsyncIterator[bytes]:
    yield sse_event("sources", {"sources": answer.sources})
    try:
        # If the client goes away, closing the pieces cancels the upstream generation at once.
        async with contextlib.aclosing(answer.pieces()) as pieces:
            async for piece in pieces:
                yield sse_event("token", {"text": piece})
    except TSAError as exc:
        yield sse_event("error", error_body(exc.code, exc.message)["error"])
        return
    except Exception as exc:  # the status line is gone; the client learns of it in-band
        log.exception("stream failed")
        yield sse_event("error", {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"})
        return
    yield sse_event("done", answer.metadata())
