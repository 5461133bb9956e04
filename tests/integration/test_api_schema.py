"""Schemathesis against the service's own OpenAPI schema: every documented operation, with an
admin's and a viewer's key, must answer without server errors and only as documented."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import new_user

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
          "negative_data_rejection,missing_required_header,unsupported_method")
# Left out, each for its reason: adding an instance makes the service probe whatever URL was generated
# (traffic to arbitrary hosts); revoking key ids the generator guesses would revoke the very key the
# run signs in with. Both have tests of their own.
EXCLUDED = ("add_instance_api_fleet_instances_post", "revoke_key_api_keys__key_id__delete")


async def _schemathesis(base_url: str, token: str, report: Path) -> tuple[int, str]:
    args = [str(Path(sys.executable).parent / "st"), "run", f"{base_url}/openapi.json", "--checks", CHECKS,
            "--max-examples", "12", "--seed", "1", "--workers", "1", "--request-timeout", "60",
            "--generation-database", "none", "--no-color", "-H", f"Authorization: Bearer {token}",
            "--report", "junit", "--report-junit-path", str(report)]
    for operation_id in EXCLUDED:
        args += ["--exclude-operation-id", operation_id]
    process = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE, cwd=report.parent,
                                                   stderr=asyncio.subprocess.STDOUT)  # its cache stays there
    output, _ = await asyncio.wait_for(process.communicate(), 600)
    return process.returncode, output.decode(errors="replace")


@pytest.fixture
def fuzz_settings(settings, engines):
    async def configure():
        engine = (await engines(1, "--bench-embed-ms", "1", "--bench-token-ms", "1"))[0]
        settings.ollama_instances = [engine.url]
        settings.embedding_model, settings.chat_model = "bench-embed", "bench-chat"
        settings.rate_limit_user_per_minute = settings.rate_limit_key_per_minute = 0  # measure the API, not limits
        settings.login_attempts_per_minute = 0
        return settings

    return configure


async def test_schemathesis_finds_no_server_error_and_no_undocumented_response(fuzz_settings, service_for,
                                                                             tmp_path):
    async with service_for(await fuzz_settings()) as (container, admin):
        await admin.post("/api/documents", files={"file": ("m.md", b"# Manual\n\n## Seal\n\nReplace the seal.")})
        viewer = await new_user(container, "viewer")
        for name, token in (("viewer", viewer["token"]), ("admin", admin.headers["authorization"].split()[1])):
            code, output = await _schemathesis(str(admin.base_url).rstrip("/"), token, tmp_path / f"{name}.xml")
            assert code == 0, f"schemathesis as {name}:\n{output[-6000:]}"
