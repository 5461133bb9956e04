"""The browser app: static HTML, CSS and ES modules, with vendored libraries under ``vendor/``.

Everything is served under ``/assets/<digest>/``, where the digest covers every file, so a browser
may keep them forever (``immutable``) and a new release is fetched afresh; the page that names the
digest (``index.html``) is never cached. Relative imports between modules keep working unchanged.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

ROOT = Path(__file__).resolve().parent
INDEX = "index.html"
_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".wasm": "application/wasm",
          ".ttf": "font/ttf", ".pfb": "application/octet-stream", ".html": "text/html"}


def media_type(path: Path) -> str:
    return _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


@dataclass(frozen=True)
class WebAssets:
    root: Path = ROOT

    @cached_property
    def files(self) -> dict[str, Path]:
        """Servable files by their path under the root (no Python, no caches)."""
        return {p.relative_to(self.root).as_posix(): p for p in sorted(self.root.rglob("*"))
                if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}

    @cached_property
    def digest(self) -> str:
        h = hashlib.sha256()
        for name, path in self.files.items():
            h.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
        return h.hexdigest()[:16]

    @property
    def prefix(self) -> str:
        return f"/assets/{self.digest}"

    @cached_property
    def index_html(self) -> bytes:
        return (self.root / INDEX).read_text().replace("{{assets}}", self.prefix).encode()

    def find(self, name: str) -> Path | None:
        """A servable file by its relative name; nothing outside the root or the page template."""
        return None if name == INDEX else self.files.get(name)
