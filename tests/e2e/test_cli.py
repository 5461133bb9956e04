"""`tsa ingest` and `tsa ask` on the embedded defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SAMPLE_PDF
from tests.e2e.conftest import processes_using, tsa

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_ingest_a_folder_then_ask(home, user_env, tmp_path):
    folder = tmp_path / "manuals"
    folder.mkdir()
    (folder / "hf22.pdf").write_bytes(SAMPLE_PDF.read_bytes())
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (folder / "ignored.bin").write_bytes(b"\x00\x01")

    ingested = tsa("ingest", str(folder), env=user_env)
    assert ingested.returncode == 1, "a failed file makes the command fail"
    assert "hf22.pdf" in ingested.stdout and "ready" in ingested.stdout
    assert "broken.pdf" in ingested.stdout and "failed" in ingested.stdout
    assert "ignored.bin" not in ingested.stdout

    asked = tsa("ask", "Which seal kit do I need for the mechanical seal?", "--max-tokens", "40", env=user_env)
    assert asked.returncode == 0, asked.stderr
    assert "HydroFlow HF-22" in asked.stdout and "4.3 Replacing the mechanical seal" in asked.stdout
    assert processes_using(home) == []


def test_status_of_a_service_that_is_not_there(user_env):
    from tsa.runtime.children import free_port

    result = tsa("status", "--url", f"http://127.0.0.1:{free_port()}", env=user_env, timeout=60)
    assert result.returncode == 1 and "cannot read the status" in result.stderr


def test_missing_path_is_a_usage_error(user_env):
    result = tsa("ingest", str(Path("/nonexistent/manual.pdf")), env=user_env, timeout=60)
    assert result.returncode == 2 and "no such file" in result.stderr
