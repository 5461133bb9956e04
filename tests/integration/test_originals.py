"""Uploaded files kept in PostgreSQL and served back with ETag and byte ranges, within the caller's scope."""

from __future__ import annotations

import pytest

from tests.integration.conftest import client_as, new_user, wait_until_processed
from tsa.store.originals import PART_BYTES

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Over three parts, so that ranges cross part boundaries; each line says where it is.
BIG = ("# Pump manual\n\n" + "".join(f"Line {n:06d} of the maintenance chapter.\n" for n in range(20_000))).encode()


async def _upload(client, name: str, content: bytes, collection: str = "default") -> str:
    response = await client.post("/api/documents", files={"file": (name, content)}, data={"collection": collection})
    assert response.status_code == 202, response.text
    return (await wait_until_processed(client, response.json()["document_id"]))["id"]


async def test_the_original_comes_back_whole_and_by_ranges(bench_settings, api_for):
    assert len(BIG) > 3 * PART_BYTES
    async with api_for(bench_settings) as api:
        document = await _upload(api, "manual.md", BIG)
        whole = await api.get(f"/api/documents/{document}/file")
        assert whole.status_code == 200 and whole.content == BIG
        assert whole.headers["content-type"].startswith("text/markdown")
        assert whole.headers["accept-ranges"] == "bytes" and int(whole.headers["content-length"]) == len(BIG)
        assert whole.headers["content-security-policy"] == "sandbox"  # shown, never run
        etag = whole.headers["etag"]
        start = PART_BYTES - 10  # across the first part boundary
        ranged = await api.get(f"/api/documents/{document}/file", headers={"Range": f"bytes={start}-{start + 99}"})
        assert ranged.status_code == 206 and ranged.content == BIG[start:start + 100]
        assert ranged.headers["content-range"] == f"bytes {start}-{start + 99}/{len(BIG)}"
        tail = await api.get(f"/api/documents/{document}/file", headers={"Range": "bytes=-42"})
        assert tail.status_code == 206 and tail.content == BIG[-42:]
        spanning = await api.get(f"/api/documents/{document}/file",
                                 headers={"Range": f"bytes=100-{2 * PART_BYTES + 500}"})
        assert spanning.content == BIG[100:2 * PART_BYTES + 501]
        beyond = await api.get(f"/api/documents/{document}/file", headers={"Range": f"bytes={len(BIG)}-"})
        assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(BIG)}"
        unchanged = await api.get(f"/api/documents/{document}/file", headers={"If-None-Match": etag})
        assert unchanged.status_code == 304 and unchanged.content == b""


async def test_originals_follow_access_and_leave_with_their_last_document(bench_settings, service_for):
    async with service_for(bench_settings) as (container, admin):
        content = b"# Valve V-3\n\nReplace the seat every 2000 hours.\n"
        await container.access.collections.create("team-private")
        shared = await _upload(admin, "v3.md", content)
        private = await _upload(admin, "v3-copy.md", content, "team-private")
        count = "SELECT count(*) FROM originals"
        assert await container.pool.fetchval(count) == 1, "identical content is stored once"
        viewer = await new_user(container, "viewer")
        async with client_as(admin, viewer["headers"]) as as_viewer:
            assert (await as_viewer.get(f"/api/documents/{shared}/file")).content == content
            assert (await as_viewer.get(f"/api/documents/{private}/file")).status_code == 404
        assert (await admin.delete(f"/api/documents/{shared}")).status_code == 204
        assert await container.pool.fetchval(count) == 1, "still used by the other document"
        assert (await admin.get(f"/api/documents/{private}/file")).content == content
        assert (await admin.delete(f"/api/documents/{private}")).status_code == 204
        assert await container.pool.fetchval(count) == 0
        assert await container.pool.fetchval("SELECT count(*) FROM original_parts") == 0


async def test_a_replaced_version_takes_its_original_along(bench_settings, service_for):
    async with service_for(bench_settings) as (container, api):
        await _upload(api, "pump.md", b"# Pump\n\nTorque: 25 N m.\n")
        await _upload(api, "pump.md", b"# Pump\n\nTorque: 28 N m.\n")
        documents = (await api.get("/api/documents")).json()["documents"]
        assert len(documents) == 1
        assert (await api.get(f"/api/documents/{documents[0]['id']}/file")).content.endswith(b"28 N m.\n")
        assert await container.pool.fetchval("SELECT count(*) FROM originals") == 1
