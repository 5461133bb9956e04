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


class NotFound(TSAError):
    code, status = "not_found", 404


class UnknownModel(TSAError):
    code, status = "unknown_model", 404


class PayloadTooLarge(TSAError):
    code, status = "payload_too_large", 413


class UnsupportedDocument(TSAError):
    code, status = "unsupported_document", 415


class DocumentError(TSAError):
    """The file is corrupt, empty or encrypted: nothing could be extracted."""

    code, status = "invalid_document", 422


class EmbeddingSpaceMismatch(TSAError):
    """The store holds vectors from another embedding model."""

    code, status = "embedding_model_mismatch", 409


class BackendUnavailable(TSAError):
    """No LLM instance could serve the call (down, refused, timed out)."""

    code, status = "backend_unavailable", 503


class BackendError(TSAError):
    """An LLM instance answered with an error."""

    code, status = "backend_error", 502


class RuntimeConflict(TSAError):
    """Another process already runs the embedded services on this TSA_HOME."""

    code, status = "runtime_conflict", 409
