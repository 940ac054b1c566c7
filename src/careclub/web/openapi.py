"""The OpenAPI document as a contract integrators can generate clients from.

Litestar describes each operation's parameters, request body and 2xx body from the handler's
types. What it cannot know is written in here, in one place, from what every handler declares
(`opt`: public or which permission, rate-limited, `statuses` it adds) and from how `core/http.py` answers errors:
- bearer auth as a security scheme; public operations say they need none;
- the real error body `{"error": {"code", "message", "field"?}}` for every status an operation
  can answer (Litestar would document only its own 400 body, which this app never sends);
- request bodies refuse unknown fields (msgspec `forbid_unknown_fields`), so their schemas say
  `additionalProperties: false`.
"""

from __future__ import annotations

import copy
from http import HTTPStatus
from typing import Any

from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin  # Litestar offers no public hook on the built document
from litestar.routes import HTTPRoute

SCHEME = "BearerToken"
ERROR = "Error"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every refusal. `code` is stable snake_case to branch on; `message` is English for people; "
                   "`field` names the input at fault when there is one; when several inputs are at fault, `fields` "
                   "lists each (`field`, `code`, `message`) so a form can show them all at once. Some operations add "
                   "their own keys beside `error` (a check-in refusal adds `accepted` and `reason`).",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "examples": ["validation_failed"]},
                "message": {"type": "string"},
                "field": {"type": "string"},
                "fields": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "code", "message"],
                        "properties": {"field": {"type": "string"}, "code": {"type": "string"},
                                       "message": {"type": "string"}},
                        "additionalProperties": False,
                    },
                },
            },
            "additionalProperties": False,
        },
    },
}

WHY = {
    "400": "The request is malformed: not JSON, nested too deeply, or a parameter of the wrong form.",
    "401": "No valid bearer token (missing, expired, revoked, or for another company).",
    "403": "The token's user may not do this.",
    "404": "No such record, or one this user may not see (another company's ids answer exactly like missing ones).",
    "405": "This method is not allowed here.",
    "409": "The record's current state does not allow this (already decided, taken, closed ...).",
    "410": "The link has expired.",
    "413": "The request body is too large.",
    "422": "The input breaks a rule; `error.field` names the field.",
    "429": "Too many attempts; retry after the `Retry-After` header's seconds.",
    "502": "The payment provider (Stripe) refused or did not answer; nothing was charged. Try again.",
}

_WRITES = frozenset({"post", "put", "patch", "delete"})


def _handlers(app: Litestar) -> dict[tuple[str, str], Any]:
    found: dict[tuple[str, str], Any] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                found[(route.path_format or "/", method.lower())] = handler
    return found


def _statuses(method: str, op: dict[str, Any], opt: dict[str, Any]) -> list[str]:
    public = bool(opt.get("public"))
    codes = ["400", "422"]
    if not public:
        codes += ["401", "403", "404"]
        if method in _WRITES:
            codes.append("409")
    elif any(p.get("in") == "path" for p in op.get("parameters", [])):
        codes.append("404")
    if "requestBody" in op:
        codes.append("413")
    if opt.get("rate_limited"):
        codes.append("429")
    codes += [str(c) for c in opt.get("statuses", ()) if str(c) not in codes]
    return codes


def _refs(schema: Any, into: set[str]) -> None:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            into.add(ref.rsplit("/", 1)[1])
        for value in schema.values():
            _refs(value, into)
    elif isinstance(schema, list):
        for value in schema:
            _refs(value, into)


def _close_request_schemas(doc: dict[str, Any], bodies: list[Any]) -> None:
    """Every object schema a request body reaches refuses unknown properties, as the server does."""
    components = doc.setdefault("components", {}).setdefault("schemas", {})
    pending: set[str] = set()
    for body in bodies:
        _refs(body, pending)
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen or name not in components:
            continue
        seen.add(name)
        schema = components[name]
        if schema.get("type") == "object" or "properties" in schema:
            schema["additionalProperties"] = False
        _refs(schema, pending)


def enrich(doc: dict[str, Any], app: Litestar) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    handlers = _handlers(app)
    components = doc.setdefault("components", {})
    components.setdefault("securitySchemes", {})[SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from `POST /api/v1/auth/token` (12 hours) or an API token made on the tokens page: "
                       "`cc_<company>_<secret>`. It fixes company, user and permissions.",
    }
    components.setdefault("schemas", {})[ERROR] = ERROR_SCHEMA
    doc["security"] = [{SCHEME: []}]
    bodies: list[Any] = []
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method not in ("get", "put", "post", "delete", "options", "head", "patch", "trace"):
                continue
            handler = handlers.get((path, method))
            opt = handler.opt if handler is not None else {}
            if opt.get("public"):
                op["security"] = []
            if "requestBody" in op:
                bodies.append(op["requestBody"])
            responses = op.setdefault("responses", {})
            for code in _statuses(method, op, opt):
                declared = responses.get(code)
                if declared is None or code == "400":  # Litestar's own 400 body is not what this app sends
                    responses[code] = {"description": WHY.get(code) or HTTPStatus(int(code)).phrase, "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR}"}}}}
                    if code == "429":
                        responses[code]["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                                      "description": "seconds to wait"}}
    _close_request_schemas(doc, bodies)
    # Litestar's ValidationException body is never sent (core/http.py maps it to the error body).
    components["schemas"].pop("ValidationException", None)
    return doc


class ContractOpenAPIPlugin(OpenAPIPlugin):
    __slots__ = ()

    def provide_openapi_schema(self) -> dict[str, Any]:
        if not self._openapi_schema:
            self._openapi_schema = enrich(self.provide_openapi().to_schema(), self.app)
        return self._openapi_schema


def install(app: Litestar) -> None:
    """Serve the enriched document at /schema/openapi.json and to the docs pages."""
    plugin = app.plugins.get(OpenAPIPlugin)
    plugin.__class__ = ContractOpenAPIPlugin
