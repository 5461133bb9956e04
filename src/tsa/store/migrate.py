"""Versioned SQL migrations, applied in order, once, under an advisory lock."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

import asyncpg

# Any constant works; it only has to be the same for every replica.
MIGRATION_LOCK = 7_261_845_001


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def bundled_migrations() -> list[Migration]:
    folder = files("tsa.store").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text()))
    return sorted(found, key=lambda m: m.version)


def pending(migrations: list[Migration], applied: set[int]) -> list[Migration]:
    return [m for m in migrations if m.version not in applied]


async def migrate(pool: asyncpg.Pool, migrations: list[Migration] | None = None) -> list[int]:
    """Apply what is missing; safe to call from many replicas at once. Returns versions applied."""
    migrations = bundled_migrations() if migrations is None else migrations
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())")
        applied = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        done = []
        for migration in pending(migrations, applied):
            await conn.execute(migration.sql)
            await conn.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                               migration.version, migration.name)
            done.append(migration.version)
    return done
