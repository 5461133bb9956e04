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


def test_users_create_admin_then_a_viewer_and_list_them(user_env):
    admin = tsa("users", "create-admin", "chief", "--password", "long enough password", env=user_env, timeout=120)
    assert admin.returncode == 0, admin.stderr
    assert "Created admin chief" in admin.stdout and "tsa_" in admin.stdout
    viewer = tsa("users", "create", "tech1", "--role", "viewer", env=user_env, timeout=120)
    assert viewer.returncode == 0, viewer.stderr
    again = tsa("users", "create", "TECH1", env=user_env, timeout=120)
    assert again.returncode == 1 and "already exists" in again.stderr
    short = tsa("users", "create", "tech2", "--password", "short", env=user_env, timeout=60)
    assert short.returncode == 2 and "at least 10 characters" in short.stderr
    listed = tsa("users", "list", env=user_env, timeout=120)
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if "chief" in line or "tech1" in line]
    assert len(rows) == 2 and "admin" in rows[0] and "viewer" in rows[1]
