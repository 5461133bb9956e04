"""The web app in Chromium against a real `tsa serve`: how soon a technician sees the first token,
against the API's own time to first token for the same questions, and what the chat page costs to load.

    python -m bench.web_app [--questions N]

For each question (from evals/hf22.yaml, none cached, each in a conversation of its own): the API's
time from sending the request to the first `token` event (httpx, streaming), then in the browser the
time from pressing Enter to the first token drawn on the page (the app records it after the next
animation frame); the engine forgets its last prompt before each. Needs Debian's Chromium
(`./scripts/install-browser`).
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx
import yaml
from playwright.sync_api import sync_playwright

from bench.common import ROOT, percentile, table, tsa_serve

CHROMIUM = "/usr/lib/chromium/chromium"


def api_first_token_ms(base: str, headers: dict[str, str], question: str) -> float:
    started = time.perf_counter()
    with httpx.stream("POST", f"{base}/api/rag-chat", headers=headers, timeout=300, json={
            "query": question, "stream": True, "cache": "no-cache", "max_tokens": 32}) as response:
        for line in response.iter_lines():
            if line == "event: token":
                return (time.perf_counter() - started) * 1000
    raise RuntimeError(f"no token for {question!r}")


def forget_prompt(base: str, headers: dict[str, str]) -> None:
    """llama.cpp keeps the last prompt evaluated, so whichever path asked second would skip most of
    its prompt evaluation; an unrelated one-token chat in between makes both start cold."""
    response = httpx.post(f"{base}/api/chat", headers=headers, timeout=300, json={
        "model": "smollm2:135m", "stream": False, "options": {"num_predict": 1},
        "messages": [{"role": "user", "content": "Name a colour."}]})
    if response.status_code != 200:
        raise RuntimeError(f"{response.status_code} {response.text}")


def main(args: argparse.Namespace) -> None:
    cases = yaml.safe_load((ROOT / "evals" / "hf22.yaml").read_text())["cases"]
    questions = [c["question"] for c in cases if not c.get("unanswerable")][:args.questions]
    with tsa_serve() as served:
        with httpx.Client(base_url=served.base, headers=served.headers, timeout=300) as http:
            sent = http.post("/api/documents", files={"file": ("hf22-service-manual.pdf",
                                                               (ROOT / "samples" / "hf22-service-manual.pdf").read_bytes())})
            document_id = sent.json()["document_id"]
            while http.get(f"/api/documents/{document_id}").json()["status"] == "processing":
                time.sleep(0.2)
        password = (served.home / "admin.password").read_text().strip()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            loaded: list[tuple[str, str, int]] = []
            page.on("requestfinished", lambda r: loaded.append((r.resource_type, r.url, r.sizes()["responseBodySize"])))
            page.goto(served.base + "/")
            page.get_by_label("User name").fill("admin")
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_label("Question").wait_for()
            page.wait_for_load_state("networkidle")
            first_load = list(loaded)
            api_ms, page_ms = [], []
            for question in questions:
                forget_prompt(served.base, served.headers)
                api_ms.append(api_first_token_ms(served.base, served.headers, question))
                forget_prompt(served.base, served.headers)
                # A conversation of its own, as the API call: a follow-up would first be rewritten.
                page.get_by_role("link", name="New conversation").click()
                page.locator(".turn").wait_for(state="detached")
                page.get_by_label("Question").fill(question)
                page.get_by_label("Question").press("Enter")
                page.locator(".turn .answer-body:not(.streaming), .turn .notice.error").first.wait_for(timeout=300_000)
                if page.locator(".turn .notice.error").count():
                    raise RuntimeError(f"{question!r}: {page.locator('.turn .notice.error').text_content()}")
                page_ms.append(page.evaluate("window.tsaTimings.at(-1).first_token_ms"))
            browser.close()
    scripts = [(url, size) for kind, url, size in first_load if kind == "script"]
    rows = [[name, len(values), round(statistics.median(values), 1), round(percentile(values, 95), 1)]
            for name, values in (("API: request to first token event", api_ms),
                                 ("browser: Enter to first token drawn", page_ms))]
    gaps = [p - a for a, p in zip(api_ms, page_ms, strict=True)]
    rows.append(["difference (browser − API), per question", len(gaps), round(statistics.median(gaps), 1),
                 round(percentile(gaps, 95), 1)])
    print(table(["first token", "questions", "median ms", "p95 ms"], rows))
    print()
    print(table(["first load of the chat page (after sign-in)", "value"], [
        ["requests", len(first_load)],
        ["JavaScript files", len(scripts)],
        ["JavaScript bytes", sum(size for _, size in scripts)],
        ["all bytes", sum(size for _, _, size in first_load)],
    ]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=12, help="questions asked both ways")
    main(parser.parse_args())
