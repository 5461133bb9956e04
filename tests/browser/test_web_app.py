"""The web app as its users meet it: technicians ask, editors keep the library, admins run it."""

from __future__ import annotations

import io
import json
import uuid

import asyncpg
import httpx
import pytest
from playwright.async_api import Page, expect
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from tests.browser.conftest import LAPTOP, PHONE, Server, ask, axe_violations, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Records every change of the newest answer's text while it streams: (characters, still streaming).
WATCH_STREAM = """() => {
    window.streamSeen = [];
    new MutationObserver(() => {
        const bodies = document.querySelectorAll(".answer-body");
        const body = bodies[bodies.length - 1];
        if (body) window.streamSeen.push([body.textContent.length, body.classList.contains("streaming")]);
    }).observe(document.querySelector(".transcript"), { subtree: true, childList: true, characterData: true });
}"""


async def test_ask_streams_tokens_then_cites_and_opens_the_page_highlighted(page: Page, server: Server):
    await sign_in(page, "vic")
    await page.evaluate(WATCH_STREAM)
    await ask(page, "What torque do the casing bolts need?")
    seen = await page.evaluate("window.streamSeen")
    final = await page.locator(".answer-body").last.text_content()
    # Text was on the page while the answer was still streaming, and more came after it.
    assert any(streaming and 0 < chars for chars, streaming in seen), seen
    assert any(streaming and 0 < chars < len(final) for chars, streaming in seen), (seen, final)

    sources = page.locator(".turn .sources .source")
    await expect(sources.first).to_contain_text("HydroFlow HF-22")
    await expect(sources.first).to_contain_text("p. 2")
    await sources.first.locator(".source-open").click()
    sheet = page.locator(".viewer .pdf-page")
    await expect(sheet).to_have_attribute("data-page", "2", timeout=60_000)
    highlighted = page.locator(".viewer .textLayer span.passage")
    await expect(highlighted.filter(has_text="25 N·m")).to_have_count(1)
    # The same words elsewhere on the page (the specification table above) stay unmarked.
    assert (await highlighted.all_text_contents()).count("Casing bolts") == 1
    assert "Maximum head" not in await highlighted.all_text_contents()
    await screenshot(page, "ask-with-citation-laptop")


def _small_pdf(marker: str) -> bytes:
    data = io.BytesIO()
    pdf = canvas.Canvas(data, pagesize=A4)
    for number in range(1, 4):
        pdf.setFont("Helvetica-Bold", 16)
        pdf.drawString(72, 780, f"Chiller CX-{marker} service notes, page {number}")
        pdf.setFont("Helvetica", 11)
        for line in range(30):
            pdf.drawString(72, 740 - 20 * line, f"Check {number}.{line}: compressor oil level and refrigerant {marker}.")
        pdf.showPage()
    pdf.save()
    return data.getvalue()


async def test_upload_is_followed_from_queued_to_ready_without_reload_then_deleted(page: Page, server: Server, tmp_path):
    marker = uuid.uuid4().hex[:6]
    path = tmp_path / f"chiller-{marker}.pdf"
    path.write_bytes(_small_pdf(marker))
    await sign_in(page, "erin")
    await page.get_by_role("link", name="Library").click()
    await expect(page.get_by_role("heading", name="Library")).to_be_visible()
    await page.evaluate("window.notReloaded = true")
    await page.locator(".upload > input[type=file]").set_input_files(path)
    row = page.locator(f"tbody tr:has-text('chiller-{marker}.pdf')")
    await expect(row.locator(".stage")).to_contain_text("Ready", timeout=120_000)
    await expect(page.locator(".uploads li", has_text=path.name)).to_contain_text("Ready")
    assert await page.evaluate("window.notReloaded") is True
    document_id = await row.get_attribute("data-id")

    await screenshot(page, "library-laptop")
    page.on("dialog", lambda d: pytest.fail(f"a native dialog appeared: {d.message}"))
    await row.get_by_role("button", name=f"Delete chiller-{marker}.pdf").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    await expect(row).to_have_count(0)
    async with server.api() as http:
        assert (await http.get(f"/api/documents/{document_id}")).status_code == 404


