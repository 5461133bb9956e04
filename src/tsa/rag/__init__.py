"""The RAG chat service: retrieve, build a cited prompt, generate."""

from tsa.rag.prompt import NO_CONTEXT_ANSWER, PROMPT_VERSION
from tsa.rag.service import Answer, Question, RagService, source_of

__all__ = ["NO_CONTEXT_ANSWER", "PROMPT_VERSION", "Answer", "Question", "RagService", "source_of"]
