"""Who is asking, as a bounded metric label: the signed-in user (and key), else a self-declared
client id, else "anonymous"."""

from __future__ import annotations

import re

from tsa.access import Principal

_CLIENT_ID = re.compile(r"[A-Za-z0-9._:@-]{1,64}")
ANONYMOUS, OTHER, INVALID = "anonymous", "other", "invalid"


class ClientLabels:
    """The first ``max_clients`` distinct clients get their own label; later ones share "other",
    so a flood of made-up ids cannot grow the metric without bound. A signed-in caller is named by
    the account (``user:alice``, or ``user:alice/key:12`` for a key), whatever X-Client-Id says."""

    def __init__(self, max_clients: int) -> None:
        self.max_clients = max_clients
        self._known: set[str] = set()

    def label(self, client_id: str | None, principal: Principal | None = None) -> str:
        if principal is not None:
            name = f"user:{principal.username}" + (f"/key:{principal.key_id}" if principal.key_id else "")
        elif client_id:
            name = client_id if _CLIENT_ID.fullmatch(client_id) else INVALID
        else:
            return ANONYMOUS
        if name in self._known or name == INVALID:
            return name
        if len(self._known) >= self.max_clients:
            return OTHER
        self._known.add(name)
        return name
