"""Exceptions to HTTP, in one place: JSON `{"error": {"code", "message"}}` for the API, a page
(or a redirect to sign-in) for people."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import asyncpg
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect, Template

from careclub.core import i18n
from careclub.core.error_messages import page_message
from careclub.core.errors import AppError, FieldErrors, RateLimited, Unauthorized
from careclub.core.logging import request_id
from careclub.core.middleware import choose_locale
from careclub.core.principal import principal_in

log = logging.getLogger("careclub.http")


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/webhooks/", "/health", "/schema")):
        return True
    return "text/html" not in (request.headers.get("accept") or "text/html")


def error_response(request: Request[Any, Any, Any], status: int, code: str, message: str,
                   *, field: str | None = None, headers: dict[str, str] | None = None,
                   extra: dict[str, Any] | None = None) -> Response[Any]:
    if _wants_json(request):
        body: dict[str, Any] = {"code": code, "message": message}
        if field:
            body["field"] = field
        payload: dict[str, Any] = {"error": body}
        if extra:
            payload.update(extra)
        return Response(payload, status_code=status, headers=headers, media_type=MediaType.JSON)
    if status == 401:
        return Redirect(f"/login?next={quote(request.url.path)}")
    _routing_failure_locale(request)
    shown = page_message(status, code, message)
    # The signed-in person keeps their own top bar on an error page (resolved by the middleware
    # before the handler failed; none when the router found no route).
    principal = principal_in(request.scope)
    context = {"status": status, "code": code, "message": shown.text, "detail": shown.detail,
               "reference": request_id.get() if status >= 500 else None, "principal": principal,
               "tenant": principal.tenant if principal else None, "path": request.url.path}
    return Template("error.html", context=context, status_code=status, headers=headers, media_type=MediaType.HTML)


def _routing_failure_locale(request: Request[Any, Any, Any]) -> None:
    """An unknown path or method fails in Litestar's router, before `request_context` chooses the
    language, so the page would come out in whatever language the context held. Choose it the same way
    for an anonymous visitor (the session is not read here: that needs the transaction the router never
    opened)."""
    if "route_handler" in request.scope:
        return
    i18n.set_locale(choose_locale(request.scope, None))


def app_error(request: Request[Any, Any, Any], exc: AppError) -> Response[Any]:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    if isinstance(exc, Unauthorized) and request.url.path.startswith("/api/"):
        headers = {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, FieldErrors) and _wants_json(request):
        body: dict[str, Any] = {"code": exc.code, "message": exc.message, "field": exc.field,
                                "fields": [{"field": e.field, "code": e.code, "message": e.message}
                                           for e in exc.errors]}
        return Response({"error": body, **(exc.extra or {})}, status_code=exc.status_code, headers=headers,
                        media_type=MediaType.JSON)
    return error_response(request, exc.status_code, exc.code, exc.message, field=exc.field, headers=headers,
                          extra=exc.extra or None)


def validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    problems = exc.extra if isinstance(exc.extra, list) else []
    fields = []
    for p in problems:
        if isinstance(p, dict):
            key = str(p.get("key") or "").removeprefix("body.").removeprefix("body") or "body"
            fields.append((key, str(p.get("message") or "is invalid")))
    if fields:
        field = fields[0][0]
        message = "; ".join(f"{k}: {m}" for k, m in fields)
        return error_response(request, 422, "validation_failed", f"invalid input: {message}", field=field)
    detail = exc.detail if exc.detail and exc.detail != "Bad Request" else "the request body is not valid JSON"
    return error_response(request, 422 if "body" in str(detail).lower() else 400, "bad_request", detail)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if isinstance(exc, NotFoundException):
        return error_response(request, 404, "not_found", "nothing here: no such page or record")
    if isinstance(exc, MethodNotAllowedException):
        # The router names the methods the path does take (RFC 9110 requires `Allow` on a 405).
        return error_response(request, 405, "method_not_allowed", "this method is not allowed here",
                              headers={k.title(): v for k, v in (exc.headers or {}).items()})
    if isinstance(exc, PermissionDeniedException) and "csrf" in str(exc.detail).lower():
        return error_response(request, 403, "csrf_failed",
                              "the form expired or did not come from this site; reload the page and try again")
    if isinstance(exc, NotAuthorizedException):
        return error_response(request, 401, "not_authenticated", "sign in first")
    if isinstance(exc, PermissionDeniedException):
        return error_response(request, 403, "forbidden", str(exc.detail))
    if status >= 500:
        log.error("http %s: %s", status, exc.detail)
        return error_response(request, status, "internal_error", "something went wrong on our side")
    code = {413: "payload_too_large", 429: "too_many_requests"}.get(status, "bad_request")
    return error_response(request, status, code, str(exc.detail))


# What PostgreSQL refuses as data, as the 4xx a client can act on. Input is bounded where it is born
# (request schemas derived from the columns, core/input_guard.py); reaching here means a path was
# missed, so it is logged to be fixed there, and the client still gets its 4xx and loses nothing
# (the request's transaction rolls back).
_DATA_ERRORS: dict[type[Exception], tuple[str, str]] = {
    asyncpg.exceptions.StringDataRightTruncationError: ("too_long", "a value is longer than its field allows"),
    asyncpg.exceptions.NumericValueOutOfRangeError: ("out_of_range", "a number is outside the range allowed"),
    asyncpg.exceptions.CharacterNotInRepertoireError: ("nul_character", "a value holds a character text may not hold"),
    asyncpg.exceptions.UntranslatableCharacterError: ("nul_character", "a value holds a character text may not hold"),
}


def data_error(request: Request[Any, Any, Any], exc: asyncpg.exceptions.DataError) -> Response[Any]:
    log.warning("input reached the database unchecked on %s %s: %s", request.method, request.url.path, exc)
    code, message = _DATA_ERRORS.get(type(exc), ("invalid_value", "a value is not valid for its field"))
    return error_response(request, 422, code, message)


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, "internal_error",
                          "something went wrong on our side; it has been logged")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    AppError: app_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    asyncpg.exceptions.DataError: data_error,
    Exception: internal_error,
}
