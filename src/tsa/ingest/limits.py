"""What one document may cost to parse, and the checks that hold a file to it before it is unpacked."""

from __future__ import annotations

import zipfile
from dataclasses import asdict, dataclass
from typing import Any

from tsa.errors import DocumentError


@dataclass(frozen=True)
class ParseLimits:
    max_pages: int = 2000
    # Everything a DOCX or ZIP holds, unpacked (a 2 MB DOCX can unpack to gigabytes).
    max_unpacked_bytes: int = 256 * 1024 * 1024
    # Text extracted from one document (a 60-page manual has about 200 000 characters).
    max_text_chars: int = 20_000_000
    memory_mb: int = 1024
    timeout_s: float = 600.0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def check_unpacked_size(archive: zipfile.ZipFile, limit: int, what: str) -> None:
    """Refuse an archive whose members claim more than ``limit`` bytes unpacked.

    The claims are what ``zipfile`` holds each member to while reading (it stops at the declared
    size and checks the CRC), so a member cannot unpack to more than it claims here."""
    total = 0
    for member in archive.infolist():
        total += member.file_size
        if total > limit:
            raise DocumentError(f"the {what} unpacks to more than {limit // (1024 * 1024)} MiB "
                                "(PARSE_MAX_UNPACKED_MB); it looks like a decompression bomb")
