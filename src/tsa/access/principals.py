"""Finding the caller behind a key or a session, with their scope, in one query.

Each lookup also reads the access generation (advanced by triggers on every change to accounts,
keys, sessions, groups, collections and grants) and the corpus generation, in the same snapshot:
the first says how long the answer may be cached (``PrincipalCache``), the second is what the
answer path would otherwise read in a query of its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import asyncpg

from tsa.access.policy import Principal, Role, scope_for
from tsa.access.tokens import parse_key, secret_matches, session_hash

# Each collection's best level for the user: "everyone", a grant to the user, or to one of its groups.
_LEVELS = """
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(c.id ORDER BY c.id), '{}') AS ids,
           coalesce(array_agg(GREATEST(
               CASE c.everyone WHEN 'edit' THEN 2 WHEN 'read' THEN 1 ELSE 0 END,
               (SELECT coalesce(max(CASE g.permission WHEN 'edit' THEN 2 ELSE 1 END), 0)
                  FROM collection_grants g
                 WHERE g.collection_id = c.id
                   AND (g.user_id = u.id
                        OR g.group_id IN (SELECT m.group_id FROM group_members m WHERE m.user_id = u.id)))
           ) ORDER BY c.id), '{}') AS levels
    FROM collections c
) s
"""
_GENERATIONS = """
SELECT max(value) FILTER (WHERE key = 'store_id') || ':' || max(value) FILTER (WHERE key = 'corpus_generation')
           AS corpus_generation,
       max(value) FILTER (WHERE key = 'access_generation') AS access_generation
FROM store_meta
"""
_BY_KEY = f"""
WITH generations AS ({_GENERATIONS})
SELECT k.id AS key_id, k.secret_hash, k.expires_at, k.revoked_at, k.last_used_at,
       u.id AS user_id, u.username, u.role, u.disabled, s.ids, s.levels, generations.*
FROM generations LEFT JOIN (api_keys k JOIN users u ON u.id = k.user_id {_LEVELS}) ON k.prefix = $1
"""
_BY_SESSION = f"""
WITH generations AS ({_GENERATIONS})
SELECT x.csrf_token, x.expires_at, u.id AS user_id, u.username, u.role, u.disabled, s.ids, s.levels, generations.*
FROM generations LEFT JOIN (sessions x JOIN users u ON u.id = x.user_id {_LEVELS})
     ON x.token_hash = $1 AND x.expires_at > now()
"""
_BY_USER = f"SELECT u.id AS user_id, u.username, u.role, u.disabled, s.ids, s.levels FROM users u {_LEVELS} WHERE u.id = $1"
# last_used_at is written at most this often per key, so a busy key costs no write per request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Generations:
    corpus: str
    access: str


@dataclass
class Lookup:
    """A caller found in the database, and what is needed to cache and re-check them."""

    principal: Principal
    generations: Generations
    expires_at: dt.datetime | None  # of the key or the session
    last_used_at: dt.datetime | None = None  # of the key


def _principal(row: asyncpg.Record, via: str, **extra: object) -> Principal:
    role = Role[row["role"]]
    return Principal(row["user_id"], row["username"], role, scope_for(role, row["ids"], row["levels"]), via,
                     **extra)


def _generations(row: asyncpg.Record) -> Generations:
    return Generations(row["corpus_generation"], row["access_generation"])


class Principals:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def generations(self) -> Generations:
        return _generations(await self.pool.fetchrow(_GENERATIONS))

    async def by_key(self, token: str, now: dt.datetime | None = None) -> Lookup | None:
        """The key's user, or None for a malformed, unknown, wrong, revoked or expired key."""
        parsed = parse_key(token)
        if parsed is None:
            return None
        row = await self.pool.fetchrow(_BY_KEY, parsed[0])
        if row["key_id"] is None or not secret_matches(parsed[1], row["secret_hash"]) or row["disabled"]:
            return None
        now = now or dt.datetime.now(dt.UTC)
        if row["revoked_at"] is not None or (row["expires_at"] is not None and row["expires_at"] <= now):
            return None
        lookup = Lookup(_principal(row, "key", key_id=row["key_id"]), _generations(row), row["expires_at"],
                        row["last_used_at"])
        await self.touch(lookup, now)
        return lookup

    async def touch(self, lookup: Lookup, now: dt.datetime) -> None:
        """Record that the key was used, at most once per ``LAST_USED_RESOLUTION``."""
        key_id = lookup.principal.key_id
        if key_id is None or (lookup.last_used_at is not None and now - lookup.last_used_at < LAST_USED_RESOLUTION):
            return
        lookup.last_used_at = now
        await self.pool.execute("UPDATE api_keys SET last_used_at = now() WHERE id = $1", key_id)

    async def by_session(self, token: str) -> Lookup | None:
        row = await self.pool.fetchrow(_BY_SESSION, session_hash(token))
        if row["user_id"] is None or row["disabled"]:
            return None
        return Lookup(_principal(row, "session", csrf_token=row["csrf_token"]), _generations(row), row["expires_at"])

    async def by_user_id(self, user_id: int, via: str = "local") -> Principal | None:
        row = await self.pool.fetchrow(_BY_USER, user_id)
        return None if row is None or row["disabled"] else _principal(row, via)
