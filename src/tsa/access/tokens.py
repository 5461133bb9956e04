"""API keys, session tokens and CSRF tokens: generation, parsing and hashing (pure).

A key reads ``tsa_<prefix>_<secret>``. The prefix (8 characters) is stored in clear and shown in
listings so a key can be recognised; the secret (43 characters, 256 bits) is stored only as its
SHA-256 and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_SCHEME = "tsa"
_PREFIX_CHARS = 8


@dataclass(frozen=True)
class NewKey:
    prefix: str
    secret: str

    @property
    def token(self) -> str:
        return f"{KEY_SCHEME}_{self.prefix}_{self.secret}"


def new_key() -> NewKey:
    # token_hex for the prefix: no "_" inside, so the token splits unambiguously.
    return NewKey(secrets.token_hex(_PREFIX_CHARS // 2), secrets.token_urlsafe(32))


def parse_key(token: str) -> tuple[str, str] | None:
    """(prefix, secret), or None when the token is not shaped like one of our keys."""
    scheme, _, rest = token.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != KEY_SCHEME or len(prefix) != _PREFIX_CHARS or not secret:
        return None
    return prefix, secret


def secret_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def secret_matches(secret: str, stored_hash: bytes) -> bool:
    return hmac.compare_digest(secret_hash(secret), stored_hash)


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def session_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_matches(presented: str | None, expected: str | None) -> bool:
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())
