"""Signed-in callers remembered in this process, valid while nothing about access has changed.

An entry holds the caller found for a credential and the access generation it was read at. On
each request the caller's current generation is read (with the corpus generation, in a query the
answer path makes anyway); any change to accounts, keys, sessions, groups, collections or grants
advances it, so a stale entry is never used. Credentials are kept only as SHA-256 digests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import OrderedDict

from tsa.access.principals import Lookup


def credential_digest(kind: str, token: str) -> bytes:
    return hashlib.sha256(f"{kind}\x00{token}".encode()).digest()


def still_valid(entry: Lookup, access_generation: str, now: dt.datetime) -> bool:
    """Nothing about access changed since the entry was read, and its key or session has not expired."""
    return entry.generations.access == access_generation and (entry.expires_at is None or entry.expires_at > now)


class PrincipalCache:
    """Least recently used entries go first once ``max_entries`` are held."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[bytes, Lookup] = OrderedDict()

    def get(self, digest: bytes) -> Lookup | None:
        entry = self._entries.get(digest)
        if entry is not None:
            self._entries.move_to_end(digest)
        return entry

    def put(self, digest: bytes, entry: Lookup) -> None:
        self._entries[digest] = entry
        self._entries.move_to_end(digest)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def drop(self, digest: bytes) -> None:
        self._entries.pop(digest, None)

    def __len__(self) -> int:
        return len(self._entries)
