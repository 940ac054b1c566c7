"""Refuse input no handler should ever see, once, before routing to any of them.

PostgreSQL cannot store the NUL character in text, msgspec recurses into nested JSON until Python's
stack runs out, and a lone UTF-16 surrogate is not text at all. Each once reached the database or
the decoder and came back as a 500. They are born in the request, so they are refused here, for
every endpoint and page at once, as a 4xx that names the field: the path, a query parameter, a
JSON body or a form.

The checks cost two `bytes.count` calls on a clean body; the walk that finds the field only runs
when the quick scan has already seen a problem.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar.types import ASGIApp, HTTPRequestEvent, Receive, ReceiveMessage, Scope, Send

from careclub.core.errors import AppError, ValidationFailed

# Deeper than any body this API takes (a policy with rules with steps is 6 levels).
MAX_DEPTH = 32
# Litestar's own limit applies to handlers; this one bounds what the guard buffers.
MAX_BODY = 10_000_000

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A \u escape of a NUL or of a UTF-16 surrogate, preceded by an even number of backslashes (so the
# backslash is an escape, not an escaped backslash followed by the letters "u0000").
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_JSON_SURROGATE = re.compile(rb"(?<!\\)(?:\\\\)*\\u[dD][89abAB]", re.ASCII)


class BadInput(AppError):
    status_code = 400


def _nul_error(where: str) -> ValidationFailed:
    return ValidationFailed("%(where)s contains the NUL character (\\u0000), which text may not hold",
                            code="nul_character", field=where, params={"where": where})


def _find(value: Any, path: str, depth: int) -> tuple[str, str] | None:
    """The first problem in a decoded JSON value and where it is: ('nul'|'depth', key path)."""
    if depth > MAX_DEPTH:
        return "depth", path
    if isinstance(value, str):
        return ("nul", path) if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                return "nul", where.replace("\x00", "\\u0000")
            found = _find(item, where, depth + 1)
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _find(item, f"{path}[{i}]", depth + 1)
            if found:
                return found
    return None


def check_json(body: bytes) -> None:
    if not body:
        return
    nul = b"\\u0000" in body and _JSON_NUL.search(body)
    deep = body.count(b"[") + body.count(b"{") > MAX_DEPTH
    surrogate = b"\\u" in body and _JSON_SURROGATE.search(body)
    if not (nul or deep or surrogate):
        return
    try:
        value = msgspec.json.decode(body)
    except RecursionError:
        raise BadInput("the JSON body is nested deeper than %(MAX_DEPTH)s levels", code="too_deeply_nested",
                       params={"MAX_DEPTH": MAX_DEPTH}) from None
    except msgspec.DecodeError as exc:
        if surrogate:
            # msgspec words this "Input data was truncated", which sends people looking for a cut-off body.
            raise BadInput("the JSON body holds a lone UTF-16 surrogate escape (\\ud800–\\udfff without its pair), "
                           "which is not text", code="invalid_json") from None
        raise BadInput("the request body is not valid JSON: %(exc)s", code="invalid_json",
                       params={"exc": exc}) from None
    found = _find(value, "", 0)
    if found is None:
        return
    kind, where = found
    if kind == "depth":
        raise BadInput("the JSON body is nested deeper than %(MAX_DEPTH)s levels", code="too_deeply_nested",
                       params={"MAX_DEPTH": MAX_DEPTH})
    raise _nul_error(where or "body")


_BODY_TYPES: dict[int, Any] = {}
_AT = re.compile(r" - at `\$\.?(.*)`$")


def _body_type(scope: Scope) -> Any:
    handler = scope.get("route_handler")
    if handler is None:
        return None
    key = id(handler)
    if key not in _BODY_TYPES:
        data = handler.parsed_fn_signature.parameters.get("data")
        _BODY_TYPES[key] = data.annotation if data is not None else None
    return _BODY_TYPES[key]


def check_types(scope: Scope, body: bytes) -> None:
    """The body against its handler's declared type, strictly as JSON says it: Litestar converts leniently
    (`0` would pass as false, `"5"` as 5), so a client could send what the OpenAPI document calls invalid
    and have it accepted. One strict decode here keeps the server and the document saying the same."""
    kind = _body_type(scope)
    if kind is None or not body:
        return
    try:
        msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        text = str(exc)
        found = _AT.search(text)
        field = (found.group(1) if found else "") or "body"
        message = _AT.sub("", text)
        raise ValidationFailed("invalid input: %(field)s: %(message)s", field=field,
                               params={"field": field, "message": message}) from None
    except msgspec.DecodeError:
        return  # not JSON at all: Litestar's own answer (400) says so


def check_encoded(data: bytes, where: str) -> None:
    """A query string or a urlencoded form: the NUL refused naming its field (`where` when none says)."""
    if b"%00" not in data and b"\x00" not in data:
        return
    for key, value in parse_qsl(data.decode("latin-1"), keep_blank_values=True):
        if "\x00" in value or "\x00" in key:
            raise _nul_error(key.replace("\x00", "\\u0000") or where)
    raise _nul_error(where)


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return b""


async def _read(receive: Receive) -> tuple[bytes, list[ReceiveMessage]]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), [message]
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise AppError("the request body is larger than %(MAX_BODY)s bytes", code="payload_too_large",
                           status_code=413, params={"MAX_BODY": MAX_BODY})
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), []


def input_guard(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        path = scope["path"]
        if "\x00" in path or b"%00" in scope.get("raw_path", b""):
            raise _nul_error("path")
        check_encoded(scope.get("query_string", b""), "query")
        if scope.get("method") not in _BODY_METHODS:
            await app(scope, receive, send)
            return
        ctype = _header(scope, b"content-type").split(b";", 1)[0].strip().lower()
        is_json = ctype == b"application/json" or ctype.endswith(b"+json")
        is_form = ctype == b"application/x-www-form-urlencoded"
        if not (is_json or is_form):
            await app(scope, receive, send)  # uploads carry binary on purpose; their text fields are checked on use
            return
        body, pending = await _read(receive)
        if is_json:
            check_json(body)
            check_types(scope, body)
        else:
            check_encoded(body, "form")
        replayed = False

        async def replay() -> ReceiveMessage:
            nonlocal replayed
            if not replayed:
                replayed = True
                event: HTTPRequestEvent = {"type": "http.request", "body": body, "more_body": False}
                return event
            if pending:
                return pending.pop(0)
            return await receive()

        await app(scope, replay, send)

    return middleware
