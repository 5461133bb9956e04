from pathlib import Path
from uuid import uuid4

import pytest
from pydantic import ValidationError

from tsa.config import Settings
from tsa.rag.prompt import NO_CONTEXT_ANSWER, build_messages, is_relevant, snippet
from tsa.records import SearchHit
from tsa.runtime.redis_server import socket_path_for
from tsa.store.migrate import Migration, bundled_migrations, pending


def test_instances_are_split_and_validated(monkeypatch):
    monkeypatch.setenv("OLLAMA_INSTANCES", "http://a:11434/, http://b:11434")
    assert Settings().ollama_instances == ["http://a:11434", "http://b:11434"]
    monkeypatch.setenv("OLLAMA_INSTANCES", "a:11434")
    with pytest.raises(ValidationError, match="must start with http"):
        Settings()


def test_defaults_and_env_names(monkeypatch, tmp_path):
    monkeypatch.setenv("TSA_HOME", str(tmp_path))
    monkeypatch.setenv("EMBEDDING_CACHE_TTL", "60")
    settings = Settings()
    assert settings.tsa_home == tmp_path and settings.embedding_cache_ttl == 60
    assert settings.database_url is None and settings.chat_model == "smollm2:135m"


def test_overlap_must_be_small_against_chunk_size():
    with pytest.raises(ValidationError, match="less than half"):
        Settings(chunk_max_chars=400, chunk_overlap_chars=300)


def _hit(similarity: float, ranks: dict[str, int]) -> SearchHit:
    return SearchHit(1, uuid4(), 1, "Manual", "m.pdf", 4, 5, ("4 Maintenance",), "text", 0.03, similarity, ranks)


def test_relevance_needs_meaning_or_an_exact_identifier():
    assert is_relevant(_hit(0.5, {"vector": 1}), 0.25)
    assert is_relevant(_hit(0.05, {"identifier": 1}), 0.25)
    assert not is_relevant(_hit(0.05, {"vector": 1, "fulltext": 3}), 0.25)


def test_prompt_numbers_passages_with_title_pages_and_section():
    messages = build_messages("How?", [_hit(0.5, {"vector": 1})])
    assert messages[0]["role"] == "system" and "[1]" in messages[0]["content"]
    assert "[1] Manual, pages 4-5 — 4 Maintenance\ntext" in messages[1]["content"]
    assert messages[1]["content"].endswith("Question: How?\nAnswer:")
    assert "not" in NO_CONTEXT_ANSWER


def test_snippet_cuts_at_a_word():
    assert snippet("word " * 100, 20) == "word word word word …"


def test_migrations_are_ordered_and_only_missing_ones_run():
    bundled = bundled_migrations()
    assert [m.version for m in bundled] == sorted(m.version for m in bundled) and bundled[0].version == 1
    ms = [Migration(1, "a", ""), Migration(2, "b", ""), Migration(3, "c", "")]
    assert [m.version for m in pending(ms, {1, 3})] == [2]


def test_long_redis_socket_paths_move_to_a_short_stable_place():
    short = Path("/tmp/h/redis")
    assert socket_path_for(short) == short / "redis.sock"
    deep = Path("/tmp/" + "x" * 120)
    assert socket_path_for(deep) == socket_path_for(deep) and len(str(socket_path_for(deep))) < 100


def test_urls_lose_their_password_in_logs():
    from tsa.cli import _redact

    assert _redact("postgresql://tsa:secret@db:5432/tsa") == "postgresql://tsa:***@db:5432/tsa"
    assert _redact("redis://cache:6379/0") == "redis://cache:6379/0"
