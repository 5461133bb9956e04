"""Extra GGUF chat models for the local engine: parsing and checks, no model loaded."""

import pytest

from tsa.engine.catalog import gguf_catalog


def test_gguf_models_are_named_as_ollama_names_them(tmp_path):
    first, second = tmp_path / "a.gguf", tmp_path / "b.gguf"
    first.write_bytes(b"x" * 10)
    second.write_bytes(b"y" * 3)
    specs = gguf_catalog(f" gemma3:270m={first} , tiny={second},")
    assert sorted(specs) == ["gemma3:270m", "tiny:latest"]
    assert specs["gemma3:270m"].kind == "chat"
    assert specs["gemma3:270m"].size_bytes == 10
    assert specs["tiny:latest"].size_bytes == 3


def test_no_gguf_models_when_unset():
    assert gguf_catalog("") == {}


@pytest.mark.parametrize("spec", ["gemma", "=/x.gguf", "gemma="])
def test_a_malformed_entry_is_refused(spec):
    with pytest.raises(ValueError, match="expected name=path"):
        gguf_catalog(spec)


def test_a_missing_file_is_refused_at_start(tmp_path):
    with pytest.raises(ValueError, match="no file at"):
        gguf_catalog(f"gemma={tmp_path / 'missing.gguf'}")
