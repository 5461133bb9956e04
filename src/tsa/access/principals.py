"""Finding the caller behind a key or a session, with their scope, in one query."""

from __future__ import annotations

import datetime as dt

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
_BY_KEY = f"""
SELECT k.id AS key_id, k.secret_hash, k.expires_at, k.revoked_at, k.last_used_at,
       u.id AS user_id, u.username, u.role, u.disabled, s.ids, s.levels
FROM api_keys k JOIN users u ON u.id = k.user_id {_LEVELS}
WHERE k.prefix = $1
"""
_BY_SESSION = f"""
SELECT x.csrf_token, u.id AS user_id, u.username, u.role, u.disabled, s.ids, s.levels
FROM sessions x JOIN users u ON u.id = x.user_id {_LEVELS}
WHERE x.token_hash = $1 AND x.expires_at > now()
"""
_BY_USER = f"SELECT u.id AS user_id, u.username, u.role, u.disabled, s.ids, s.levels FROM users u {_LEVELS} WHERE u.id = $1"
# last_used_at is written at most this often per key, so a busy key costs no write per request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def _principal(row: asyncpg.Record, via: str, **extra: object) -> Principal:
    role = Role[row["role"]]
    return Principal(row["user_id"], row["username"], role, scope_for(role, row["ids"], row["levels"]), via,
                     **extra)


class Principals:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def by_key(self, token: str, now: dt.datetime | None = None) -> Principal | None:
        """The key's user, or None for a malformed, unknown, wrong, revoked or expired key."""
        parsed = parse_key(token)
        if parsed is None:
            return None
        row = await self.pool.fetchrow(_BY_KEY, parsed[0])
        if row is None or not secret_matches(parsed[1], row["secret_hash"]) or row["disabled"]:
            return None
        now = now or dt.datetime.now(dt.UTC)
        if row["revoked_at"] is not None or (row["expires_at"] is not None and row["expires_at"] <= now):
            return None
        if row["last_used_at"] is None or now - row["last_used_at"] >= LAST_USED_RESOLUTION:
            await self.pool.execute("UPDATE api_keys SET last_used_at = now() WHERE id = $1", row["key_id"])
        return _principal(row, "key", key_id=row["key_id"])

    async def by_session(self, token: str) -> Principal | None:
        row = await self.pool.fetchrow(_BY_SESSION, session_hash(token))
        if row is None or row["disabled"]:
            return None
        return _principal(row, "session", csrf_token=row["csrf_token"])

    async def by_user_id(self, user_id: int, via: str = "local") -> Principal | None:
        row = await self.pool.fetchrow(_BY_USER, user_id)
        return None if row is None or row["disabled"] else _principal(row, via)
