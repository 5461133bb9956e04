"""Durable ingestion jobs on procrastinate (PostgreSQL): the queue, the task, the workers."""

from tsa.jobs.queue import IngestQueue, JobPriority

__all__ = ["IngestQueue", "JobPriority"]
