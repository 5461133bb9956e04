"""An exclusive lock on TSA_HOME, so two processes never run the same embedded data."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from tsa.errors import RuntimeConflict


class HomeLock:
    """Held for as long as embedded services run on ``home``.

    The kernel drops an ``flock`` when its holder dies, so a crash never leaves a stale lock.
    """

    def __init__(self, home: Path) -> None:
        self.path = home / "tsa.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RuntimeConflict(
                f"TSA_HOME {self.path.parent} is in use by another tsa process (pid {holder}); "
                "stop it, or set TSA_HOME to another folder") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
