"""Bad input answers a 4xx with the contract's error body, never a 500, whichever endpoint it reaches.

Each class below was once a 500 somewhere (an outside probe reproduced about forty NUL cases alone);
each is refused where it is born, so the tests reach it through several unrelated endpoints."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.conftest import PASSWORD, signup
from tests.integration.clubs.helpers import club_world


def refused(r: Any, *statuses: int) -> dict[str, Any]:
    assert r.status_code in (statuses or (400, 404, 409, 413, 422)), (r.status_code, r.text[:300])
    body = r.json()
    assert set(body["error"]) >= {"code", "message"}, body
    return body["error"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
async def world(client: Any) -> dict[str, Any]:
    return await club_world(client)


# --- NUL ----------------------------------------------------------------------------------------

async def test_nul_in_a_body_is_refused_before_sign_in(client: Any) -> None:
    r = await client.post("/api/v1/auth/token", json={"tenant": "x\u0000", "email": "a@b.cn", "password": "p"})
    err = refused(r, 422)
    assert err["code"] == "nul_character" and err["field"] == "tenant", err


@pytest.mark.parametrize("path,body", [
    ("/api/v1/signup", {"company": "A\u0000B", "slug": "nul-co", "email": "a@b.cn", "password": "x" * 12}),
    ("/api/v1/org-units", {"code": "x", "name": "n\u0000", "parent_id": "00000000-0000-0000-0000-000000000000"}),
    ("/api/v1/tokens", {"name": "scanner\u0000"}),
    ("/api/v1/approvals/preview", {"subject_type": "member_application", "category": "\u0000"}),
])
async def test_nul_in_any_json_body_names_the_field(client: Any, world: dict[str, Any], path: str,
                                                     body: dict[str, Any]) -> None:
    err = refused(await client.post(path, json=body, headers=world["t"]["headers"]), 422)
    assert err["code"] == "nul_character", err
    assert "\\u0000" not in err["field"] and err["field"] in body, err


async def test_nul_in_a_nested_key_or_list(client: Any, world: dict[str, Any]) -> None:
    h = world["t"]["headers"]
    err = refused(await client.post(f"/api/v1/clubs/{world['club']['id']}/benefits", headers=h, json={
        "code": "b", "name": "b", "merchants": ["wash", "x\u0000"]}), 422)
    assert err["field"] == "merchants[1]", err


@pytest.mark.parametrize("url", [
    "/api/v1/staff?q=%00",
    "/api/v1/members?q=a%00b",
    "/api/v1/audit?action=%00",
    "/api/v1/approvals/outbox?status=%00",
])
async def test_nul_in_a_query_parameter(client: Any, world: dict[str, Any], url: str) -> None:
    err = refused(await client.get(url, headers=world["t"]["headers"]), 422)
    assert err["code"] == "nul_character", err


@pytest.mark.parametrize("url", ["/api/v1/cards/AB%00CD/qr", "/api/v1/approvals/policies/member%00application"])
async def test_nul_in_a_path_parameter(client: Any, world: dict[str, Any], url: str) -> None:
    refused(await client.get(url, headers=world["t"]["headers"]), 400, 404, 422)


async def test_nul_in_a_form_field_answers_a_page_not_a_500(client: Any, world: dict[str, Any]) -> None:
    r = await client.post("/login", data={"tenant": world["t"]["slug"], "email": "a\u0000@b.cn", "password": "x"},
                          headers={"accept": "text/html"})
    assert 400 <= r.status_code < 500, r.status_code


# --- nesting, surrogates, size --------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/auth/token", "/api/v1/signup", "/api/v1/org-units", "/api/v1/checkins"])
async def test_deeply_nested_json_is_400(client: Any, world: dict[str, Any], path: str) -> None:
    body = '{"a":' + "[" * 2000 + "]" * 2000 + "}"
    r = await client.post(path, content=body, headers={**world["t"]["headers"], "content-type": "application/json"})
    assert refused(r, 400)["code"] == "too_deeply_nested"


async def test_moderate_nesting_is_still_parsed_normally(client: Any) -> None:
    # 20 levels is past the quick scan's threshold in count, so the walk runs and must let it through.
    body = {"tenant": "nobody", "email": "a@b.cn", "password": "x", "extra": json.loads("[" * 20 + "1" + "]" * 20)}
    err = refused(await client.post("/api/v1/auth/token", json=body), 422)
    assert err["code"] == "validation_failed", err  # the unknown field, not the nesting


async def test_lone_surrogate_is_named_as_such(client: Any) -> None:
    r = await client.post("/api/v1/auth/token", content=b'{"tenant": "\\ud800", "email": "a@b.cn", "password": "p"}',
                          headers={"content-type": "application/json"})
    err = refused(r, 400)
    assert "surrogate" in err["message"] and "truncated" not in err["message"], err


async def test_escaped_backslash_before_u0000_is_plain_text(client: Any) -> None:
    # "\\u0000" in JSON is a backslash followed by the letters u0000: no NUL, so no NUL refusal.
    tenant = f"t{uuid.uuid4().hex[:8]}"  # fresh, so earlier runs' failed attempts do not rate-limit it
    body = b'{"tenant": "' + tenant.encode() + b'\\\\u0000", "email": "a@b.cn", "password": "p"}'
    r = await client.post("/api/v1/auth/token", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 401, r.text


async def test_oversized_body_is_413_payload_too_large(client: Any) -> None:
    r = await client.post("/api/v1/auth/token", content=b'{"tenant": "' + b"x" * 11_000_000 + b'"}',
                          headers={"content-type": "application/json"})
    assert refused(r, 413)["code"] == "payload_too_large"


# --- too long, too large --------------------------------------------------------------------------

async def test_text_longer_than_its_column_is_422_naming_the_field(client: Any, world: dict[str, Any]) -> None:
    h = world["t"]["headers"]
    cases = [
        (f"/api/v1/plans/{world['vip']['id']}", "patch", {"name": "x" * 201}, "name"),
        (f"/api/v1/clubs/{world['club']['id']}/merchants", "post", {"code": "m1", "name": "x" * 500}, "name"),
        (f"/api/v1/clubs/{world['club']['id']}/benefits", "post", {"code": "b1", "name": "b", "group_name": "g" * 500},
         "group_name"),
        ("/api/v1/tokens", "post", {"name": "t" * 1000}, "name"),
        ("/api/v1/signup", "post", {"company": "c", "slug": "long-name-co", "email": "a@b.cn",
                                    "password": "x" * 12, "display_name": "d" * 1000}, "display_name"),
    ]
    for path, method, body, field in cases:
        err = refused(await client.request(method, path, json=body, headers=h), 422)
        assert err["field"] == field, (path, err)


async def test_integers_beyond_32_bits_are_refused(client: Any, world: dict[str, Any]) -> None:
    h = world["t"]["headers"]
    refused(await client.post("/api/v1/club-signing-keys/2147483648/revoke", headers=h, json={}), 400, 404, 422)
    for path, body in [
        (f"/api/v1/plans/{world['vip']['id']}", {"static_daily_cap": 2**31}),
        (f"/api/v1/merchants/{world['wash']['id']}", {"offer_value": 2**31}),
        (f"/api/v1/benefits/{world['benefit']['id']}", {"quota": 2**31}),
    ]:
        err = refused(await client.patch(path, json=body, headers=h), 422)
        assert err["field"] == next(iter(body)), err


@pytest.mark.parametrize("path", ["/api/v1/members", "/api/v1/staff", "/api/v1/audit", "/api/v1/notifications",
                                  "/api/v1/approvals/outbox"])
async def test_huge_offsets_are_refused(client: Any, world: dict[str, Any], path: str) -> None:
    err = refused(await client.get(f"{path}?offset={2**63}", headers=world["t"]["headers"]), 400, 422)
    assert "offset" in err["message"], err


# --- smaller findings ---------------------------------------------------------------------------

async def test_an_email_with_markup_is_not_an_email(client: Any) -> None:
    err = refused(await client.post("/api/v1/signup", json={
        "company": "Co", "slug": "script-mail", "email": "<script>@x.example", "password": "x" * 12}), 422)
    assert err["field"] == "email", err


async def test_audit_until_must_be_a_time(client: Any, world: dict[str, Any]) -> None:
    err = refused(await client.get("/api/v1/audit?until=0.5", headers=world["t"]["headers"]), 400, 422)
    assert "until" in err["message"], err


async def test_trace_answers_405_with_allow(client: Any, world: dict[str, Any]) -> None:
    r = await client.request("TRACE", "/api/v1/staff", headers=world["t"]["headers"])
    assert r.status_code == 405
    assert {"GET", "POST"} <= {m.strip() for m in r.headers["allow"].split(",")}, r.headers


async def test_options_lists_every_method_of_the_path(client: Any, world: dict[str, Any]) -> None:
    r = await client.options(f"/api/v1/clubs/{world['club']['id']}", headers=world["t"]["headers"])
    assert r.status_code in (200, 204), r.text
    assert {"GET", "PATCH", "OPTIONS"} <= {m.strip() for m in r.headers["allow"].split(",")}, r.headers


async def test_a_second_tenant_is_unaffected(client: Any) -> None:
    # The guard buffers and replays bodies: a normal request right after refused ones still works.
    t = await signup(client)
    r = await client.post("/api/v1/org-units", headers=t["headers"], json=json.loads(json.dumps({
        "code": "b1", "name": "分部一", "parent_id": (await client.get("/api/v1/org-units", headers=t["headers"])
                                                  ).json()["items"][0]["id"], "kind": "branch"})))
    assert r.status_code == 201, r.text


# --- pages: the same bounds, the form drawn again ------------------------------------------------

async def test_a_page_form_too_long_for_its_columns_is_drawn_again_not_a_500(app: Any, client: Any,
                                                                             world: dict[str, Any]) -> None:
    from tests.integration.platform.pages import browser, login, submit

    t = world["t"]
    async with browser(app) as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        for fields, field in (({"name": "商" * 300, "offer_value": "5"}, "name"),
                              ({"name": "ok", "offer_kind": "percent", "offer_value": str(2**40)}, "offer_value"),
                              ({"name": "ok", "category": "c" * 200}, "category")):
            r = await submit(c, "/club/admin", "/club/admin/merchant", club=world["club"]["id"],
                             code=f"m{len(field)}", **fields)
            assert r.status_code == 422, (field, r.status_code, r.text[:300])
            assert "商" * 300 in r.text or fields.get("name") == "ok", "what was typed is kept"


async def test_services_refuse_what_a_column_cannot_hold_naming_it(world: dict[str, Any]) -> None:
    # Whatever path reaches a service (API, page, tenant file), the table layer checks before SQL.
    import uuid as uuid_mod

    from careclub.clubs import service
    from careclub.core.db import tenant_scope
    from careclub.core.errors import ValidationFailed

    async with tenant_scope(uuid_mod.UUID(world["t"]["tenant_id"])):
        for kwargs, field in (({"name": "x" * 201}, "name"), ({"name": "n", "offer_text": "\x00"}, "offer_text"),
                              ({"name": "n", "offer_kind": "percent", "offer_value": 2**31}, "offer_value")):
            with pytest.raises(ValidationFailed) as caught:
                await service.create_merchant(uuid_mod.UUID(world["club"]["id"]), code="svc", **kwargs)
            assert caught.value.field == field, (kwargs, caught.value.field, caught.value.message)
