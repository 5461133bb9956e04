"""Feedback on answers: whoever got an answer rates it; admins read and review what came in."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from tsa import metrics
from tsa.api.auth import Admin, Viewer
from tsa.api.deps import ContainerDep
from tsa.api.errors import documented
from tsa.api.schemas import FeedbackRequest, ReviewRequest
from tsa.errors import NotFound
from tsa.model_names import canonical_name

router = APIRouter()


@router.post("/api/feedback", status_code=201, responses=documented(400, 401, 403, 404, 422, 429))
async def give_feedback(body: FeedbackRequest, container: ContainerDep, principal: Viewer) -> JSONResponse:
    """Rate an answer you received (``answer_id`` from the answer), within FEEDBACK_WINDOW_S of it.
    Giving feedback again on the same answer changes it."""
    record = await container.answer_records.recall(body.answer_id)
    if record is None or record.get("user_id") != principal.user_id:
        raise NotFound("no answer with this id was given to you recently (feedback is taken for "
                       f"{container.settings.feedback_window_s // 86400} days after an answer)")
    stored = await container.feedback.give(body.answer_id, principal.user_id, principal.key_id, body.rating,
                                           body.comment, body.corrected_answer, record)
    metrics.FEEDBACK.labels(body.rating, canonical_name(record["model"])).inc()
    return JSONResponse(stored, status_code=201)


@router.get("/api/feedback", responses=documented(401, 403, 422, 429))
async def list_feedback(container: ContainerDep, _: Admin,
                        rating: Literal["up", "down"] | None = None, reviewed: bool | None = None,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                        offset: Annotated[int, Query(ge=0, le=2**31)] = 0) -> dict[str, Any]:
    """Feedback, newest first, with the question, answer, sources and model it is about."""
    return {"feedback": await container.feedback.list(rating, reviewed, limit, offset)}


@router.patch("/api/feedback/{feedback_id}", responses=documented(400, 401, 403, 404, 422, 429))
async def review_feedback(feedback_id: Annotated[int, Path(ge=1, le=2**62)], body: ReviewRequest,
                          container: ContainerDep, _: Admin) -> dict[str, Any]:
    """Mark feedback reviewed (or not): reviewed feedback can become evaluation cases."""
    return await container.feedback.review(feedback_id, body.reviewed)
