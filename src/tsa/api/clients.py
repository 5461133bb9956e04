"""Who is asking, as a bounded metric label: a client id, a hashed API key, or "anonymous"."""

from __future__ import annotations

import hashlib
import re

_CLIENT_ID = re.compile(r"[A-Za-z0-9._:@-]{1,64}")
ANONYMOUS, OTHER, INVALID = "anonymous", "other", "invalid"


class ClientLabels:
    """The first ``max_clients`` distinct clients get their own label; later ones share "other",
    so a flood of made-up ids cannot grow the metric without bound. API keys are never exported,
    only a short hash of them."""

    def __init__(self, max_clients: int) -> None:
        self.max_clients = max_clients
        self._known: set[str] = set()

    def label(self, client_id: str | None, api_key: str | None) -> str:
        if client_id:
            name = client_id if _CLIENT_ID.fullmatch(client_id) else INVALID
        elif api_key:
            name = "key-" + hashlib.sha256(api_key.encode()).hexdigest()[:12]
        else:
            return ANONYMOUS
        if name in self._known or name == INVALID:
            return name
        if len(self._known) >= self.max_clients:
            return OTHER
        self._known.add(name)
        return name
