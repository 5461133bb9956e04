"""The local Ollama-compatible model server (``tsa engine``)."""

from tsa.engine.catalog import default_catalog
from tsa.engine.manager import ModelManager
from tsa.engine.server import create_engine_app

__all__ = ["ModelManager", "create_engine_app", "default_catalog"]
