"""The web app in Debian's Chromium (Playwright), against a real ``tsa serve`` on its embedded defaults:
its own PostgreSQL, Redis and model engine, the sample manual ingested, one account per role."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.serving import wait_ready
from tsa.runtime.children import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/lib/chromium/chromium"  # the real binary; /usr/bin/chromium is a wrapper script
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
ARTIFACTS = ROOT / "artifacts" / "browser"
CONFIG_VARS = ("DATABASE_URL", "REDIS_URL", "OLLAMA_INSTANCES", "CHAT_MODEL", "EMBEDDING_MODEL")
PASSWORD = "correct horse battery"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}


@dataclass(frozen=True)
class Server:
    url: str
    home: Path
    admin_key: str
    admin_password: str

    def api(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=120,
                                 headers={"Authorization": f"Bearer {self.admin_key}"})

    async def wait_processed(self, document_id: str) -> dict:
        async with self.api() as http:
            for _ in range(900):
                document = (await http.get(f"/api/documents/{document_id}")).json()
                if document["status"] != "processing":
                    return document
                await asyncio.sleep(0.2)
        raise AssertionError(f"document {document_id} never finished")


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("web-home")
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env.update(TSA_HOME=str(home), COLUMNS="200", GRAFANA_URL="http://grafana.example:3000")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = home / "serve.log"
    with open(log, "w") as output:
        process = subprocess.Popen([sys.executable, "-m", "tsa", "serve", "--port", str(port), "--ingest",
                                    str(ROOT / "samples" / "hf22-service-manual.pdf")], env=env,
                                   stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_ready(url, process, log)
        running = Server(url, home, (home / "admin.key").read_text().strip(),
                         (home / "admin.password").read_text().strip())
        with httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {running.admin_key}"}) as http:
            users = {}
            for name, role in (("erin", "editor"), ("vic", "viewer")):
                made = http.post("/api/users", json={"username": name, "role": role, "password": PASSWORD})
                assert made.status_code == 201
                users[name] = made.json()["id"]
            default = next(c for c in http.get("/api/collections").json()["collections"] if c["name"] == "default")
            assert http.put(f"/api/collections/{default['id']}/grants/users/{users['erin']}",
                            json={"permission": "edit"}).status_code == 204
            for _ in range(900):  # the sample manual, queued by --ingest
                documents = http.get("/api/documents").json()["documents"]
                if documents and all(d["status"] == "ready" for d in documents):
                    break
                time.sleep(0.2)
            else:
                raise AssertionError(f"the sample manual was not ingested: {documents}")
        yield running
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM}


@pytest.fixture(scope="session")
def base_url(server) -> str:
    return server.url


@pytest.fixture(autouse=True)
def console_errors(page: Page) -> Iterator[list[str]]:
    """Every test ends with no error in the browser's console and no uncaught exception."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    yield errors
    assert errors == []


async def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    await page.goto("/")
    await page.get_by_label("User name").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("header.top .who")).to_contain_text(username)


async def ask(page: Page, question: str) -> None:
    """Asks in the open conversation and waits for the finished answer."""
    count = await page.locator(".turn").count()
    await page.get_by_label("Question").fill(question)
    await page.get_by_label("Question").press("Enter")
    finished = page.locator(".turn").nth(count).locator(".answer-body:not(.streaming)")
    await expect(finished).to_be_visible(timeout=180_000)


async def axe_violations(page: Page) -> list[dict]:
    """Serious and critical accessibility violations on the page as shown (axe-core, vendored)."""
    await page.evaluate(AXE.read_text())
    return await page.evaluate("""async () => {
        const result = await axe.run(document, { resultTypes: ["violations"] });
        return result.violations.filter((v) => ["serious", "critical"].includes(v.impact))
            .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }));
    }""")


async def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^a-z0-9-]+', '-', name.lower())}.png"
    await page.screenshot(path=path, full_page=True)
    return path
