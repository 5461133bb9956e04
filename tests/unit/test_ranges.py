"""Byte ranges of the Range header: pure."""

from __future__ import annotations

import pytest

from tsa.api.ranges import Unsatisfiable, requested_range


@pytest.mark.parametrize(("header", "expected"), [
    (None, None),
    ("bytes=0-99", (0, 99)),
    ("bytes=100-", (100, 999)),
    ("bytes=-100", (900, 999)),
    ("bytes=-5000", (0, 999)),  # more than there is: all of it
    ("bytes=990-2000", (990, 999)),  # the end is clipped
    ("bytes=0-1,5-9", None),  # several ranges: the whole file
    ("items=0-5", None),
])
def test_byte_ranges(header, expected):
    found = requested_range(header, 1000)
    assert (found.start, found.end) == expected if expected else found is None


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=500-400", "bytes=-0"])
def test_unsatisfiable_ranges(header):
    with pytest.raises(Unsatisfiable):
        requested_range(header, 1000)
