"""Serving the Stripe sandbox inside the app when no Stripe key is set: the demo and the tests pay
through the same code as production, offline."""

from __future__ import annotations

from pathlib import Path

from litestar.handlers import asgi
from litestar.handlers.asgi_handlers import ASGIRouteHandler
from litestar.types import Receive, Scope, Send

from careclub.payments.gateway import sandbox_secret
from careclub.payments.sandbox import Sandbox
from careclub.settings import Settings

MOUNT = "/_sandbox/stripe"


def make_sandbox(settings: Settings, *, deliver: bool = False, state_file: Path | None = None) -> Sandbox:
    """`deliver`: POST events to this app's /webhooks/stripe by itself (what `make run` wants); otherwise
    they wait in `outbox()` for whoever drives them (the tests, with chaos)."""
    return Sandbox(platform_secret=sandbox_secret(settings, "platform"),
                   connect_secret=sandbox_secret(settings, "connect"),
                   public_base=f"{settings.site_url}{MOUNT}",
                   webhook_url=f"{settings.site_url}/webhooks/stripe" if deliver else None,
                   state_file=state_file)


def mount_sandbox(sandbox: Sandbox) -> ASGIRouteHandler:
    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        await sandbox.asgi_app(scope, receive, send)

    return asgi(MOUNT, is_mount=True, copy_scope=True, opt={"public": True, "no_transaction": True},
                include_in_schema=False)(serve)
