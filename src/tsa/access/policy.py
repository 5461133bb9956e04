"""Who may read or edit what: pure decisions, no I/O.

A caller's scope is the set of collections they may read and the subset they may edit.
Roles cap what grants give: a viewer granted "edit" still only reads; an admin may do all.

>>> scope = scope_for("editor", [1, 2, 3], [LEVELS["read"], LEVELS["edit"], LEVELS["none"]])
>>> sorted(scope.readable), sorted(scope.editable)
([1, 2], [2])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum


class Role(IntEnum):
    """Ordered: each role may do what the ones below it may."""

    viewer = 1
    editor = 2
    admin = 3


ROLE_NAMES = tuple(r.name for r in Role)
LEVELS = {"none": 0, "read": 1, "edit": 2}


def role_allows(role: Role, required: Role) -> bool:
    return role >= required


def effective_level(role: Role, granted: int) -> int:
    """What a caller really gets on a collection, given the best of its grants and "everyone"."""
    if role is Role.admin:
        return LEVELS["edit"]
    cap = LEVELS["edit"] if role is Role.editor else LEVELS["read"]
    return min(granted, cap)


@dataclass(frozen=True)
class Scope:
    """Collection ids the caller may read, and those it may also edit (a subset)."""

    readable: frozenset[int]
    editable: frozenset[int]


def scope_for(role: Role | str, collection_ids: Sequence[int], granted_levels: Sequence[int]) -> Scope:
    role = Role[role] if isinstance(role, str) else role
    levels = [(cid, effective_level(role, level)) for cid, level in zip(collection_ids, granted_levels, strict=True)]
    return Scope(frozenset(cid for cid, level in levels if level >= LEVELS["read"]),
                 frozenset(cid for cid, level in levels if level >= LEVELS["edit"]))


@dataclass(frozen=True)
class Principal:
    """A signed-in caller: the user, how they proved it, and what they may reach."""

    user_id: int
    username: str
    role: Role
    scope: Scope
    via: str  # "key", "session" or "local" (the CLI on its own store)
    key_id: int | None = None
    csrf_token: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    def may(self, required: Role) -> bool:
        return role_allows(self.role, required)

    def can_read(self, collection_id: int) -> bool:
        return collection_id in self.scope.readable

    def can_edit(self, collection_id: int) -> bool:
        return collection_id in self.scope.editable
