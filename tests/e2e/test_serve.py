"""`tsa serve` on the embedded defaults: upload the sample manual, ask, get the right page cited."""

from __future__ import annotations

import io
import signal
import time

import httpx
import pytest
from pypdf import PdfReader

from tests.e2e.conftest import processes_using, serve_seeded, tsa
from tests.serving import wait_ready
from tsa.runtime.children import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _page_with(pdf: bytes, text: str) -> int:
    pages = PdfReader(io.BytesIO(pdf)).pages
    return next(n for n, page in enumerate(pages, start=1) if text in page.extract_text())


def test_serve_upload_ask_cites_the_page_and_stops_cleanly(home, user_env, sample_pdf, tmp_path):
    base, server, log = serve_seeded(tmp_path, user_env, "dryer.md",
                                     "# Dryer DR-4\n\n## Alarms\n\nAlarm A-05 means the dew point is too high.\n")
    try:
        wait_ready(base, server, log)
        second = tsa("serve", "--port", str(free_port()), env=user_env, timeout=60)
        assert second.returncode == 1 and "in use by another tsa process" in second.stderr

        # No accounts were there: the first start created an admin, printed its key and kept it in TSA_HOME.
        key = (home / "admin.key").read_text().strip()
        assert key.startswith("tsa_") and key in log.read_text()
        assert (home / "admin.key").stat().st_mode & 0o077 == 0
        # And a password for the web app, kept the same way, that signs in.
        password = (home / "admin.password").read_text().strip()
        assert password in log.read_text() and (home / "admin.password").stat().st_mode & 0o077 == 0
        signed_in = httpx.post(f"{base}/api/auth/login", json={"username": "admin", "password": password}, timeout=30)
        assert signed_in.status_code == 200 and signed_in.json()["user"]["role"] == "admin"
        page = httpx.get(f"{base}/", headers={"Accept": "text/html"}, timeout=30)
        assert page.status_code == 200 and '<main id="view"' in page.text
        assert httpx.get(f"{base}/", timeout=30).text == "Ollama is running"  # what Ollama clients probe for
        anonymous = httpx.get(f"{base}/api/documents", timeout=30)
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
        with httpx.Client(base_url=base, timeout=120, headers={"Authorization": f"Bearer {key}"}) as http:
            upload = http.post("/api/documents", files={"file": ("hf22-service-manual.pdf", sample_pdf)})
            assert upload.status_code == 202
            document_id = upload.json()["document_id"]
            for _ in range(600):
                document = http.get(f"/api/documents/{document_id}").json()
                if document["status"] != "processing":
                    break
                time.sleep(0.2)
            assert document["status"] == "ready", document
            sources = {d["source"]: d["status"] for d in http.get("/api/documents").json()["documents"]}
            assert sources == {"hf22-service-manual.pdf": "ready", "dryer.md": "ready"}
            answer = http.post("/api/rag-chat", json={
                "query": "What is the tightening torque of the impeller nut?", "max_tokens": 48}).json()
        expected_page = _page_with(sample_pdf, "Impeller nut")
        assert expected_page in [source["page"] for source in answer["sources"]]
        assert answer["answer"].strip()
        refused = tsa("status", "--url", base, env=user_env, timeout=60)
        assert refused.returncode == 1 and "API key" in refused.stderr
        shown = tsa("status", "--url", base, env={**user_env, "TSA_API_KEY": key}, timeout=60)
        assert shown.returncode == 0, shown.stderr
        for expected in ("ready", "LLM fleet — 1/1 healthy", "all-minilm:latest", "Caches", "inference"):
            assert expected in shown.stdout, expected
    finally:
        server.send_signal(signal.SIGTERM)
        exit_code = server.wait(60)
    assert exit_code == 0
    assert processes_using(home) == [], "embedded PostgreSQL, Redis and engine must stop with tsa serve"
