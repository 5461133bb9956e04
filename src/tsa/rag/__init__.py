"""The RAG chat service: retrieve, build a cited prompt, generate; each step cached."""

from tsa.rag.answer import Answer, cacheable
from tsa.rag.prompt import NO_CONTEXT_ANSWER, PROMPT_VERSION
from tsa.rag.service import Caches, Question, RagService, Retrieval, forget_answers_of, source_of

__all__ = ["NO_CONTEXT_ANSWER", "PROMPT_VERSION", "Answer", "Caches", "Question", "RagService", "Retrieval",
           "cacheable", "forget_answers_of", "source_of"]
