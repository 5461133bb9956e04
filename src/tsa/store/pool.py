"""The asyncpg connection pool."""

from __future__ import annotations

import asyncpg


async def create_pool(database_url: str, *, min_size: int = 1, max_size: int = 10,
                      command_timeout_s: float = 30.0) -> asyncpg.Pool:
    # strict_order: a filtered HNSW scan (by collection) keeps scanning until it has enough rows
    # that pass, in exact distance order (pgvector >= 0.8; older versions ignore the setting).
    return await asyncpg.create_pool(database_url, min_size=min_size, max_size=max_size,
                                     command_timeout=command_timeout_s, timeout=10.0,
                                     server_settings={"hnsw.iterative_scan": "strict_order"})


def vector_literal(vector: list[float]) -> str:
    """pgvector's text form; passed as ``$n::text::vector`` so no client codec is needed."""
    return "[" + ",".join(f"{x:.7g}" for x in vector) + "]"


# InternalClientError ("cannot switch to state …") is what a pooled connection whose server died in
# the middle of an operation raises on its next use (seen in bench.soak when PostgreSQL was killed).
DATABASE_DOWN = (asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError, asyncpg.ConnectionDoesNotExistError,
                 asyncpg.AdminShutdownError, asyncpg.CrashShutdownError, asyncpg.InterfaceError,
                 asyncpg.InternalClientError)


def database_down(exc: BaseException) -> bool:
    """Does ``exc`` mean PostgreSQL is unreachable (rather than a bug)? asyncpg's connection errors, and
    a refused or missing socket met while asyncpg was connecting."""
    if isinstance(exc, DATABASE_DOWN):
        return True
    if not isinstance(exc, OSError):
        return False
    frame = exc.__traceback__
    while frame is not None:
        if "/asyncpg/" in frame.tb_frame.f_code.co_filename:
            return True
        frame = frame.tb_next
    return False
