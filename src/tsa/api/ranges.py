"""HTTP byte ranges (RFC 9110 §14): which bytes a ``Range`` header asks for. Pure.

One range is served; a request for several gets the whole file (a server may ignore Range),
which PDF viewers handle. ``None`` means "the whole file", ``Unsatisfiable`` a ``416``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ONE_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class Unsatisfiable(ValueError):
    pass


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def requested_range(header: str | None, size: int) -> ByteRange | None:
    """>>> requested_range("bytes=0-99", 1000), requested_range("bytes=-100", 1000)
    (ByteRange(start=0, end=99), ByteRange(start=900, end=999))
    """
    if not header:
        return None
    match = _ONE_RANGE.fullmatch(header.strip().replace(" ", ""))
    if match is None:
        return None  # several ranges, or a unit other than bytes: the whole file
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable(header)
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise Unsatisfiable(header)
    return ByteRange(start, end)
