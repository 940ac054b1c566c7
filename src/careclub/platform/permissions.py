"""Permissions, built-in roles and the one guard every endpoint goes through.

An endpoint states what it needs in its `opt`: `permission=Perm.X` or `public=True`. The app
refuses to start if any endpoint states neither (see `check_every_route_is_guarded`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from careclub.core.errors import Forbidden, Unauthorized
from careclub.core.principal import principal_in


class Perm(StrEnum):
    DASHBOARD_VIEW = "dashboard.view"
    ORG_READ = "org.read"
    ORG_MANAGE = "org.manage"
    STAFF_READ = "staff.read"
    STAFF_MANAGE = "staff.manage"
    ROLES_MANAGE = "roles.manage"
    AUDIT_READ = "audit.read"
    TENANT_MANAGE = "tenant.manage"
    MEMBERS_READ = "members.read"
    MEMBERS_MANAGE = "members.manage"
    CLUBS_MANAGE = "clubs.manage"
    APPROVALS_DECIDE = "approvals.decide"
    APPROVALS_MANAGE = "approvals.manage"
    FINANCE_READ = "finance.read"
    FINANCE_MANAGE = "finance.manage"
    TICKETS_HANDLE = "tickets.handle"
    TICKETS_DISPATCH = "tickets.dispatch"
    ARCHIVE_READ = "archive.read"
    ARCHIVE_MANAGE = "archive.manage"
    CATALOGUE_READ = "catalogue.read"
    CATALOGUE_MANAGE = "catalogue.manage"
    SETTLEMENTS_READ = "settlements.read"
    """See the developer ↔ property-company accounts of the projects in reach (the developer's auditors)."""
    SETTLEMENTS_PREPARE = "settlements.prepare"
    """The property company's side: budget forms, payments with their evidence, the month's settlement."""
    SETTLEMENTS_CONFIRM = "settlements.confirm"
    """The developer's authorised people: confirm or refuse payments, start budget additions."""
    SETTLEMENTS_MANAGE = "settlements.manage"
    """Projects' stages and phases, the management fee and due day, the early-involvement checklists."""
    CHECKINS_SCAN = "checkins.scan"
    SELF_SERVICE = "self.service"
    AUTHENTICATED = "authenticated"
    """Any signed-in person of the tenant (their own profile, their own tokens, logout)."""


_STAFF_BASE = {Perm.DASHBOARD_VIEW, Perm.ORG_READ}

BUILTIN_ROLES: dict[str, tuple[str, str, set[Perm]]] = {
    "tenant_admin": ("Tenant admin", "Everything in the tenant.",
                     set(Perm) - {Perm.AUTHENTICATED}),
    # members.read: finance collects membership fees, so it sees whose they are and the clubs' renewal figures
    "finance": ("Finance", "Funds, ledgers, settlements and the audit log.",
                _STAFF_BASE | {Perm.FINANCE_READ, Perm.FINANCE_MANAGE, Perm.AUDIT_READ, Perm.STAFF_READ,
                               Perm.MEMBERS_READ, Perm.ARCHIVE_READ, Perm.CATALOGUE_READ, Perm.SETTLEMENTS_READ}),
    "approver": ("Approver", "Decides approval steps addressed to the role.",
                 _STAFF_BASE | {Perm.APPROVALS_DECIDE}),
    "cs_clerk": ("Customer-service clerk", "Takes complaints, repairs and contact slips.",
                 _STAFF_BASE | {Perm.TICKETS_HANDLE, Perm.MEMBERS_READ, Perm.ARCHIVE_READ, Perm.ARCHIVE_MANAGE,
                               Perm.CATALOGUE_READ}),
    "dispatcher": ("Dispatcher", "Dispatches tickets to departments and subcontractors.",
                   _STAFF_BASE | {Perm.TICKETS_HANDLE, Perm.TICKETS_DISPATCH, Perm.ARCHIVE_READ, Perm.CATALOGUE_READ}),
    "branch_operator": ("Branch operator", "Serves the members of his own branch only.",
                        _STAFF_BASE | {Perm.MEMBERS_READ, Perm.MEMBERS_MANAGE, Perm.STAFF_READ}),
    "merchant_operator": ("Merchant operator", "Scans member cards at one merchant.",
                          {Perm.CHECKINS_SCAN}),
    "member": ("Member", "A club member or resident: own cards, bookings and requests.",
               {Perm.SELF_SERVICE}),
}


# Litestar's own routers: the OpenAPI document and docs pages, and the static files.
UNGUARDED = ("/schema", "/static")


def _is_auto_options(handler: BaseRouteHandler) -> bool:
    """Litestar adds an OPTIONS handler to every path (CORS preflight); it reveals nothing."""
    return handler.handler_name == "options_handler" and getattr(handler, "http_methods", None) == {"OPTIONS"}


async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """The only permission check: reads the handler's declared permission."""
    if handler.opt.get("public") or _is_auto_options(handler) or connection.scope["path"].startswith(UNGUARDED):
        return
    needed = handler.opt.get("permission")
    if needed is None:  # unreachable once the start-up check passed; fail closed anyway
        raise Forbidden("this endpoint declares no permission", code="forbidden")
    principal = principal_in(connection.scope)
    if principal is None:
        raise Unauthorized("sign in first: missing, expired or revoked credentials",
                           code="not_authenticated")
    if needed != Perm.AUTHENTICATED and not principal.can(needed):
        raise Forbidden("your roles do not include the permission %(needed)s", code="forbidden",
                        params={"needed": needed})


def check_every_route_is_guarded(app: Any, exempt_prefixes: tuple[str, ...]) -> None:
    missing = []
    for route in app.routes:
        if route.path.startswith(exempt_prefixes):
            continue
        for handler in getattr(route, "route_handlers", []):
            if _is_auto_options(handler):
                continue
            if not handler.opt.get("public") and handler.opt.get("permission") is None:
                missing.append(f"{route.path} ({handler.handler_name})")
    if missing:
        raise RuntimeError("endpoints without an explicit permission: " + ", ".join(sorted(missing)))
