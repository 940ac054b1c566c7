"""Building a club through the API for the tests: a club, a paid and a free plan, merchants,
benefits, a member with an active card, a merchant operator with a scanner token."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from tests.conftest import PASSWORD, signup


async def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


async def root_unit(client: Any, t: dict[str, Any]) -> dict[str, Any]:
    units = (await client.get("/api/v1/org-units", headers=t["headers"])).json()["items"]
    return units[0]


async def person(client: Any, t: dict[str, Any], *, kind: str, roles: list[str], unit: str | None = None
                 ) -> dict[str, Any]:
    unit = unit or (await root_unit(client, t))["id"]
    email = f"{kind}-{uuid.uuid4().hex[:8]}@{t['slug']}.test"
    user = await ok(await client.post("/api/v1/staff", headers=t["headers"], json={
        "email": email, "display_name": f"{kind} person", "org_unit": unit, "roles": roles, "kind": kind}), 201)
    token = await ok(await client.post("/api/v1/tokens", headers=t["headers"], json={
        "name": "test", "user_id": user["id"], "kind": "scanner" if kind == "merchant" else "api"}), 201)
    return {"id": user["id"], "email": email, "headers": {"Authorization": f"Bearer {token['token']}"}}


async def staff_with_password(client: Any, t: dict[str, Any], *, roles: list[str], kind: str = "staff",
                              unit: str | None = None) -> dict[str, Any]:
    """Someone who signs in to the pages (with tests.conftest.PASSWORD), holding `roles` at `unit`."""
    unit = unit or (await root_unit(client, t))["id"]
    email = f"{kind}-{uuid.uuid4().hex[:8]}@{t['slug']}.test"
    user = await ok(await client.post("/api/v1/staff", headers=t["headers"], json={
        "email": email, "display_name": "Someone", "org_unit": unit, "roles": roles, "kind": kind,
        "password": PASSWORD}), 201)
    return {"id": user["id"], "email": email}


async def branch(client: Any, t: dict[str, Any], code: str) -> dict[str, Any]:
    root = await root_unit(client, t)
    return await ok(await client.post("/api/v1/org-units", headers=t["headers"], json={
        "code": code, "name": f"Branch {code}", "parent_id": root["id"], "kind": "branch"}), 201)


async def club_world(client: Any, t: dict[str, Any] | None = None, *, grace_days: int = 10,
                     quota: int = 4) -> dict[str, Any]:
    t = t or await signup(client)
    h = t["headers"]
    prefix = "T" + uuid.uuid4().hex[:3].upper() + "-"
    club = await ok(await client.post("/api/v1/clubs", headers=h, json={
        "code": "car", "name": "Car club", "card_prefix": prefix}), 201)
    cid = club["id"]
    vip = await ok(await client.post(f"/api/v1/clubs/{cid}/plans", headers=h, json={
        "code": "vip", "name": "VIP card", "fee": {"amount": "365.00", "currency": "CNY"}, "term_months": 12,
        "grace_days": grace_days, "static_card": True, "static_daily_cap": 2}), 201)
    free = await ok(await client.post(f"/api/v1/clubs/{cid}/plans", headers=h, json={
        "code": "free", "name": "Free card", "grace_days": grace_days}), 201)
    wash = await ok(await client.post(f"/api/v1/clubs/{cid}/merchants", headers=h, json={
        "code": "wash", "name": "Sparkle Wash", "category": "washing", "offer_kind": "percent",
        "offer_value": 20, "offer_text": "20% off"}), 201)
    other = await ok(await client.post("/api/v1/clubs", headers=h, json={
        "code": "other", "name": "Other club", "card_prefix": "O" + prefix}), 201)
    foreign = await ok(await client.post(f"/api/v1/clubs/{other['id']}/merchants", headers=h, json={
        "code": "foreign", "name": "Not ours"}), 201)
    benefit = await ok(await client.post(f"/api/v1/clubs/{cid}/benefits", headers=h, json={
        "code": "washing", "name": "Car wash", "group_name": "Care", "quota": quota, "quota_period": "year",
        "merchants": ["wash"]}), 201)
    member_user = await person(client, t, kind="member", roles=["member"])
    member = await ok(await client.post("/api/v1/members", headers=h, json={
        "club_id": cid, "name": "张三丰", "phone": "13800000001", "id_number": "110101199003071234",
        "user_id": member_user["id"]}), 201)
    card = await ok(await client.post(f"/api/v1/members/{member['id']}/cards", headers=h,
                                      json={"plan_id": free["id"]}), 201)
    assert card["status"] == "active", card
    operator = await person(client, t, kind="merchant", roles=["merchant_operator"])
    await ok(await client.post(f"/api/v1/merchants/{wash['id']}/operators", headers=h,
                               json={"user_id": operator["id"]}), 201)
    foreign_op = await person(client, t, kind="merchant", roles=["merchant_operator"])
    await ok(await client.post(f"/api/v1/merchants/{foreign['id']}/operators", headers=h,
                               json={"user_id": foreign_op["id"]}), 201)
    return {"t": t, "club": club, "vip": vip, "free": free, "wash": wash, "foreign": foreign, "benefit": benefit,
            "member": member, "member_user": member_user, "card": card, "operator": operator,
            "foreign_op": foreign_op}


async def qr(client: Any, w: dict[str, Any], card_no: str | None = None, headers: dict[str, str] | None = None
             ) -> str:
    r = await client.get(f"/api/v1/cards/{card_no or w['card']['card_no']}/qr",
                         headers=headers or w["member_user"]["headers"])
    assert r.status_code == 200, r.text
    return r.json()["token"]  # type: ignore[no-any-return]


async def scan(client: Any, w: dict[str, Any], token: str, *, operator: dict[str, Any] | None = None,
               **extra: Any) -> Any:
    return await client.post("/api/v1/checkins", headers=(operator or w["operator"])["headers"],
                             json={"token": token, **extra})


async def as_owner(owner: asyncpg.Connection, tenant_id: str, sql: str, *args: Any) -> Any:
    """Change data behind the app's back (e.g. move a card's end date), scoped like the app."""
    async with owner.transaction():
        await owner.execute("SELECT set_config('app.tenant_id', $1, true)", tenant_id)
        return await owner.fetch(sql, *args)
