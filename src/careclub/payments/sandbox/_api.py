"""What every `/v1` request goes through, as on Stripe: the secret key, the pinned version, the
Stripe-Account scope, idempotency keys, `expand[]`, list pagination, and errors in Stripe's shape."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from careclub.payments.sandbox import _shapes as shapes
from careclub.payments.sandbox._asgi import Handler, Request, Response
from careclub.payments.sandbox._common import (
    SANDBOX_API_VERSION,
    ApiError,
    decode_form,
    integer,
    missing,
    new_id,
    strings,
    text,
)
from careclub.payments.sandbox._store import Store, snapshot

_MAX_EXPAND_DEPTH = 4


@dataclass
class Call:
    store: Store
    account: str | None
    params: dict[str, Any]
    ids: dict[str, str]
    public_base: str


Endpoint = Callable[[Call], dict[str, Any]]


def endpoint(store: Store, public_base: str, fn: Endpoint) -> Handler:
    async def handle(request: Request, ids: dict[str, str]) -> Response:
        request_id = new_id("req", 14)
        headers = [("Request-Id", request_id), ("Stripe-Version", SANDBOX_API_VERSION)]
        idempotency = request.header("Idempotency-Key") if request.method == "POST" else None
        if idempotency:
            headers.append(("Idempotency-Key", idempotency))
        try:
            _authenticate(request)
            account = _account(store, request)
            raw = request.body.decode("utf-8") if request.method == "POST" else request.query
            params = decode_form(parse_qsl(raw, keep_blank_values=True))
            key = fingerprint = ""
            if idempotency:
                key = f"{account or '-'}|{idempotency}"
                fingerprint = hashlib.sha256(f"{request.method} {request.path} {raw}".encode()).hexdigest()
                if (earlier := store.replay(key, fingerprint)) is not None:
                    headers.append(("Idempotent-Replayed", "true"))
                    return Response(earlier["status"], earlier["body"].encode(), headers=headers)
            result = fn(Call(store, account, params, ids, public_base))
            result = expand(store, account, result, strings(params, "expand"))
            body = json.dumps(result, indent=2)
            if idempotency:
                store.remember(key, fingerprint, 200, body)
            return Response(200, body.encode(), headers=headers)
        except ApiError as error:
            error_body = error.body()
            error_body["error"]["request_log_url"] = None
            return Response(error.status, json.dumps(error_body, indent=2).encode(), headers=headers)
        finally:
            store.flush()

    return handle


async def unknown_url(request: Request) -> Response:
    error = ApiError(404, f"Unrecognized request URL ({request.method}: {request.path}). Please see "
                          "https://docs.stripe.com or we can help at https://support.stripe.com/.")
    return Response(404, json.dumps(error.body()).encode())


def _authenticate(request: Request) -> None:
    header = request.header("Authorization") or ""
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "You did not provide an API key. You need to provide your API key in the Authorization "
                            "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').")
    key = key.strip()
    if not key.startswith(("sk_test_", "rk_test_")):
        raise ApiError(401, f"Invalid API Key provided: {key[:8]}{'*' * 8}{key[-4:]}. The Stripe sandbox takes "
                            "test-mode secret keys (sk_test_…) only.")
    version = request.header("Stripe-Version")
    if version and version != SANDBOX_API_VERSION:
        raise ApiError(400, f"The Stripe sandbox renders API version {SANDBOX_API_VERSION} only; this request "
                            f"asked for {version}.", code="api_version_unsupported")


def _account(store: Store, request: Request) -> str | None:
    account = request.header("Stripe-Account")
    if not account:
        return None
    if store.find(account, "account") is None:
        raise ApiError(403, f"The provided key does not have access to account '{account}' (or that account does "
                            "not exist). Application access may have been revoked.", code="account_invalid")
    return account


def expand(store: Store, account: str | None, obj: dict[str, Any], paths: Iterable[str]) -> dict[str, Any]:
    paths = list(paths)
    if not paths:
        return obj
    result = snapshot(obj)
    for path in paths:
        parts = path.split(".")
        if len(parts) > _MAX_EXPAND_DEPTH:
            raise ApiError(400, f"You cannot expand more than {_MAX_EXPAND_DEPTH} levels of a property. Property: "
                                f"{path}", param="expand")
        _expand(store, account, result, parts)
    return result


def _expand(store: Store, account: str | None, node: Any, parts: list[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _expand(store, account, item, parts)
        return
    if not isinstance(node, dict) or not parts:
        return
    name, rest = parts[0], parts[1:]
    value = node.get(name)
    if name == "line_items" and node.get("object") == "checkout.session":
        session = store.records[node["id"]]
        value = node[name] = shapes.list_object(snapshot(session.extra["line_items"]),
                                                f"/v1/checkout/sessions/{node['id']}/line_items")
    elif isinstance(value, str) and (record := store.records.get(value)) is not None and record.account == account:
        value = node[name] = snapshot(record.object)
    _expand(store, account, value, rest)


def page(objects: Iterable[dict[str, Any]], params: Mapping[str, Any], url: str,
         filters: Mapping[str, Callable[[dict[str, Any]], Any]] | None = None) -> dict[str, Any]:
    """One page of a list, newest first, with Stripe's `limit`, `starting_after`, `ending_before`, `created`
    and equality `filters` (parameter name → how to read the value from an object)."""
    items = [obj for obj in objects if _created_matches(obj, params.get("created"))]
    for name, read in (filters or {}).items():
        if (wanted := params.get(name)) not in (None, ""):
            items = [obj for obj in items if read(obj) == wanted]
    limit = integer(params, "limit", minimum=1) or 10
    if limit > 100:
        raise ApiError(400, "This value must be less than or equal to 100.", param="limit")
    ids = [obj["id"] for obj in items]
    after, before = text(params, "starting_after"), text(params, "ending_before")
    if after is not None:
        if after not in ids:
            raise missing(after, "starting_after")
        rest = items[ids.index(after) + 1:]
        return shapes.list_object(rest[:limit], url, len(rest) > limit)
    if before is not None:
        if before not in ids:
            raise missing(before, "ending_before")
        rest = items[:ids.index(before)]
        return shapes.list_object(rest[-limit:], url, len(rest) > limit)
    return shapes.list_object(items[:limit], url, len(items) > limit)


def _created_matches(obj: Mapping[str, Any], condition: Any) -> bool:
    if condition in (None, ""):
        return True
    created = int(obj["created"])
    if isinstance(condition, str):
        return created == _timestamp(condition, "created")
    if not isinstance(condition, dict):
        raise ApiError(400, "Invalid created: must be an integer or a hash", param="created")
    checks = {"gt": int.__gt__, "gte": int.__ge__, "lt": int.__lt__, "lte": int.__le__}
    for name, bound in condition.items():
        if name not in checks:
            raise ApiError(400, f"Received unknown parameter: created[{name}]", param=f"created[{name}]")
        if not checks[name](created, _timestamp(bound, f"created[{name}]")):
            return False
    return True


def _timestamp(value: Any, param: str) -> int:
    if not isinstance(value, str) or not value.lstrip("-").isdigit():
        raise ApiError(400, f"Invalid timestamp: {value}", param=param)
    return int(value)
