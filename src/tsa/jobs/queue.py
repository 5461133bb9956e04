"""The ingestion queue: procrastinate's tables in our database, jobs deferred and cancelled by id.

procrastinate talks to PostgreSQL through psycopg 3 (its own small pool); the rest of the
service keeps asyncpg. Its schema is installed with our migrations, under the same lock.
"""

from __future__ import annotations

import enum
import uuid
from importlib.resources import files

import asyncpg
import procrastinate
from procrastinate.psycopg_connector import PsycopgConnector

QUEUE = "ingest"
TASK = "ingest_document"
PROCRASTINATE_VERSION = "3.10.0"


class JobPriority(enum.IntEnum):
    """Higher runs first: one upload a person waits for goes before a bulk import, re-parsing last."""

    REPARSE = -10
    BULK = 0
    UPLOAD = 10

    @property
    def label(self) -> str:
        return self.name.lower()


async def install_queue_schema(pool: asyncpg.Pool, lock_id: int) -> bool:
    """procrastinate's tables, once (True when installed now); serialised with our migrations."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", lock_id)
        if await conn.fetchval("SELECT to_regclass('procrastinate_jobs') IS NOT NULL"):
            return False
        await conn.execute(files("procrastinate.sql").joinpath("schema.sql").read_text(encoding="utf-8"))
        await conn.execute(
            "INSERT INTO store_meta (key, value) VALUES ('procrastinate_schema', $1)"
            " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", PROCRASTINATE_VERSION)
        return True


class IngestQueue:
    """Defers and cancels ingestion jobs; ``app`` is what workers run."""

    def __init__(self, database_url: str, max_connections: int = 4) -> None:
        self.app = procrastinate.App(connector=PsycopgConnector(
            conninfo=database_url, min_size=1, max_size=max_connections,
            kwargs={"application_name": "tsa-queue"}))

    async def open(self) -> None:
        await self.app.open_async()

    async def close(self) -> None:
        await self.app.close_async()

    async def defer(self, document_id: uuid.UUID, priority: JobPriority, *, reparse: bool = False) -> int:
        """One job for the document (its id is the job's lock: never two at once for one document)."""
        task = self.app.configure_task(TASK, queue=QUEUE, priority=int(priority), lock=str(document_id))
        return await task.defer_async(document_id=str(document_id), reparse=reparse)

    async def cancel(self, job_id: int) -> None:
        """Waiting: never runs. Running: its worker is told to stop it (within a second or so)."""
        await self.app.job_manager.cancel_job_by_id_async(job_id, abort=True)
