"""Feedback on answers, and the short-lived record of each answer it refers to.

Every delivered answer is remembered in Redis for ``window_s`` under its id, with the question,
sources, model and who asked; feedback takes those from there, so what is stored is what the
service really answered, not what a client says it answered.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg

from tsa.cache import RedisCache
from tsa.errors import NotFound

_COLUMNS = ("id, answer_id, user_id, key_id, rating, comment, corrected_answer, question, answer, sources, model, "
            "grounding, reviewed, created_at, updated_at")


def _answer_key(answer_id: uuid.UUID) -> str:
    return f"tsa:answer:{answer_id}"


class AnswerRecords:
    """What was answered, by id, for a while (Redis; lost with it, which only limits feedback)."""

    def __init__(self, cache: RedisCache, window_s: int) -> None:
        self.cache = cache
        self.window_s = window_s

    async def remember(self, answer_id: uuid.UUID, record: dict[str, Any]) -> None:
        body = json.dumps(record, separators=(",", ":"))
        await self.cache.run("inference", lambda r: r.set(_answer_key(answer_id), body, ex=self.window_s))

    async def recall(self, answer_id: uuid.UUID) -> dict[str, Any] | None:
        raw = await self.cache.run("inference", lambda r: r.get(_answer_key(answer_id)))
        return json.loads(raw) if raw else None


def _row(row: asyncpg.Record) -> dict[str, Any]:
    body = dict(row)
    body["answer_id"] = str(body["answer_id"])
    body["sources"] = json.loads(body["sources"])
    body["grounding"] = json.loads(body["grounding"]) if body["grounding"] else None
    for moment in ("created_at", "updated_at"):
        body[moment] = body[moment].isoformat()
    return body


class FeedbackStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def give(self, answer_id: uuid.UUID, user_id: int, key_id: int | None, rating: str, comment: str | None,
                   corrected_answer: str | None, record: dict[str, Any]) -> dict[str, Any]:
        """Store (or change) this user's feedback on an answer."""
        row = await self.pool.fetchrow(
            "INSERT INTO feedback (answer_id, user_id, key_id, rating, comment, corrected_answer, question, answer,"
            " sources, model, grounding) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11::jsonb)"
            " ON CONFLICT (answer_id, user_id) DO UPDATE SET rating = EXCLUDED.rating, comment = EXCLUDED.comment,"
            " corrected_answer = EXCLUDED.corrected_answer, reviewed = false, updated_at = now()"
            f" RETURNING {_COLUMNS}",
            answer_id, user_id, key_id, rating, comment, corrected_answer, record["question"], record["answer"],
            json.dumps(record["sources"]), record["model"],
            json.dumps(record["grounding"]) if record.get("grounding") else None)
        return _row(row)

    async def list(self, rating: str | None = None, reviewed: bool | None = None, limit: int = 100,
                   offset: int = 0) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM feedback WHERE ($1::text IS NULL OR rating = $1)"
            " AND ($2::boolean IS NULL OR reviewed = $2) ORDER BY created_at DESC LIMIT $3 OFFSET $4",
            rating, reviewed, limit, offset)
        return [_row(r) for r in rows]

    async def review(self, feedback_id: int, reviewed: bool) -> dict[str, Any]:
        row = await self.pool.fetchrow(
            f"UPDATE feedback SET reviewed = $2, updated_at = now() WHERE id = $1 RETURNING {_COLUMNS}",
            feedback_id, reviewed)
        if row is None:
            raise NotFound(f"feedback {feedback_id} not found")
        return _row(row)
