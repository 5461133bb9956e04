"""The HTTP API."""

from tsa.api.app import create_app

__all__ = ["create_app"]
