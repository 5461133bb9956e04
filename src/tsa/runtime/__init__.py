"""Starts the embedded PostgreSQL, Redis and engine when no URL is configured."""

from tsa.runtime.services import EmbeddedServices, Endpoints, database_only, embedded_services

__all__ = ["EmbeddedServices", "Endpoints", "database_only", "embedded_services"]
