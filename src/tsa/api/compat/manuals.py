"""The manuals as a model: ``tsa`` answers from every collection the caller may read, ``tsa/<collection>``
from one. A chat with it runs the RAG pipeline — the last user message is the question, the turns
before it the conversation — and streams the answer in the chat's own chunks, ending with a short
"Sources" list; the structured sources travel in ``tsa_sources`` on the final chunk."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request

from tsa.access import Principal
from tsa.container import Container
from tsa.errors import InvalidRequest, UnknownModel
from tsa.fleet.stream import ChatStream, one_per_batch
from tsa.rag import Question
from tsa.rag.answer import Answer
from tsa.rag.followups import Turn


def is_manuals_model(manuals: str, model: str) -> bool:
    bare = model.removesuffix(":latest")  # Ollama clients add the tag
    return bare == manuals or bare.startswith(f"{manuals}/")


async def manuals_models(container: Container, principal: Principal) -> list[str]:
    """The names the caller may use: the model itself and one per readable collection."""
    name = container.settings.manuals_model
    readable = await container.access.collections.list(only=principal.scope.readable)
    return [name, *sorted(f"{name}/{c['name']}" for c in readable)]


async def _scope(container: Container, principal: Principal, model: str) -> frozenset[int]:
    bare = model.removesuffix(":latest")
    if bare == container.settings.manuals_model:
        return frozenset(principal.scope.readable)
    collection_id = await container.access.collections.id_of(bare.split("/", 1)[1])
    if collection_id is None or not principal.can_read(collection_id):  # unknown and unreadable look the same
        raise UnknownModel(f"model {model!r} not found")
    return frozenset({collection_id})


def conversation_of(messages: list[dict[str, Any]]) -> tuple[str, list[Turn]]:
    """The last user message, and the user/assistant pairs before it as earlier turns."""
    users = [n for n, m in enumerate(messages) if m.get("role") == "user"]
    if not users or not str(messages[users[-1]].get("content", "")).strip():
        raise InvalidRequest("a question for the manuals needs a user message")
    question = str(messages[users[-1]]["content"])
    history, asked = [], None
    for message in messages[:users[-1]]:
        if message.get("role") == "user":
            asked = str(message.get("content", ""))
        elif message.get("role") == "assistant" and asked is not None:
            history.append(Turn(asked, asked, str(message.get("content", ""))))
            asked = None
    return question, history


def sources_text(sources: list[dict[str, Any]]) -> str:
    if not sources:
        return ""
    lines = []
    for n, s in enumerate(sources, start=1):
        if s.get("kind") == "web":
            lines.append(f"[{s['label']}] {s['title']} — {s['url']} (web, retrieved {s['retrieved_at']})")
            continue
        edition = f", edition {s['edition']}" if s.get("edition") else ""
        pages = (f", pp. {s['page']}–{s['page_end']}" if s.get("page_end") and s["page_end"] != s.get("page")
                 else f", p. {s['page']}" if s.get("page") else "")
        lines.append(f"[{n}] {s['title']}{edition}{pages}")
    return "\n\nSources:\n" + "\n".join(lines)


async def _chunks(answer: Answer, model: str) -> AsyncIterator[dict[str, Any]]:
    def chunk(text: str, **more: Any) -> dict[str, Any]:
        return {"model": model, "created_at": dt.datetime.now(dt.UTC).isoformat(),
                "message": {"role": "assistant", "content": text}, "done": False, **more}

    async with contextlib.aclosing(answer.pieces()) as pieces:
        async for piece in pieces:
            yield chunk(piece)
    if listed := sources_text(answer.sources):
        yield chunk(listed)
    meta = answer.metadata()
    usage = meta.get("usage") or {}
    yield chunk("", done=True, done_reason="length" if answer.done_reason == "length" else "stop",
                tsa_sources=answer.sources,
                tsa_grounding=meta["grounding"], prompt_eval_count=usage.get("prompt_tokens", 0),
                eval_count=usage.get("completion_tokens", 0))


async def open_chat(container: Container, principal: Principal, request: Request, model: str,
                    messages: list[dict[str, Any]], options: dict[str, Any], extra: dict[str, Any]) -> ChatStream:
    """A chat on the fleet, or with the manuals when the model is the manuals model."""
    if not is_manuals_model(container.settings.manuals_model, model):
        return await container.fleet.open_chat(model, messages, options, extra=extra)
    scope = await _scope(container, principal, model)
    question, history = conversation_of(messages)
    standalone, _ = await container.rag.standalone(question, history)
    web_search, web_rules = await container.rag.web_policy(None, scope)
    answer = await container.rag.ask(Question(
        query=standalone, collections=scope, generation=request.state.corpus_generation,
        temperature=options.get("temperature", Question.temperature),
        max_tokens=options.get("num_predict", Question.max_tokens),
        max_tokens_requested="num_predict" in options, history=tuple(history), web_search=web_search,
        web_rules=web_rules))
    return ChatStream(answer.instance or "cache", one_per_batch(_chunks(answer, model)), answer.abandon)
