"""The audit log: who did what, when, from where. Append-only, pruned after a retention period."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import asyncpg

from tsa.access.policy import Principal

log = logging.getLogger(__name__)


class AuditLog:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def record(self, action: str, actor: Principal | None, *, target: str | None = None,
                     address: str | None = None, actor_name: str | None = None, **detail: Any) -> None:
        """``actor_name`` names an actor who did not sign in (a failed sign-in's claimed name)."""
        await self.pool.execute(
            "INSERT INTO audit_log (actor_id, actor, action, target, address, detail)"
            " VALUES ($1, $2, $3, $4, $5, $6::jsonb)",
            actor.user_id if actor else None, actor.username if actor else actor_name, action, target, address,
            json.dumps(detail, default=str))

    async def query(self, *, actor: str | None = None, action: str | None = None, since: dt.datetime | None = None,
                    until: dt.datetime | None = None, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """Newest first. ``action`` matches a prefix ("document." finds every document action)."""
        rows = await self.pool.fetch(
            "SELECT id, at, actor_id, actor, action, target, address, detail FROM audit_log"
            " WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR starts_with(action, $2))"
            " AND ($3::timestamptz IS NULL OR at >= $3) AND ($4::timestamptz IS NULL OR at < $4)"
            " ORDER BY at DESC, id DESC LIMIT $5 OFFSET $6", actor, action, since, until, limit, offset)
        return [{**dict(r), "at": r["at"].isoformat(), "detail": json.loads(r["detail"])} for r in rows]

    async def prune(self, retention_days: int) -> int:
        status = await self.pool.execute(
            "DELETE FROM audit_log WHERE at < now() - make_interval(days => $1)", retention_days)
        return int(status.split()[-1])
