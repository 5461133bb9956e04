"""Conversations and their turns, per user (the id is the client's, unique per user)."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from tsa.errors import NotFound
from tsa.rag.followups import Turn, title_of


class ConversationStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def history(self, user_id: int, conversation_id: str, turns: int = 20) -> list[Turn]:
        """The latest ``turns`` turns, oldest first (empty for a new conversation)."""
        rows = await self.pool.fetch(
            "SELECT question, standalone, answer FROM conversation_turns WHERE user_id = $1 AND conversation_id = $2"
            " ORDER BY ordinal DESC LIMIT $3", user_id, conversation_id, turns)
        return [Turn(r["question"], r["standalone"], r["answer"]) for r in reversed(rows)]

    async def append(self, user_id: int, conversation_id: str, key_id: int | None, *, question: str,
                     standalone: str, rewrite: str, answer: str, sources: list[dict[str, Any]], model: str) -> int:
        """Store a turn (creating the conversation on its first); returns its number."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO conversations (user_id, id, title) VALUES ($1, $2, $3)"
                " ON CONFLICT (user_id, id) DO UPDATE SET updated_at = now()",
                user_id, conversation_id, title_of(question))
            # The row lock taken above serialises turns of one conversation: ordinals never collide.
            ordinal = await conn.fetchval(
                "SELECT coalesce(max(ordinal), 0) + 1 FROM conversation_turns WHERE user_id = $1"
                " AND conversation_id = $2", user_id, conversation_id)
            await conn.execute(
                "INSERT INTO conversation_turns (user_id, conversation_id, ordinal, question, standalone, rewrite,"
                " answer, sources, model, key_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10)",
                user_id, conversation_id, ordinal, question, standalone, rewrite, answer, json.dumps(sources),
                model, key_id)
        return ordinal

    async def list(self, user_id: int, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT c.id, c.title, c.created_at, c.updated_at,"
            " (SELECT count(*) FROM conversation_turns t WHERE t.user_id = c.user_id AND t.conversation_id = c.id)"
            " AS turns FROM conversations c WHERE c.user_id = $1 ORDER BY c.updated_at DESC LIMIT $2 OFFSET $3",
            user_id, limit, offset)
        return [_conversation(r, r["turns"]) for r in rows]

    async def get(self, user_id: int, conversation_id: str) -> dict[str, Any]:
        row = await self.pool.fetchrow(
            "SELECT id, title, created_at, updated_at FROM conversations WHERE user_id = $1 AND id = $2",
            user_id, conversation_id)
        if row is None:
            raise NotFound(f"conversation {conversation_id!r} not found")
        turns = await self.pool.fetch(
            "SELECT ordinal, question, standalone, rewrite, answer, sources, model, created_at FROM conversation_turns"
            " WHERE user_id = $1 AND conversation_id = $2 ORDER BY ordinal", user_id, conversation_id)
        return {**_conversation(row, len(turns)), "turns": [
            {**dict(t), "sources": json.loads(t["sources"]), "created_at": t["created_at"].isoformat()} for t in turns]}

    async def delete(self, user_id: int, conversation_id: str) -> None:
        status = await self.pool.execute("DELETE FROM conversations WHERE user_id = $1 AND id = $2",
                                         user_id, conversation_id)
        if status.endswith(" 0"):
            raise NotFound(f"conversation {conversation_id!r} not found")


def _conversation(row: asyncpg.Record, turn_count: int) -> dict[str, Any]:
    return {"id": row["id"], "title": row["title"], "created_at": row["created_at"].isoformat(),
            "updated_at": row["updated_at"].isoformat(), "turn_count": turn_count}