async def test_a_follow_up_keeps_its_conversation_which_reappears_after_a_reload(page: Page, server: Server):
    await sign_in(page, "vic")
    await ask(page, "What is the tightening torque of the casing bolts?")
    await ask(page, "and the impeller nut?")
    follow_up = page.locator(".turn").nth(1)
    await expect(follow_up.locator(".sources")).to_contain_text("Tightening torques")
    conversation = await page.evaluate("location.hash")
    assert conversation.startswith("#/ask/")

    await page.reload()
    await expect(page.locator(".turn")).to_have_count(2)
    await expect(page.locator(".turn .q").nth(1)).to_have_text("Question: and the impeller nut?")
    await expect(page.locator(".conversations li.current")).to_contain_text("casing bolts")


async def test_feedback_on_an_answer_is_stored(page: Page, server: Server):
    await sign_in(page, "vic")
    await ask(page, "How many casing bolts hold the pump casing?")
    await page.get_by_role("button", name="Not helpful").click()
    comment = f"wrong count {uuid.uuid4().hex[:6]}"
    await page.get_by_label("Comment (optional)").fill(comment)
    await page.get_by_label("The right answer (optional)").fill("8 bolts, M8x1.25")
    await page.get_by_role("button", name="Send feedback").click()
    await expect(page.locator(".feedback")).to_contain_text("feedback saved")
    async with server.api() as http:
        stored = [f for f in (await http.get("/api/feedback")).json()["feedback"] if f["comment"] == comment]
    assert len(stored) == 1
    assert stored[0]["rating"] == "down" and stored[0]["corrected_answer"] == "8 bolts, M8x1.25"
    assert stored[0]["question"] == "How many casing bolts hold the pump casing?"


async def test_a_viewer_sees_no_library_or_admin_and_the_api_refuses_them_too(page: Page, server: Server):
    await sign_in(page, "vic")
    await expect(page.get_by_role("link", name="Library")).to_be_hidden()
    await expect(page.get_by_role("link", name="Admin")).to_be_hidden()
    for address in ("/#/library", "/#/admin/users"):
        await page.goto(address)
        await expect(page.get_by_label("Question")).to_be_visible()
        await expect(page.locator(".dropzone, .admin")).to_have_count(0)
    # The viewer's own signed-in session, with its CSRF token, is refused by the API itself.
    csrf = next(c["value"] for c in await page.context.cookies() if c["name"] == "tsa_csrf")
    upload = await page.request.post("/api/documents", headers={"X-CSRF-Token": csrf},
                               multipart={"file": {"name": "x.md", "mimeType": "text/markdown", "buffer": b"# x"}})
    assert upload.status == 403
    assert (await page.request.get("/api/users")).status == 403
    assert (await page.request.get("/api/audit")).status == 403


async def _store_turn(server: Server, conversation: str, answer: str, sources: list[dict]) -> None:
    """A turn as the service keeps it, with an answer a model could write."""
    connection = await asyncpg.connect(host=str(server.home / "postgres"), user="postgres", database="postgres")
    try:
        user_id = await connection.fetchval("SELECT id FROM users WHERE username = 'vic'")
        await connection.execute("INSERT INTO conversations (user_id, id, title) VALUES ($1, $2, 'hostile')",
                                 user_id, conversation)
        await connection.execute(
            "INSERT INTO conversation_turns (user_id, conversation_id, ordinal, question, standalone, rewrite, answer,"
            " sources, model) VALUES ($1, $2, 1, 'q', 'q', 'none', $3, $4::jsonb, 'smollm2:135m')",
            user_id, conversation, answer, json.dumps(sources))
    finally:
        await connection.close()


