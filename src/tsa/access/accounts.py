"""Users, groups, API keys and sessions in PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from tsa.access.passwords import hash_password, verify_password
from tsa.access.tokens import new_csrf_token, new_key, new_session_token, secret_hash, session_hash
from tsa.errors import Conflict, NotFound

_USER_COLUMNS = "id, username, role, disabled, created_at, (password_hash IS NOT NULL) AS has_password"
_KEY_COLUMNS = "id, user_id, name, prefix, created_at, expires_at, revoked_at, last_used_at"
# One first admin even when several replicas start at once on an empty database.
_BOOTSTRAP_LOCK = 7_261_845_002


def _json(row: asyncpg.Record) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in dict(row).items()}


class Accounts:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    # --- users ---------------------------------------------------------------------------------

    async def create_user(self, username: str, role: str, password: str | None = None) -> dict[str, Any]:
        hashed = await hash_password(password) if password else None
        try:
            row = await self.pool.fetchrow(
                f"INSERT INTO users (username, role, password_hash) VALUES ($1, $2, $3) RETURNING {_USER_COLUMNS}",
                username, role, hashed)
        except asyncpg.UniqueViolationError:
            raise Conflict(f"a user named {username!r} already exists") from None
        return _json(row)

    async def users(self) -> list[dict[str, Any]]:
        return [_json(r) for r in await self.pool.fetch(f"SELECT {_USER_COLUMNS} FROM users ORDER BY id")]

    async def user(self, user_id: int) -> dict[str, Any]:
        row = await self.pool.fetchrow(f"SELECT {_USER_COLUMNS} FROM users WHERE id = $1", user_id)
        if row is None:
            raise NotFound(f"user {user_id} not found")
        return _json(row)

    async def update_user(self, user_id: int, *, role: str | None = None, password: str | None = None,
                          disabled: bool | None = None) -> dict[str, Any]:
        hashed = await hash_password(password) if password else None
        row = await self.pool.fetchrow(
            f"UPDATE users SET role = coalesce($2, role), password_hash = coalesce($3, password_hash),"
            f" disabled = coalesce($4, disabled) WHERE id = $1 RETURNING {_USER_COLUMNS}",
            user_id, role, hashed, disabled)
        if row is None:
            raise NotFound(f"user {user_id} not found")
        if password or disabled:  # a new password or a disabled account ends every session
            await self.pool.execute("DELETE FROM sessions WHERE user_id = $1", user_id)
        return _json(row)

    async def delete_user(self, user_id: int) -> None:
        if await self.pool.fetchval("DELETE FROM users WHERE id = $1 RETURNING id", user_id) is None:
            raise NotFound(f"user {user_id} not found")

    async def check_password(self, username: str, password: str) -> int | None:
        """The user's id if the password is right; None otherwise, equally slow for unknown names."""
        row = await self.pool.fetchrow(
            "SELECT id, password_hash, disabled FROM users WHERE lower(username) = lower($1)", username)
        ok = await verify_password(row["password_hash"] if row else None, password)
        return row["id"] if ok and row is not None and not row["disabled"] else None

    async def bootstrap_admin(self, username: str = "admin", password: str | None = None) -> str | None:
        """On a store with no users: an admin (with ``password`` for the web app, if given) and a key
        for it (the token, shown once). Else None."""
        password_hash = await hash_password(password) if password else None
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _BOOTSTRAP_LOCK)
            if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM users)"):
                return None
            user_id = await conn.fetchval(
                "INSERT INTO users (username, role, password_hash) VALUES ($1, 'admin', $2) RETURNING id",
                username, password_hash)
            token, _ = await _insert_key(conn, user_id, "first admin key", None)
            return token

    # --- API keys ------------------------------------------------------------------------------

    async def create_key(self, user_id: int, name: str, expires_at: dt.datetime | None) -> tuple[str, dict]:
        """The token (to show once) and the key's listing."""
        async with self.pool.acquire() as conn:
            try:
                token, row = await _insert_key(conn, user_id, name, expires_at)
            except asyncpg.ForeignKeyViolationError:
                raise NotFound(f"user {user_id} not found") from None
        return token, _json(row)

    async def keys(self, user_id: int | None = None) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE $1::bigint IS NULL OR user_id = $1 ORDER BY id", user_id)
        return [_json(r) for r in rows]

    async def key_owner(self, key_id: int) -> int:
        owner = await self.pool.fetchval("SELECT user_id FROM api_keys WHERE id = $1", key_id)
        if owner is None:
            raise NotFound(f"key {key_id} not found")
        return owner

    async def revoke_key(self, key_id: int) -> dict[str, Any]:
        row = await self.pool.fetchrow(
            f"UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING {_KEY_COLUMNS}",
            key_id)
        if row is None:
            raise NotFound(f"key {key_id} not found")
        return _json(row)

    # --- sessions ------------------------------------------------------------------------------

    async def open_session(self, user_id: int, ttl_s: int) -> tuple[str, str]:
        """(session token for the cookie, CSRF token for the page)."""
        token, csrf = new_session_token(), new_csrf_token()
        await self.pool.execute(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at)"
            " VALUES ($1, $2, $3, now() + make_interval(secs => $4))", session_hash(token), user_id, csrf, ttl_s)
        await self.pool.execute("DELETE FROM sessions WHERE expires_at < now()")
        return token, csrf

    async def close_session(self, token: str) -> None:
        await self.pool.execute("DELETE FROM sessions WHERE token_hash = $1", session_hash(token))

    # --- groups --------------------------------------------------------------------------------

    async def create_group(self, name: str) -> dict[str, Any]:
        try:
            row = await self.pool.fetchrow("INSERT INTO groups (name) VALUES ($1) RETURNING id, name, created_at",
                                           name)
        except asyncpg.UniqueViolationError:
            raise Conflict(f"a group named {name!r} already exists") from None
        return {**_json(row), "members": []}

    async def groups(self) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT g.id, g.name, g.created_at, coalesce(array_agg(m.user_id ORDER BY m.user_id)"
            " FILTER (WHERE m.user_id IS NOT NULL), '{}') AS members"
            " FROM groups g LEFT JOIN group_members m ON m.group_id = g.id GROUP BY g.id ORDER BY g.id")
        return [_json(r) for r in rows]

    async def delete_group(self, group_id: int) -> None:
        if await self.pool.fetchval("DELETE FROM groups WHERE id = $1 RETURNING id", group_id) is None:
            raise NotFound(f"group {group_id} not found")

    async def add_member(self, group_id: int, user_id: int) -> None:
        try:
            await self.pool.execute("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)"
                                    " ON CONFLICT DO NOTHING", group_id, user_id)
        except asyncpg.ForeignKeyViolationError:
            raise NotFound(f"group {group_id} or user {user_id} not found") from None

    async def remove_member(self, group_id: int, user_id: int) -> None:
        if await self.pool.fetchval("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2 RETURNING 1",
                                    group_id, user_id) is None:
            raise NotFound(f"user {user_id} is not in group {group_id}")


async def _insert_key(conn: asyncpg.Connection, user_id: int, name: str, expires_at: dt.datetime | None
                      ) -> tuple[str, asyncpg.Record]:
    """The new key's token (shown once) and its row."""
    key = new_key()
    row = await conn.fetchrow(
        "INSERT INTO api_keys (user_id, name, prefix, secret_hash, expires_at) VALUES ($1, $2, $3, $4, $5)"
        f" RETURNING {_KEY_COLUMNS}", user_id, name, key.prefix, secret_hash(key.secret), expires_at)
    return key.token, row
