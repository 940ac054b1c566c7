"""Security headers on every response: a strict Content-Security-Policy and its companions.

Every script and style comes from this site's own files (`web/static/`): no inline `<script>`, no
event-handler attribute, no `style` attribute or `<style>` block, no `eval`. Data a script needs
travels in `data-*` attributes or a `<script type="application/json">` block (a data block, which
the browser never runs). Images may be `data:` URLs (QR codes). So even a page that printed
someone's text unescaped would not run it.

The policy is sent on every response, not only on HTML: it costs a few bytes and also covers what a
browser might render directly (an SVG, a JSON answer opened in a tab). Litestar runs app middleware
per route, so a request no route matches (an unknown path or method) gets its error page from
Litestar's router without passing here; that page (`error.html`, through `base.html`) carries the
policy in a `<meta>` element instead (`meta_policy()`: the same policy less `frame-ancestors`,
which a `<meta>` element cannot set). A refusal raised by a middleware inside this one (the input
guard's) is answered here, by the app's exception handlers, so it carries the headers too.
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

DIRECTIVES: tuple[tuple[str, str], ...] = (
    ("default-src", "'self'"),
    ("script-src", "'self'"),
    ("style-src", "'self'"),
    ("img-src", "'self' data:"),
    ("font-src", "'self'"),
    ("connect-src", "'self'"),
    ("object-src", "'none'"),
    ("base-uri", "'self'"),
    ("form-action", "'self'"),
    ("frame-ancestors", "'none'"),
)
POLICY = "; ".join(f"{name} {value}" for name, value in DIRECTIVES)
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)

# The one page whose vendored viewer draws its styles at run time: ReDoc. Its styled-components add
# <style> elements as it renders; they carry the response's nonce (ReDoc's `nonce` option, handed
# over by the page, web/docs.py, from the scope's state under STYLE_NONCE). Its bundle also injects
# one fixed stylesheet as it loads (perfect-scrollbar's CSS, into a first empty <style>), before any
# nonce can be set: those two are allowed by hash. Other inline styles stay refused, and scripts are
# as strict as everywhere. A new ReDoc bundle may change the stylesheet; the browser test of the
# docs page (tests/e2e/test_csp_pages.py) then fails, naming the hash Chromium computed.
STYLE_NONCE_PATHS = frozenset({"/schema/redoc"})
STYLE_NONCE = "careclub.csp_style_nonce"
REDOC_STYLE_HASHES = (
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # the empty <style> element (redoc 2.5.4)
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",  # perfect-scrollbar's CSS (redoc 2.5.4)
)


def policy_with_style_nonce(nonce: str) -> str:
    extra = " ".join((f"'nonce-{nonce}'", *REDOC_STYLE_HASHES))
    return "; ".join(f"{name} {value} {extra}" if name == "style-src" else f"{name} {value}"
                     for name, value in DIRECTIVES)


def meta_policy() -> str:
    """The policy for a `<meta http-equiv="Content-Security-Policy">` element."""
    return "; ".join(f"{name} {value}" for name, value in DIRECTIVES if name != "frame-ancestors")


def security_headers(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: adds the headers to every HTTP response that does not set them itself."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        wanted = HEADERS
        if scope["path"] in STYLE_NONCE_PATHS:
            nonce = secrets.token_urlsafe(18)
            scope.setdefault("state", {})[STYLE_NONCE] = nonce
            wanted = ((b"content-security-policy", policy_with_style_nonce(nonce).encode()), *HEADERS[1:])

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers") or [])
                present = {bytes(name).lower() for name, _ in headers}
                headers.extend((name, value) for name, value in wanted if name not in present)
                message["headers"] = headers
            await send(message)

        try:
            await app(scope, receive, send_with_headers)
        except Exception as exc:
            # A refusal raised by a middleware further in (not by a handler: those are answered inside
            # the route) would otherwise be answered by Litestar's outermost handler, past this one.
            # Answer it here with the same exception handlers, so it gets the headers too.
            answer = None if started else _error_answer(scope, receive, exc)
            if answer is None:
                raise
            await answer(scope, receive, send_with_headers)

    return middleware


def _error_answer(scope: Scope, receive: Receive, exc: Exception) -> ASGIApp | None:
    """What the app's own exception handlers (core/http.py) answer for `exc`, as Litestar's outermost
    handler would: by status code first, then by the exception's classes."""
    litestar_app = scope.get("litestar_app")
    if litestar_app is None:
        return None
    handlers = litestar_app.exception_handlers
    status = getattr(exc, "status_code", None)
    handler = handlers.get(status) if isinstance(exc, HTTPException) and status is not None else None
    handler = handler or next((handlers[cls] for cls in type(exc).__mro__ if cls in handlers), None)
    if handler is None:
        return None
    request = Request[Any, Any, Any](scope, receive)
    response = handler(request, exc)
    return response.to_asgi_response(app=None, request=request, type_encoders=litestar_app.type_encoders)


__all__ = ["HEADERS", "POLICY", "STYLE_NONCE", "meta_policy", "policy_with_style_nonce", "security_headers"]