async def test_hostile_text_in_a_document_and_in_an_answer_renders_as_text(page: Page, server: Server):
    hostile = '<script>window.pwned = 1</script> <img src=x onerror="window.pwned = 2"> Valve V-77 torque 9 N·m'
    async with server.api() as http:
        sent = await http.post("/api/documents", files={"file": ("hostile.md", f"# Valve V-77\n\n{hostile}\n".encode())})
        assert sent.status_code == 202
    assert (await server.wait_processed(sent.json()["document_id"]))["status"] == "ready"
    await sign_in(page, "vic")
    await ask(page, "What torque does valve V-77 need?")
    snippet = page.locator(".source", has_text="Valve V-77").first.locator(".snippet")
    await expect(snippet).to_contain_text('<img src=x onerror="window.pwned = 2">')

    conversation = f"hostile-{uuid.uuid4().hex[:8]}"
    answer = ('Use 9 N·m [1]. <img src=x onerror="window.pwned = 3"><script>window.pwned = 4</script>'
              ' [click](javascript:window.pwned=5)')
    source = {"document_id": str(uuid.uuid4()), "title": "<b onmouseover=alert(1)>Valve</b>", "source": "hostile.md",
              "page": None, "chunk_id": 1, "snippet": "<script>window.pwned = 6</script>", "hazard": None}
    await _store_turn(server, conversation, answer, [source])
    await page.goto(f"/#/ask/{conversation}")
    body = page.locator(".answer-body").first
    await expect(body).to_contain_text('<img src=x onerror="window.pwned = 3">')
    await expect(body.locator(".cite")).to_have_text("[1]")
    assert await page.locator(".transcript img, .transcript script, .transcript [onerror], .transcript b").count() == 0
    assert await page.locator(".answer-body a[href^='javascript']").count() == 0
    assert await page.evaluate("window.pwned") is None


async def test_no_serious_accessibility_violations_on_any_page_phone_and_laptop(page: Page, server: Server):
    for size, viewport in (("phone", PHONE), ("laptop", LAPTOP)):
        await page.set_viewport_size(viewport)
        await page.context.clear_cookies()
        await page.goto("/")
        await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        await screenshot(page, f"sign-in-{size}")
        assert await axe_violations(page) == [], f"sign-in ({size})"
        await sign_in(page, "admin", server.admin_password)
        await ask(page, "What torque does the impeller nut need?")
        await screenshot(page, f"ask-{size}")
        assert await axe_violations(page) == [], f"ask ({size})"
        await page.locator(".source-open").first.click()
        await expect(page.locator(".viewer .pdf-page, .viewer mark.passage").first).to_be_visible(timeout=60_000)
        await screenshot(page, f"source-{size}")
        assert await axe_violations(page) == [], f"source ({size})"
        await page.goto("/#/library")
        await expect(page.get_by_role("heading", name="Library")).to_be_visible()
        await expect(page.locator("tbody tr").first).to_be_visible()
        await screenshot(page, f"library-{size}")
        assert await axe_violations(page) == [], f"library ({size})"
        for tab in ("users", "groups", "keys", "collections", "fleet", "cache", "audit"):
            await page.goto(f"/#/admin/{tab}")
            await expect(page.locator(".tabs a[aria-current='page']")).to_have_text(tab)
            await expect(page.locator(".admin-body h2")).to_be_visible()
            await screenshot(page, f"admin-{tab}-{size}")
            assert await axe_violations(page) == [], f"admin {tab} ({size})"
        await expect(page.get_by_role("link", name="Grafana ↗")).to_have_attribute("href", "http://grafana.example:3000")


async def test_the_chat_page_loads_little_javascript_and_assets_are_cached_by_content(page: Page, server: Server):
    responses = []
    page.on("response", lambda r: responses.append(r) if r.request.resource_type == "script" else None)
    await sign_in(page, "vic")
    await expect(page.get_by_label("Question")).to_be_visible()
    scripts = [(r.url, len(await r.body())) for r in responses]
    total = sum(size for _, size in scripts)
    assert total < 150_000, scripts
    assert not [url for url, _ in scripts if "pdf" in url]  # the PDF renderer waits until a document is opened
    asset = next(url for url, _ in scripts if url.endswith("/js/app.js"))
    async with httpx.AsyncClient(timeout=30) as http:
        cached = await http.get(asset)
        page_headers = (await http.get(server.url + "/", headers={"Accept": "text/html"})).headers
    assert cached.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert page_headers["cache-control"] == "no-cache"
    assert "script-src 'self'" in page_headers["content-security-policy"]
