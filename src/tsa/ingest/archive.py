"""Zip archives of manuals for bulk import: which members to take, and reading them one at a time.

The archive itself is never unpacked as a whole: each member is checked by the size it declares
(``zipfile`` holds it to that size while reading) and read on its own, so memory stays bounded by
the largest single file allowed. Every member that cannot be taken gets its own reason.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

from tsa.errors import DocumentError, PayloadTooLarge, TSAError, UnsupportedDocument


@dataclass(frozen=True)
class PlannedMember:
    info: zipfile.ZipInfo
    name: str  # the path inside the archive, as listed
    problem: TSAError | None = None


def is_archive(filename: str, head: bytes) -> bool:
    """A zip to unpack (by name and signature); a DOCX is a zip too but is a document."""
    return filename.lower().endswith(".zip") and head.startswith(b"PK")


def unsafe_path(name: str) -> str | None:
    """Why a member's name must not be trusted, or None. Names are never used as paths on disk,
    but a name that climbs out of the archive is a sign of a hostile archive and is refused."""
    if "\x00" in name:
        return "its name contains a NUL character"
    windows = PureWindowsPath(name)
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or windows.is_absolute() or windows.drive:
        return "its path is absolute"
    if ".." in posix.parts:
        return "its path climbs out of the archive ('..')"
    return None


def plan_members(infos: list[zipfile.ZipInfo], max_file_bytes: int, max_total_bytes: int, max_files: int
                 ) -> list[PlannedMember]:
    """Every file member, with the reason it will not be imported where there is one."""
    planned: list[PlannedMember] = []
    total = 0
    for info in infos:
        if info.is_dir():
            continue
        name = info.filename
        problem: TSAError | None = None
        if reason := unsafe_path(name):
            problem = DocumentError(f"refused: {reason}")
        elif is_archive(name, b"PK"):
            problem = UnsupportedDocument("archives inside an archive are not unpacked")
        elif info.flag_bits & 0x1:
            problem = DocumentError("the member is encrypted")
        elif info.file_size > max_file_bytes:
            problem = PayloadTooLarge(f"unpacks to {info.file_size} bytes; the limit is {max_file_bytes} "
                                      "(MAX_UPLOAD_BYTES)")
        elif len(planned) >= max_files:
            problem = PayloadTooLarge(f"the archive holds more than {max_files} files (MAX_BATCH_FILES)")
        elif total + info.file_size > max_total_bytes:
            problem = PayloadTooLarge(f"the archive unpacks to more than {max_total_bytes} bytes "
                                      "(MAX_BATCH_UNPACKED_MB); a decompression bomb?")
        else:
            total += info.file_size
        planned.append(PlannedMember(info, name, problem))
    return planned


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """One member's bytes (blocking); a damaged member is a ``DocumentError``."""
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError) as exc:
        raise DocumentError(f"the member could not be unpacked: {exc}") from None
