"""Workers: run ingestion jobs, retry what failed for a passing reason, take up the work of dead workers.

Any number of processes on any number of machines run ``running_worker`` against one database.
Each sends procrastinate heartbeats; a worker that stops sending them (killed, machine lost) has
its jobs queued again by whichever worker notices first. A job retried too often is given up
with the reason, so one poisonous document cannot circle for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
import psycopg
from procrastinate import JobContext, RetryDecision
from procrastinate.exceptions import JobAborted
from procrastinate.job_context import AbortReason
from procrastinate.jobs import Job, Status
from procrastinate.retry import BaseRetryStrategy

from tsa import metrics
from tsa.errors import BackendError, BackendUnavailable
from tsa.ingest.pipeline import IngestPipeline
from tsa.jobs.queue import QUEUE, TASK, IngestQueue, JobPriority
from tsa.store.lexical import compact_counts

log = logging.getLogger(__name__)

# Trouble that passes: the fleet or the database away for a while.
TRANSIENT: tuple[type[BaseException], ...] = (
    BackendUnavailable, BackendError, OSError, TimeoutError, asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError, asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError, psycopg.OperationalError)


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int = 2
    max_attempts: int = 5
    retry_base_s: float = 5.0
    retry_max_s: float = 300.0
    heartbeat_s: float = 10.0
    stalled_after_s: float = 30.0
    shutdown_grace_s: float = 10.0
    # Embedded mode: this process owns the database, so every job marked running is an orphan.
    sole_owner: bool = False


class _Backoff(BaseRetryStrategy):
    """Transient failures wait base, 2×base, 4×base … (capped); a stopping worker's job goes back at once."""

    def __init__(self, options: WorkerOptions) -> None:
        self.options = options

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, asyncio.CancelledError):
            return RetryDecision(retry_in={"seconds": 0})
        if not isinstance(exception, TRANSIENT) or job.attempts + 1 >= self.options.max_attempts:
            return None
        wait = min(self.options.retry_max_s, self.options.retry_base_s * 2 ** job.attempts)
        return RetryDecision(retry_in={"seconds": int(wait)})


def _reason(exc: BaseException) -> str:
    return getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"


def register_ingest_task(queue: IngestQueue, pipeline: IngestPipeline, options: WorkerOptions) -> None:
    """The one task: carry a document through parsing, embedding and publishing."""
    if TASK in queue.app.tasks:
        return
    store = pipeline.store

    async def requeued(document_id: uuid.UUID, note: str) -> None:
        """Back in the queue (a live document being parsed again stays live meanwhile)."""
        await store.progress(document_id, "queued", error=note)

    async def given_up(document_id: uuid.UUID, reparse: bool, reason: str) -> None:
        metrics.INGEST_JOBS.labels("gave_up").inc()
        if reparse:  # the live chunks stay
            await store.progress(document_id, "ready", error=f"re-parsing failed: {reason}")
        else:
            await store.mark_failed(document_id, reason)

    @queue.app.task(name=TASK, queue=QUEUE, pass_context=True, retry=_Backoff(options))
    async def ingest_document(context: JobContext, document_id: str, reparse: bool = False) -> None:
        doc = uuid.UUID(document_id)
        attempt = context.job.attempts
        try:
            await pipeline.process(doc, reparse=reparse, attempt=attempt)
        except asyncio.CancelledError:
            if context.abort_reason() == AbortReason.USER_REQUEST:
                metrics.INGEST_JOBS.labels("cancelled").inc()
                raise JobAborted from None
            metrics.INGEST_JOBS.labels("interrupted").inc()
            await asyncio.shield(requeued(doc, "interrupted: the worker stopped; queued again"))
            raise
        except TRANSIENT as exc:
            if attempt + 1 >= options.max_attempts:
                await given_up(doc, reparse, f"gave up after {attempt + 1} attempts: {_reason(exc)}")
            else:
                metrics.INGEST_JOBS.labels("retried").inc()
                await requeued(doc, f"attempt {attempt + 1} failed, retrying: {_reason(exc)}")
            raise
        except Exception as exc:
            log.exception("ingestion job for %s failed", document_id)
            await given_up(doc, reparse, f"internal error: {_reason(exc)}")
            raise
        metrics.INGEST_JOBS.labels("completed").inc()


