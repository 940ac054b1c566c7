"""Org units, staff, roles, invitations and the permission scope they give, through the API."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import asyncpg

from careclub.core import clock
from tests.conftest import PASSWORD, signup


async def _root(client: Any, t: dict[str, Any]) -> dict[str, Any]:
    units = (await client.get("/api/v1/org-units", headers=t["headers"])).json()["items"]
    return next(u for u in units if u["parent"] is None)


async def _unit(client: Any, t: dict[str, Any], code: str, parent: str, kind: str = "branch") -> dict[str, Any]:
    r = await client.post(
        "/api/v1/org-units",
        headers=t["headers"],
        json={"code": code, "name": f"Unit {code}", "kind": kind, "parent_id": parent},
    )
    assert r.status_code == 201, r.text
    return r.json()


async def _person(
    client: Any, t: dict[str, Any], email: str, unit: str, roles: list[str], kind: str = "staff"
) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/staff",
        headers=t["headers"],
        json={
            "email": email,
            "display_name": email.split("@")[0],
            "org_unit": unit,
            "roles": roles,
            "password": PASSWORD,
            "kind": kind,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


async def _login(client: Any, t: dict[str, Any], email: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/token", json={"tenant": t["slug"], "email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def test_org_tree_create_update_delete(client: Any, tenant: dict[str, Any]) -> None:
    root = await _root(client, tenant)
    region = await _unit(client, tenant, "R1", root["id"], "region")
    project = await _unit(client, tenant, "R1-P1", region["id"], "project")
    assert project["path"].startswith(region["path"]) and region["path"].startswith(root["path"])
    dup = await client.post(
        "/api/v1/org-units", headers=tenant["headers"], json={"code": "R1", "name": "again", "parent_id": root["id"]}
    )
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "org_unit_code_taken"
    bad = await client.post(
        "/api/v1/org-units",
        headers=tenant["headers"],
        json={"code": "R2", "name": "x", "kind": "galaxy", "parent_id": root["id"]},
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "kind"
    r = await client.patch(f"/api/v1/org-units/{project['id']}", headers=tenant["headers"], json={"name": "Renamed"})
    assert r.status_code == 200 and r.json()["name"] == "Renamed"
    busy = await client.delete(f"/api/v1/org-units/{region['id']}", headers=tenant["headers"])
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "org_unit_not_empty"
    assert (await client.delete(f"/api/v1/org-units/{project['id']}", headers=tenant["headers"])).status_code == 204
    root_del = await client.delete(f"/api/v1/org-units/{root['id']}", headers=tenant["headers"])
    assert root_del.status_code == 422
    audit = (await client.get("/api/v1/audit?action=org_unit", headers=tenant["headers"])).json()
    assert {e["action"] for e in audit["items"]} >= {"org_unit.create", "org_unit.update", "org_unit.delete"}
    created = next(e for e in audit["items"] if e["action"] == "org_unit.update")
    assert created["before"] == {"name": "Unit R1-P1"} and created["after"] == {"name": "Renamed"}


async def test_concurrent_unit_creation_with_one_code_one_wins(client: Any, tenant: dict[str, Any]) -> None:
    root = await _root(client, tenant)
    results = await asyncio.gather(
        *(
            client.post(
                "/api/v1/org-units",
                headers=tenant["headers"],
                json={"code": "SAME", "name": f"n{i}", "parent_id": root["id"]},
            )
            for i in range(10)
        )
    )
    assert sorted(r.status_code for r in results) == [201] + [409] * 9


async def test_branch_operator_sees_only_his_branch(client: Any, tenant: dict[str, Any]) -> None:
    root = await _root(client, tenant)
    a, b = await _unit(client, tenant, "BR-A", root["id"]), await _unit(client, tenant, "BR-B", root["id"])
    a_proj = await _unit(client, tenant, "BR-A-1", a["id"], "project")
    await _person(client, tenant, f"op@{tenant['slug']}.test", a["id"], ["branch_operator"])
    in_a = await _person(client, tenant, f"clerk-a@{tenant['slug']}.test", a_proj["id"], [])
    in_b = await _person(client, tenant, f"clerk-b@{tenant['slug']}.test", b["id"], [])
    op = await _login(client, tenant, f"op@{tenant['slug']}.test")
    people = (await client.get("/api/v1/staff", headers=op)).json()
    emails = {p["email"] for p in people["items"]}
    assert in_a["email"] in emails and in_b["email"] not in emails and tenant["email"] not in emails
    assert (await client.get(f"/api/v1/staff/{in_a['id']}", headers=op)).status_code == 200
    assert (await client.get(f"/api/v1/staff/{in_b['id']}", headers=op)).status_code == 404
    units = {u["code"] for u in (await client.get("/api/v1/org-units", headers=op)).json()["items"]}
    assert units == {"BR-A", "BR-A-1"}
    assert (await client.get(f"/api/v1/org-units/{b['id']}", headers=op)).status_code == 404
    # reading is all a branch operator may do with staff
    r = await client.post(
        "/api/v1/staff", headers=op, json={"email": "x@y.test", "display_name": "x", "org_unit": a["id"]}
    )
    assert r.status_code == 403


async def test_merchant_operator_reaches_no_staff_endpoint(client: Any, tenant: dict[str, Any]) -> None:
    root = await _root(client, tenant)
    await _person(client, tenant, f"scan@{tenant['slug']}.test", root["id"], ["merchant_operator"], kind="merchant")
    scan = await _login(client, tenant, f"scan@{tenant['slug']}.test")
    for path in ("/api/v1/staff", "/api/v1/org-units", "/api/v1/roles", "/api/v1/audit", "/api/v1/invites"):
        r = await client.get(path, headers=scan)
        assert r.status_code == 403, path
        assert r.json()["error"]["code"] == "forbidden"
    assert (await client.get("/api/v1/me", headers=scan)).status_code == 200


async def test_custom_roles_and_grants(client: Any, tenant: dict[str, Any]) -> None:
    root = await _root(client, tenant)
    r = await client.post(
        "/api/v1/roles",
        headers=tenant["headers"],
        json={"code": "auditor", "name": "Auditor", "permissions": ["audit.read", "org.read"]},
    )
    assert r.status_code == 201, r.text
    role = r.json()
    bad = await client.post(
        "/api/v1/roles", headers=tenant["headers"], json={"code": "x", "name": "X", "permissions": ["launch.missiles"]}
    )
    assert bad.status_code == 422 and "launch.missiles" in bad.json()["error"]["message"]
    person = await _person(client, tenant, f"aud@{tenant['slug']}.test", root["id"], [])
    aud = await _login(client, tenant, f"aud@{tenant['slug']}.test")
    assert (await client.get("/api/v1/audit", headers=aud)).status_code == 403
    g = await client.post(
        f"/api/v1/staff/{person['id']}/grants",
        headers=tenant["headers"],
        json={"role": "auditor", "org_unit": root["id"]},
    )
    assert g.status_code == 201
    assert (await client.get("/api/v1/audit", headers=aud)).status_code == 200
    in_use = await client.delete(f"/api/v1/roles/{role['id']}", headers=tenant["headers"])
    assert in_use.status_code == 409
    assert (
        await client.delete(f"/api/v1/staff/{person['id']}/grants/{g.json()['id']}", headers=tenant["headers"])
    ).status_code == 204
    assert (await client.get("/api/v1/audit", headers=aud)).status_code == 403
    roles = (await client.get("/api/v1/roles", headers=tenant["headers"])).json()
    builtin = next(x for x in roles if x["code"] == "approver")
    r = await client.patch(f"/api/v1/roles/{builtin['id']}", headers=tenant["headers"], json={"permissions": []})
    assert r.status_code == 403 and r.json()["error"]["code"] == "role_is_builtin"


async def test_deactivated_person_loses_access(client: Any, tenant: dict[str, Any]) -> None:
    root = await _root(client, tenant)
    person = await _person(client, tenant, f"gone@{tenant['slug']}.test", root["id"], ["approver"])
    token = await _login(client, tenant, f"gone@{tenant['slug']}.test")
    r = await client.patch(f"/api/v1/staff/{person['id']}", headers=tenant["headers"], json={"is_active": False})
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert (await client.get("/api/v1/me", headers=token)).status_code == 401
    r = await client.post(
        "/api/v1/auth/token", json={"tenant": tenant["slug"], "email": person["email"], "password": PASSWORD}
    )
    assert r.status_code == 401


async def test_staff_list_pages_through_results(client: Any, tenant: dict[str, Any]) -> None:
    root = await _root(client, tenant)
    for i in range(7):
        await _person(client, tenant, f"p{i}@{tenant['slug']}.test", root["id"], [])
    first = (await client.get("/api/v1/staff?limit=3", headers=tenant["headers"])).json()
    second = (await client.get("/api/v1/staff?limit=3&offset=3", headers=tenant["headers"])).json()
    assert first["total"] == second["total"] == 8
    assert len(first["items"]) == 3 and not {p["id"] for p in first["items"]} & {p["id"] for p in second["items"]}
    r0 = await client.get("/api/v1/staff?limit=0", headers=tenant["headers"])
    assert r0.status_code == 422 and r0.json()["error"]["field"] == "limit"
    r = await client.get("/api/v1/staff?limit=1000", headers=tenant["headers"])
    assert 400 <= r.status_code < 500


async def test_invites_accept_once_and_expire(client: Any, tenant: dict[str, Any], owner: asyncpg.Connection) -> None:
    root = await _root(client, tenant)
    r = await client.post(
        "/api/v1/invites",
        headers=tenant["headers"],
        json={"email": f"inv@{tenant['slug']}.test", "role": "cs_clerk", "org_unit": root["id"]},
    )
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    token = url.rsplit("/", 1)[1]
    body = {"token": token, "display_name": "New Clerk", "password": PASSWORD}
    results = await asyncio.gather(
        *(client.post(f"/api/v1/invites/accept/{tenant['slug']}", json=body) for _ in range(5))
    )
    assert sorted(x.status_code for x in results) == [201] + [409] * 4
    me = await client.get("/api/v1/me", headers=await _login(client, tenant, f"inv@{tenant['slug']}.test"))
    assert me.json()["roles"] == ["cs_clerk"]

    r = await client.post(
        "/api/v1/invites",
        headers=tenant["headers"],
        json={"email": f"late@{tenant['slug']}.test", "role": "cs_clerk", "org_unit": root["id"]},
    )
    late = r.json()["url"].rsplit("/", 1)[1]
    clock.travel(timedelta(hours=73))
    try:
        r = await client.post(
            f"/api/v1/invites/accept/{tenant['slug']}",
            json={"token": late, "display_name": "Late", "password": PASSWORD},
        )
    finally:
        clock.reset()
    assert r.status_code == 410 and r.json()["error"]["code"] == "invite_expired"
    r = await client.post(
        f"/api/v1/invites/accept/{tenant['slug']}", json={"token": "nope", "display_name": "X", "password": PASSWORD}
    )
    assert r.status_code == 404


async def test_tokens_named_expiring_and_revocable(client: Any, tenant: dict[str, Any]) -> None:
    r = await client.post(
        "/api/v1/tokens", headers=tenant["headers"], json={"name": "scanner 1", "kind": "scanner", "hours": 1}
    )
    assert r.status_code == 201
    scanner = {"Authorization": f"Bearer {r.json()['token']}"}
    assert (await client.get("/api/v1/me", headers=scanner)).status_code == 200
    listed = (await client.get("/api/v1/tokens", headers=tenant["headers"])).json()
    assert any(t["name"] == "scanner 1" for t in listed) and all("token_hash" not in t for t in listed)
    clock.travel(timedelta(hours=2))
    try:
        assert (await client.get("/api/v1/me", headers=scanner)).status_code == 401
    finally:
        clock.reset()
    assert (await client.delete(f"/api/v1/tokens/{r.json()['id']}", headers=tenant["headers"])).status_code == 204


async def test_another_company_cannot_use_my_invite(client: Any, tenant: dict[str, Any]) -> None:
    other = await signup(client)
    root = await _root(client, tenant)
    r = await client.post(
        "/api/v1/invites",
        headers=tenant["headers"],
        json={"email": f"x@{tenant['slug']}.test", "role": "cs_clerk", "org_unit": root["id"]},
    )
    token = r.json()["url"].rsplit("/", 1)[1]
    r = await client.post(
        f"/api/v1/invites/accept/{other['slug']}", json={"token": token, "display_name": "X", "password": PASSWORD}
    )
    assert r.status_code == 404


async def test_invitations_are_listed_within_the_managers_scope(client: Any, tenant: dict[str, Any]) -> None:
    root = await _root(client, tenant)
    a, b = await _unit(client, tenant, "INV-A", root["id"]), await _unit(client, tenant, "INV-B", root["id"])
    r = await client.post(
        "/api/v1/roles",
        headers=tenant["headers"],
        json={"code": "branch_hr", "name": "Branch HR", "permissions": ["staff.read", "staff.manage"]},
    )
    assert r.status_code == 201
    await _person(client, tenant, f"hr@{tenant['slug']}.test", a["id"], ["branch_hr"])
    for unit in (a, b):
        r = await client.post(
            "/api/v1/invites",
            headers=tenant["headers"],
            json={
                "email": f"new-{unit['code'].lower()}@{tenant['slug']}.test",
                "role": "cs_clerk",
                "org_unit": unit["id"],
            },
        )
        assert r.status_code == 201
    hr = await _login(client, tenant, f"hr@{tenant['slug']}.test")
    seen = {i["email"] for i in (await client.get("/api/v1/invites", headers=hr)).json()}
    assert seen == {f"new-inv-a@{tenant['slug']}.test"}
    everyone = {i["email"] for i in (await client.get("/api/v1/invites", headers=tenant["headers"])).json()}
    assert len(everyone) == 2
