"""LLM instances: the Ollama protocol client and the fleet that routes calls."""

from tsa.fleet.client import ClientTimeouts, OllamaClient
from tsa.fleet.embedder import FleetEmbedder
from tsa.fleet.fleet import ChatStream, EmbedResult, Fleet

__all__ = ["ChatStream", "ClientTimeouts", "EmbedResult", "Fleet", "FleetEmbedder", "OllamaClient"]