async def recover_stalled(queue: IngestQueue, pipeline: IngestPipeline, options: WorkerOptions,
                          silent_for_s: float) -> int:
    """Queue again the jobs of workers silent for ``silent_for_s``; give up on a job after its last attempt."""
    manager = queue.app.job_manager
    recovered = 0
    for job in await manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=silent_for_s):
        try:
            if job.attempts + 1 >= options.max_attempts:
                await manager.finish_job(job, status=Status.FAILED, delete_job=False)
                await pipeline.store.mark_failed(uuid.UUID(job.task_kwargs["document_id"]),
                                                 f"its worker stopped {job.attempts + 1} times while processing it")
                continue
            await manager.retry_job(job)
            recovered += 1
        except psycopg.Error as exc:  # another worker took it up first
            log.debug("stalled job %s left alone: %s", job.id, exc)
    await manager.prune_stalled_workers(silent_for_s)
    if recovered:
        log.warning("queued again %d job(s) of stopped workers", recovered)
        metrics.INGEST_STALLED_RECOVERED.inc(recovered)
    return recovered


async def requeue_orphans(pipeline: IngestPipeline, older_than_s: float) -> int:
    """Documents recorded but never queued (their process stopped in between) get their job."""
    orphans = await pipeline.store.unfinished_without_job(older_than_s)
    for document_id in orphans:
        await pipeline.enqueue(document_id, JobPriority.BULK)
    if orphans:
        log.warning("queued %d document(s) that had no job", len(orphans))
    return len(orphans)


_QUEUE_SQL = """
SELECT j.priority, count(*) FILTER (WHERE j.status = 'todo') AS waiting,
       count(*) FILTER (WHERE j.status = 'doing') AS running,
       coalesce(extract(epoch FROM now() - min(e.at) FILTER (WHERE j.status = 'todo')), 0) AS oldest
FROM procrastinate_jobs j
LEFT JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred'
WHERE j.queue_name = $1 AND j.status IN ('todo', 'doing')
GROUP BY j.priority
"""


def _priority_label(priority: int) -> str:
    return JobPriority.UPLOAD.label if priority > 0 else JobPriority.BULK.label if priority == 0 else \
        JobPriority.REPARSE.label


async def sample_queue(pool: asyncpg.Pool) -> None:
    """Queue depth and age by priority, and running jobs, into the gauges."""
    rows = await pool.fetch(_QUEUE_SQL, QUEUE)
    depth = dict.fromkeys(metrics.JOB_PRIORITIES, 0)
    age = dict.fromkeys(metrics.JOB_PRIORITIES, 0.0)
    running = 0
    for row in rows:
        label = _priority_label(row["priority"])
        depth[label] += row["waiting"]
        age[label] = max(age[label], float(row["oldest"]))
        running += row["running"]
    for label in metrics.JOB_PRIORITIES:
        metrics.INGEST_QUEUE_DEPTH.labels(label).set(depth[label])
        metrics.INGEST_QUEUE_AGE.labels(label).set(age[label])
    metrics.INGEST_JOBS_RUNNING.set(running)


async def sample_queue_forever(pool: asyncpg.Pool, every_s: float = 5.0) -> None:
    while True:
        try:
            await sample_queue(pool)
        except (OSError, asyncpg.PostgresError) as exc:
            log.debug("queue sampling failed: %s", exc)
        await asyncio.sleep(every_s)


async def _upkeep_forever(queue: IngestQueue, pipeline: IngestPipeline, options: WorkerOptions) -> None:
    while True:
        await asyncio.sleep(options.heartbeat_s)
        try:
            await recover_stalled(queue, pipeline, options, options.stalled_after_s)
            await requeue_orphans(pipeline, max(60.0, 2 * options.stalled_after_s))
            await compact_counts(pipeline.store.pool)
        except (*TRANSIENT, asyncpg.PostgresError, psycopg.Error) as exc:
            log.warning("worker upkeep failed (will try again): %s", exc)


@asynccontextmanager
async def running_worker(queue: IngestQueue, pipeline: IngestPipeline, options: WorkerOptions,
                         name: str | None = None) -> AsyncIterator[asyncio.Task[None]]:
    """A worker in this process while the block runs; on exit its running jobs get
    ``shutdown_grace_s`` to finish, then go back to the queue for another worker."""
    register_ingest_task(queue, pipeline, options)
    if options.sole_owner:
        await recover_stalled(queue, pipeline, options, 0)
    await requeue_orphans(pipeline, 0 if options.sole_owner else max(60.0, 2 * options.stalled_after_s))
    worker = asyncio.create_task(queue.app.run_worker_async(
        queues=[QUEUE], concurrency=options.concurrency, name=name or f"{socket.gethostname()}:{os.getpid()}",
        install_signal_handlers=False, update_heartbeat_interval=options.heartbeat_s,
        stalled_worker_timeout=options.stalled_after_s, shutdown_graceful_timeout=options.shutdown_grace_s,
        delete_jobs="successful", abort_job_polling_interval=1.0), name="ingest-worker")
    upkeep = asyncio.create_task(_upkeep_forever(queue, pipeline, options), name="ingest-worker-upkeep")
    try:
        yield worker
    finally:
        upkeep.cancel()
        worker.cancel()
        for task in (upkeep, worker):
            with contextlib.suppress(asyncio.CancelledError):
                await task
