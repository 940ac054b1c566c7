"""Where a person lands after signing in: the page their roles are for, or the page they were
going to (`next`) when it is a local path they may open."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar.utils import normalize_path

from careclub.core.principal import Principal
from careclub.platform.permissions import Perm

# Pages for signing in and out (pointless once signed in), and what is no page (JSON, files, webhooks).
_NOT_A_TARGET = ("/login", "/signup", "/password/", "/invite/", "/welcome/", "/logout", "/api/", "/webhooks/",
                 "/_sandbox/", "/static/", "/schema")


def home_of(principal: Principal) -> str:
    """Staff (who see the dashboard) land there, merchant operators at the scanner, members (residents,
    club members) on their own home page, `/my` (resident_home.py: a tile for each thing they have with the
    company, so a resident of a company without clubs lands on his requests, not on an empty card page);
    anyone else (no role yet) on the dashboard, which says what they may do."""
    if principal.can(Perm.DASHBOARD_VIEW):
        return "/dashboard"
    if principal.can(Perm.CHECKINS_SCAN):
        return "/club/scan"
    if principal.can(Perm.SELF_SERVICE):
        return "/my"
    return "/dashboard"


def local_path(target: str | None) -> str | None:
    """`target` when it is a path on this site (no scheme, host, `//` or backslash: an open redirect
    after sign-in would be a phishing tool), else None."""
    if not target or len(target) > 2000 or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def may_open(app: Any, principal: Principal, target: str) -> bool:
    """Whether a GET of `target` reaches a page the person's permissions let them open (the guard's
    own rule, read from the route the path resolves to)."""
    path = urlsplit(target).path
    if path == "/" or path.startswith(_NOT_A_TARGET):
        return False
    try:
        _app, handler, *_rest = app.asgi_router.handle_routing(path=normalize_path(path), method="GET")
    except Exception:  # no such route, or no GET on it: Litestar raises its own NotFound/MethodNotAllowed
        return False
    if handler.opt.get("public"):
        return True
    needed = handler.opt.get("permission")
    if needed is None:
        return False
    return bool(needed == Perm.AUTHENTICATED or principal.can(needed))


def after_sign_in(app: Any, principal: Principal, target: str | None) -> str:
    """An explicit `next` wins when it is a safe local path the person may open; else their home."""
    local = local_path(target)
    if local is not None and may_open(app, principal, local):
        return local
    return home_of(principal)
