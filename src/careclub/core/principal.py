"""Who is asking: resolved once per request (or job) and carried in the ASGI scope."""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, cast


@dataclass(frozen=True, slots=True)
class TenantInfo:
    id: uuid.UUID
    slug: str
    name: str
    currency: str
    timezone: str
    locale: str


@dataclass(slots=True)
class Principal:
    tenant: TenantInfo
    user_id: uuid.UUID
    email: str
    display_name: str
    kind: str
    locale: str | None
    # permission -> the org-unit paths where it is held (each covers its subtree)
    grants: dict[str, set[str]] = field(default_factory=dict)
    roles: set[str] = field(default_factory=set)
    token_id: uuid.UUID | None = None
    session_id: str | None = None

    def can(self, permission: str) -> bool:
        return permission in self.grants

    def scope(self, permission: str) -> list[str]:
        """The subtree roots (paths) where the permission holds, most general first."""
        paths = sorted(self.grants.get(permission, ()), key=len)
        kept: list[str] = []
        for p in paths:
            if not any(p.startswith(k) for k in kept):
                kept.append(p)
        return kept

    def covers(self, permission: str, unit_path: str | None) -> bool:
        if unit_path is None:
            return any(p.count("/") <= 2 for p in self.grants.get(permission, ()))
        return any(unit_path.startswith(p) for p in self.grants.get(permission, ()))


def principal_in(scope: Any) -> Principal | None:
    """The principal the request middleware resolved (None when anonymous)."""
    return cast("Principal | None", scope.get("principal"))


@dataclass(frozen=True, slots=True)
class Actor:
    """Whoever the audit trail names for a write: a person, a job or the CLI."""

    id: uuid.UUID | None
    name: str


_SYSTEM = Actor(None, "system")
_actor: ContextVar[Actor] = ContextVar("careclub_actor", default=_SYSTEM)


def current_actor() -> Actor:
    return _actor.get()


def set_actor(actor: Actor) -> None:
    _actor.set(actor)
