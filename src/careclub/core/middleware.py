"""Per-request context: request id, one transaction, the credential, the tenant, the locale.

The transaction commits just before the response starts when the status is below 400 and
rolls back otherwise, so a client never sees success for work that was not kept.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from careclub.core import clock, i18n, sessions
from careclub.core.db import DB, begin_unit, clear_tenant, end_unit, restore_tenant
from careclub.core.logging import log_tenant, request_id
from careclub.core.principal import Actor, Principal, set_actor

log = logging.getLogger("careclub.http")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


async def _resolve(scope: Scope) -> Principal | None:
    from careclub.platform import service

    settings = scope["app"].state.settings
    path: str = scope["path"]
    if path.startswith("/api/"):
        auth = _header(scope, b"authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        return await service.principal_from_token(token.strip())
    session_id = _cookie(scope, sessions.COOKIE)
    if not session_id:
        return None
    session = await sessions.load(session_id, idle_seconds=settings.session_idle_minutes * 60,
                                  absolute_seconds=settings.session_absolute_hours * 3600)
    if session is None:
        return None
    tenant = await service.get_tenant(session.tenant_id)
    if tenant is None:
        return None
    return await service.load_principal(tenant, session.user_id, session_id=session.id)


def choose_locale(scope: Scope, principal: Principal | None) -> str:
    settings = scope["app"].state.settings
    if principal is not None and principal.locale in i18n.SUPPORTED:
        return principal.locale
    chosen = _cookie(scope, "lang")
    if chosen in i18n.SUPPORTED:
        return chosen
    if principal is not None:
        return principal.tenant.locale
    return i18n.negotiate(_header(scope, b"accept-language")) or settings.default_locale


def request_context(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        rid = (_header(scope, b"x-request-id") or "")[:64] or uuid.uuid4().hex
        request_id.set(rid)
        log_tenant.set(None)
        clock.set_display_zone("UTC")
        started = time.perf_counter()
        tenant_token = clear_tenant()
        status_holder: dict[str, Any] = {}
        handler = scope.get("route_handler")
        opt = handler.opt if handler is not None else {}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            if opt.get("no_transaction"):
                i18n.set_locale(choose_locale(scope, None))
                await app(scope, receive, send_with_id)
                return
            unit = begin_unit()
            committed = False
            async with DB.transaction() as tx:
                principal = await _resolve(scope)
                scope["principal"] = principal  # type: ignore[typeddict-unknown-key]
                if principal is not None:
                    log_tenant.set(str(principal.tenant.id))
                    clock.set_display_zone(principal.tenant.timezone)
                    set_actor(Actor(principal.user_id, principal.display_name))
                else:
                    set_actor(Actor(None, "anonymous"))
                i18n.set_locale(choose_locale(scope, principal))
                finished = False

                async def send_after_commit(message: Message) -> None:
                    nonlocal finished, committed
                    if message["type"] == "http.response.start" and not finished:
                        finished = True
                        if message["status"] < 400:
                            await tx.commit()
                            committed = True
                            await end_unit(unit, committed=True)
                        else:
                            await tx.rollback()
                    await send_with_id(message)

                try:
                    await app(scope, receive, send_after_commit)
                finally:
                    if not committed:
                        await end_unit(unit, committed=False)
        finally:
            restore_tenant(tenant_token)
            if log.isEnabledFor(logging.INFO):  # the extra dict is not free on the hot path
                method = scope.get("method", "-")
                log.info("%s %s %s", method, scope["path"], status_holder.get("status", "-"),
                         extra={"method": method, "path": scope["path"],
                                "status": status_holder.get("status"),
                                "duration_ms": round((time.perf_counter() - started) * 1000, 2)})

    return middleware
