"""One exception tree for the service; the API maps it to HTTP in one place."""

from __future__ import annotations


class TSAError(Exception):
    """Base of every error the service raises on purpose."""

    code = "internal_error"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(TSAError):
    code, status = "invalid_request", 400


class InvalidValue(TSAError):
    """Well-formed, but a field's value is not acceptable (as pydantic's own 422s)."""

    code, status = "invalid_request", 422


class Unauthorized(TSAError):
    code, status = "unauthorized", 401


class Forbidden(TSAError):
    """Signed in, but without the right (a document the caller may not read is NotFound instead)."""

    code, status = "forbidden", 403


class RateLimited(TSAError):
    code, status = "rate_limited", 429

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Conflict(TSAError):
    code, status = "conflict", 409


class NotFound(TSAError):
    code, status = "not_found", 404


class UnknownModel(TSAError):
    code, status = "unknown_model", 404


class PayloadTooLarge(TSAError):
    code, status = "payload_too_large", 413


class RangeNotSatisfiable(TSAError):
    code, status = "range_not_satisfiable", 416

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


class UnsupportedDocument(TSAError):
    code, status = "unsupported_document", 415


class DocumentError(TSAError):
    """The file is corrupt, empty or encrypted: nothing could be extracted."""

    code, status = "invalid_document", 422


class EmbeddingSpaceMismatch(TSAError):
    """The store holds vectors from another embedding model."""

    code, status = "embedding_model_mismatch", 409


class BackendUnavailable(TSAError):
    """No LLM instance could serve the call (down, refused, timed out, busy)."""

    code, status = "backend_unavailable", 503
    retry_after_s = 2  # health probes and restarts bring instances back within seconds

    def __init__(self, message: str, reason: str = "connect", *, unsent: bool = False) -> None:
        super().__init__(message)
        self.reason = reason  # "connect", "timeout" or "busy"
        self.unsent = unsent  # no connection was made: the request never left, so nothing ran


class BackendError(TSAError):
    """An LLM instance answered with an error (``upstream_status`` None: broken mid-stream)."""

    code, status = "backend_error", 502

    def __init__(self, message: str, upstream_status: int | None = None) -> None:
        super().__init__(message)
        self.upstream_status = upstream_status

    @property
    def instance_fault(self) -> bool:
        """A 5xx or a broken stream says the instance is sick; a 4xx says the request was wrong."""
        return self.upstream_status is None or self.upstream_status >= 500


class FleetSaturated(TSAError):
    """Every instance that could serve the call is full and the queue is full or too slow."""

    code, status = "fleet_saturated", 503

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class DatabaseUnavailable(TSAError):
    """PostgreSQL cannot be reached (down, restarting, refusing connections)."""

    code, status = "database_unavailable", 503

    def __init__(self, message: str = "the database is unavailable; try again shortly", retry_after_s: int = 2
                 ) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class RuntimeConflict(TSAError):
    """Another process already runs the embedded services on this TSA_HOME."""

    code, status = "runtime_conflict", 409
