"""A small ASGI router. The sandbox is its own ASGI app, mounted inside the careclub app or reached
through httpx's ASGI transport; a plain router keeps it free of a second Litestar app's logging set-up,
middleware and lifespan."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("careclub.payments.sandbox")

# The plain ASGI shapes (as httpx's transport has them); `Sandbox.asgi_app` is offered as Litestar's ASGIApp.
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


Handler = Callable[[Request, dict[str, str]], Awaitable[Response]]
Fallback = Callable[[Request], Awaitable[Response]]


class Router:
    def __init__(self, fallback: Fallback) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._fallback = fallback

    def add(self, method: str, template: str, handler: Handler) -> None:
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        self._routes.append((method, re.compile(f"^{pattern}$"), handler))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        request = Request(
            method=scope["method"].upper(),
            path=_path(scope),
            query=scope.get("query_string", b"").decode("latin-1"),
            headers={name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]},
            body=body,
        )
        response = await self._dispatch(request)
        headers = [(b"content-type", response.content_type.encode()),
                   (b"content-length", str(len(response.body)).encode()), (b"cache-control", b"no-store")]
        headers += [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in response.headers]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body if request.method != "HEAD" else b""})

    async def _dispatch(self, request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        for route_method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if match and route_method == method:
                try:
                    return await handler(request, match.groupdict())
                except Exception:
                    log.exception("stripe sandbox: %s %s failed", request.method, request.path)
                    return Response(500, b'{"error": {"type": "api_error", "message": "The Stripe sandbox failed '
                                         b'on this request; its log has the details."}}')
        return await self._fallback(request)


def _path(scope: Scope) -> str:
    path: str = scope["path"]
    # A server that follows the ASGI spec closely keeps the mount prefix in `path` and also names it in
    # `root_path`; Litestar's mount strips it and appends a slash.
    root = scope.get("root_path") or ""
    if root and path.startswith(root + "/"):
        path = path[len(root):]
    if len(path) > 1:
        path = path.rstrip("/")
    return path or "/"


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
