"""What every part of the sandbox shares: the pinned API version, ids, Stripe-shaped errors and the
decoding of the form bodies the official library sends (`a[b][0][c]=…`)."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any

from careclub.payments.gateway import API_VERSION

# The sandbox speaks exactly the version the app pins (one constant, in payments/gateway.py).
SANDBOX_API_VERSION = API_VERSION

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")

# Stripe names an object type in its 404 messages ("No such customer: 'cus_…'").
OBJECT_NAMES = {
    "cus": "customer", "prod": "product", "price": "price", "cs": "checkout.session",
    "pi": "payment_intent", "ch": "charge", "re": "refund", "sub": "subscription",
    "in": "invoice", "acct": "account", "evt": "event",
}

ZERO_DECIMAL = frozenset(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split()
)


def now() -> int:
    return int(time.time())


def new_id(prefix: str, length: int = 24) -> str:
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def format_money(amount: int, currency: str) -> str:
    """For people: 'CNY 365.00', 'JPY 5000', '-USD 1.50'."""
    code = currency.upper()
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if currency.lower() in ZERO_DECIMAL:
        return f"{sign}{code} {amount}"
    return f"{sign}{code} {amount // 100}.{amount % 100:02d}"


class ApiError(Exception):
    """An error the API answers the way Stripe does, so the library raises its own exception class."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.kind = kind

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.kind, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"https://docs.stripe.com/error-codes/{self.code.replace('_', '-')}"
        return {"error": error}


def missing(object_id: str, param: str = "id") -> ApiError:
    name = OBJECT_NAMES.get(object_id.split("_", 1)[0], "object")
    if object_id.startswith("cs_"):
        name = "checkout.session"
    return ApiError(404, f"No such {name}: '{object_id}'", param=param, code="resource_missing")


def decode_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """`line_items[0][price_data][unit_amount]=500` → {"line_items": [{"price_data": {"unit_amount": "500"}}]}.

    The library indexes arrays (`expand[0]`); `expand[]` is accepted too, as Stripe does."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        parts = [match.group(1), *_PART.findall(match.group(2))] if match else [key]
        node = root
        for index, part in enumerate(parts):
            name = part if part != "" else str(len(node))
            if index == len(parts) - 1:
                node[name] = value
            else:
                child = node.get(name)
                if not isinstance(child, dict):
                    child = node[name] = {}
                node = child
    listed = _listify(root, parent="")
    assert isinstance(listed, dict)
    return listed


def _listify(value: Any, parent: str) -> Any:
    if not isinstance(value, dict):
        return value
    # Metadata keys are the caller's own words and may well be digits.
    if value and parent != "metadata" and all(key.isdigit() for key in value):
        return [_listify(value[key], parent="") for key in sorted(value, key=int)]
    return {key: _listify(item, parent=key) for key, item in value.items()}


def check_known(params: Mapping[str, Any], allowed: Iterable[str], refused: Iterable[str] = ()) -> None:
    """Unknown top-level parameters fail as on Stripe; `refused` ones are real Stripe parameters whose
    effect the sandbox does not model, so ignoring them would pretend to a behaviour it lacks."""
    known = set(allowed) | {"expand"}
    for name in params:
        if name not in known:
            raise ApiError(400, f"Received unknown parameter: {name}", param=name)
    for name in refused:
        if name in params:
            raise ApiError(400, f"The Stripe sandbox does not implement the parameter `{name}`.", param=name)


def text(params: Mapping[str, Any], name: str, *, required: bool = False, param: str | None = None) -> str | None:
    value = params.get(name)
    label = param or name
    if value is None or value == "":
        if required:
            raise ApiError(400, f"Missing required param: {label}.", param=label)
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"Invalid string: {label}", param=label)
    return value


def integer(params: Mapping[str, Any], name: str, *, required: bool = False, minimum: int | None = None,
            param: str | None = None) -> int | None:
    raw = text(params, name, required=required, param=param)
    label = param or name
    if raw is None:
        return None
    if not re.fullmatch(r"-?\d{1,15}", raw):
        raise ApiError(400, f"Invalid integer: {raw}", param=label)
    value = int(raw)
    if minimum is not None and value < minimum:
        kind = "positive" if minimum > 0 else "non-negative"
        raise ApiError(400, f"Invalid {kind} integer", param=label)
    return value


def boolean(params: Mapping[str, Any], name: str) -> bool | None:
    raw = text(params, name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise ApiError(400, f"Invalid boolean: {raw}", param=name)
    return raw == "true"


def choice(params: Mapping[str, Any], name: str, options: Iterable[str], *, required: bool = False,
           default: str | None = None, param: str | None = None) -> str | None:
    value = text(params, name, required=required, param=param)
    if value is None:
        return default
    allowed = list(options)
    if value not in allowed:
        label = param or name
        raise ApiError(400, f"Invalid {label}: must be one of {', '.join(allowed)}", param=label)
    return value


def strings(params: Mapping[str, Any], name: str) -> list[str]:
    value = params.get(name)
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) for item in items):
        raise ApiError(400, f"Invalid array: {name}", param=name)
    return list(items)


def mapping(params: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = params.get(name)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise ApiError(400, f"Invalid object: {name}", param=name)
    return value


def merged_metadata(current: Mapping[str, str], params: Mapping[str, Any]) -> dict[str, str]:
    """Stripe's rules: keys merge, an empty value unsets a key, an empty `metadata` unsets them all."""
    if "metadata" not in params:
        return dict(current)
    value = params["metadata"]
    if value == "":
        return {}
    if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
        raise ApiError(400, "Invalid metadata: must be a hash of strings", param="metadata")
    result = dict(current)
    for key, item in value.items():
        if item == "":
            result.pop(key, None)
        else:
            result[key] = item
    if len(result) > 50:
        raise ApiError(400, "Metadata may have at most 50 keys.", param="metadata")
    return result
