"""LLM instances: the Ollama protocol client, routing policy, health, and the fleet that ties them."""

from tsa.fleet.admission import Priority
from tsa.fleet.client import ClientTimeouts, OllamaClient
from tsa.fleet.embedder import FleetEmbedder
from tsa.fleet.fleet import EmbedResult, Fleet, FleetOptions
from tsa.fleet.stream import ChatStream
from tsa.fleet.instance import Instance, InstanceConfig, State
from tsa.fleet.outliers import EjectionPolicy
from tsa.fleet.report import fleet_stats

__all__ = ["ChatStream", "ClientTimeouts", "EjectionPolicy", "EmbedResult", "Fleet", "FleetEmbedder",
           "FleetOptions", "Instance", "InstanceConfig", "OllamaClient", "Priority", "State", "fleet_stats"]
