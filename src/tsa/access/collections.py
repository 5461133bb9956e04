"""Collections and their grants in PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import asyncpg

from tsa.errors import Conflict, NotFound

DEFAULT_COLLECTION = "default"
_GRANTS = ("(SELECT coalesce(jsonb_agg(jsonb_build_object('user_id', g.user_id, 'group_id', g.group_id,"
           " 'permission', g.permission) ORDER BY g.user_id, g.group_id), '[]') FROM collection_grants g"
           " WHERE g.collection_id = c.id) AS grants")
_COLUMNS = ("c.id, c.name, c.everyone, c.created_at, c.web_search, c.web_allow_domains, c.web_block_domains,"
            " (SELECT count(*) FROM documents d WHERE d.collection_id = c.id) AS documents")


def _json(row: asyncpg.Record) -> dict[str, Any]:
    body = dict(row)
    body["created_at"] = body["created_at"].isoformat()
    if "grants" in body:
        body["grants"] = json.loads(body["grants"])
    return body


class Collections:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create(self, name: str, everyone: str = "none") -> dict[str, Any]:
        try:
            collection_id = await self.pool.fetchval(
                "INSERT INTO collections (name, everyone) VALUES ($1, $2) RETURNING id", name, everyone)
        except asyncpg.UniqueViolationError:
            raise Conflict(f"a collection named {name!r} already exists") from None
        return await self.get(collection_id, with_grants=True)

    async def list(self, only: Iterable[int] | None = None, with_grants: bool = False) -> list[dict[str, Any]]:
        """Every collection, or those in ``only`` (the caller's readable scope)."""
        ids = None if only is None else list(only)
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS}{', ' + _GRANTS if with_grants else ''} FROM collections c"
            " WHERE $1::bigint[] IS NULL OR c.id = ANY($1::bigint[]) ORDER BY c.id", ids)
        return [_json(r) for r in rows]

    async def get(self, collection_id: int, with_grants: bool = False) -> dict[str, Any]:
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS}{', ' + _GRANTS if with_grants else ''} FROM collections c WHERE c.id = $1",
            collection_id)
        if row is None:
            raise NotFound(f"collection {collection_id} not found")
        return _json(row)

    async def web_settings(self, collection_id: int) -> dict[str, Any] | None:
        """A collection's own web search settings (None: it does not exist)."""
        row = await self.pool.fetchrow("SELECT web_search, web_allow_domains, web_block_domains FROM collections"
                                       " WHERE id = $1", collection_id)
        return None if row is None else dict(row)

    async def all_ids(self) -> frozenset[int]:
        """Every collection: the scope of the local administrator (the CLI on its own store)."""
        return frozenset(r["id"] for r in await self.pool.fetch("SELECT id FROM collections"))

    async def id_of(self, name: str) -> int | None:
        return await self.pool.fetchval("SELECT id FROM collections WHERE name = $1", name)

    async def update(self, collection_id: int, *, name: str | None, everyone: str | None,
                     web: dict[str, Any] | None = None) -> dict[str, Any]:
        """Change what is given; ``web`` may hold ``web_search`` ("default": the service's), and the
        ``web_allow_domains`` / ``web_block_domains`` lists."""
        web = web or {}
        mode = web.get("web_search")
        try:
            found = await self.pool.fetchval(
                "UPDATE collections SET name = coalesce($2, name), everyone = coalesce($3, everyone),"
                " web_search = CASE WHEN $4::text IS NULL THEN web_search WHEN $4 = 'default' THEN NULL ELSE $4 END,"
                " web_allow_domains = coalesce($5, web_allow_domains),"
                " web_block_domains = coalesce($6, web_block_domains)"
                " WHERE id = $1 RETURNING id", collection_id, name, everyone, mode,
                web.get("web_allow_domains"), web.get("web_block_domains"))
        except asyncpg.UniqueViolationError:
            raise Conflict(f"a collection named {name!r} already exists") from None
        if found is None:
            raise NotFound(f"collection {collection_id} not found")
        return await self.get(collection_id, with_grants=True)

    async def delete(self, collection_id: int) -> None:
        """Only an empty collection: deleting documents is a decision of its own."""
        try:
            found = await self.pool.fetchval("DELETE FROM collections WHERE id = $1 RETURNING id", collection_id)
        except asyncpg.ForeignKeyViolationError:
            raise Conflict(f"collection {collection_id} still holds documents; delete or move them first") from None
        if found is None:
            raise NotFound(f"collection {collection_id} not found")

    async def grant(self, collection_id: int, permission: str, *, user_id: int | None = None,
                    group_id: int | None = None) -> None:
        column, target = ("user_id", user_id) if user_id is not None else ("group_id", group_id)
        try:
            await self.pool.execute(
                f"INSERT INTO collection_grants (collection_id, {column}, permission) VALUES ($1, $2, $3)"
                f" ON CONFLICT (collection_id, {column}) WHERE {column} IS NOT NULL"
                " DO UPDATE SET permission = excluded.permission", collection_id, target, permission)
        except asyncpg.ForeignKeyViolationError:
            raise NotFound(f"collection {collection_id} or {column.removesuffix('_id')} {target} not found") from None

    async def revoke(self, collection_id: int, *, user_id: int | None = None, group_id: int | None = None) -> None:
        column, target = ("user_id", user_id) if user_id is not None else ("group_id", group_id)
        if await self.pool.fetchval(f"DELETE FROM collection_grants WHERE collection_id = $1 AND {column} = $2"
                                    " RETURNING 1", collection_id, target) is None:
            raise NotFound(f"no grant on collection {collection_id} for {column.removesuffix('_id')} {target}")
