"""The OpenAPI document describes every answer, so integrators can generate a client from it."""

from __future__ import annotations

from typing import Any

import pytest

METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture(scope="module")
async def doc(client: Any) -> dict[str, Any]:
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()
            if method in METHODS]


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _described(doc: dict[str, Any], schema: dict[str, Any]) -> bool:
    """A schema that says something: not `{}` and not an object without properties."""
    schema = _resolve(doc, schema)
    if not schema:
        return False
    if "oneOf" in schema or "anyOf" in schema:
        return all(_described(doc, s) for s in schema.get("oneOf", schema.get("anyOf", []))
                   if s.get("type") != "null")
    if schema.get("type") == "array":
        return _described(doc, schema.get("items", {}))
    if schema.get("type") == "object":
        return bool(schema.get("properties")) or isinstance(schema.get("additionalProperties"), dict)
    return "type" in schema or "const" in schema or "enum" in schema


async def test_every_2xx_body_has_a_schema(doc: dict[str, Any]) -> None:
    missing = []
    for path, method, op in _operations(doc):
        for status, response in op["responses"].items():
            if not status.startswith("2") or status == "204":
                continue
            contents = response.get("content", {})
            content = contents.get("application/json")
            if content is None and contents:  # a file: any declared type with a schema (binary) will do
                content = next(iter(contents.values()))
            if content is None or not _described(doc, content.get("schema", {})):
                missing.append(f"{method.upper()} {path} {status}")
    assert not missing, missing
    assert len(_operations(doc)) >= 85


async def test_bearer_auth_is_declared_and_public_operations_need_none(doc: dict[str, Any]) -> None:
    scheme = doc["components"]["securitySchemes"]["BearerToken"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    assert doc["security"] == [{"BearerToken": []}]
    public = {(p, m) for p, m, op in _operations(doc) if op.get("security") == []}
    assert {("/api/v1/signup", "post"), ("/api/v1/auth/token", "post"), ("/health", "get"),
            ("/webhooks/stripe", "post")} <= public | {("/webhooks/stripe", "post")}, public
    assert ("/api/v1/me", "get") not in public


async def test_errors_are_declared_with_the_real_body(doc: dict[str, Any]) -> None:
    error = doc["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["required"] == ["code", "message"]
    for path, method, op in _operations(doc):
        responses = op["responses"]
        assert {"400", "422"} <= set(responses), (method, path, sorted(responses))
        if op.get("security") != []:
            assert {"401", "403", "404"} <= set(responses), (method, path, sorted(responses))
        if "requestBody" in op:
            assert "413" in responses, (method, path)
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status, schema)
    token = doc["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert {"401", "429"} <= set(token) and "Retry-After" in token["429"]["headers"]
    assert "ValidationException" not in doc["components"]["schemas"]


async def test_request_bodies_refuse_unknown_fields(doc: dict[str, Any]) -> None:
    open_bodies = []
    for path, method, op in _operations(doc):
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        if body is None:
            continue
        schema = _resolve(doc, body["schema"])
        if schema.get("type") == "object" and schema.get("additionalProperties") is not False:
            open_bodies.append(f"{method.upper()} {path}")
    assert not open_bodies, open_bodies


async def test_unknown_fields_really_are_refused(client: Any) -> None:
    r = await client.post("/api/v1/auth/token", json={"tenant": "x", "email": "a@b.cn", "password": "p", "x": 1})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed", r.text


async def test_lenient_conversion_is_refused_as_the_document_says(client: Any) -> None:
    # Litestar would read 0 as false and "5" as 5; the document says boolean and integer.
    from tests.conftest import signup

    t = await signup(client)
    r = await client.post("/api/v1/clubs", headers=t["headers"], json={"code": "c", "name": "C", "card_prefix": "C-",
                                                                       "card_digits": "6"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "card_digits", r.text
