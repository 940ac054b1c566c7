"""Members, cards and periods through the API: branch scope, encryption at rest, card numbers
under concurrency, paid periods stacking, policy-linked plans, applications, tenants."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest

from careclub.core import clock
from tests.conftest import signup
from tests.integration.clubs.helpers import as_owner, club_world, ok, person, qr, root_unit


@pytest.fixture(autouse=True)
def _reset_clock() -> Any:
    yield
    clock.reset()


async def test_id_number_is_encrypted_at_rest_and_masked(client: Any, owner: Any) -> None:
    w = await club_world(client)
    assert w["member"]["id_number"] == "110***********1234"
    rows = await as_owner(owner, w["t"]["tenant_id"], "SELECT id_number_enc, id_number_hint FROM club_member")
    assert b"110101199003071234" not in bytes(rows[0]["id_number_enc"])
    r = await client.get(f"/api/v1/members/{w['member']['id']}/id-number", headers=w["t"]["headers"])
    assert await ok(r) == {"id_number": "110101199003071234"}
    assert r.headers["cache-control"] == "no-store"  # a clear ID number is never kept by a cache
    # Copied into another tenant's row, the ciphertext does not decrypt there.
    from careclub.clubs import crypto

    with pytest.raises(ValueError):
        import uuid

        crypto.decrypt(bytes(rows[0]["id_number_enc"]), tenant_id=uuid.uuid4(), purpose="member.id_number")


async def test_branch_operator_sees_and_serves_only_his_branch(client: Any) -> None:
    w = await club_world(client)
    h = w["t"]["headers"]
    root = await root_unit(client, w["t"])
    north = await ok(await client.post("/api/v1/org-units", headers=h, json={
        "code": "north", "name": "North branch", "kind": "branch", "parent_id": root["id"]}), 201)
    south = await ok(await client.post("/api/v1/org-units", headers=h, json={
        "code": "south", "name": "South branch", "kind": "branch", "parent_id": root["id"]}), 201)
    op = await person(client, w["t"], kind="staff", roles=["branch_operator"], unit=north["id"])
    cid = w["club"]["id"]
    mine = await ok(await client.post("/api/v1/members", headers=h, json={
        "club_id": cid, "name": "North One", "phone": "13900000001", "org_unit": north["id"]}), 201)
    theirs = await ok(await client.post("/api/v1/members", headers=h, json={
        "club_id": cid, "name": "South One", "phone": "13900000002", "org_unit": south["id"]}), 201)
    their_card = await ok(await client.post(f"/api/v1/members/{theirs['id']}/cards", headers=h,
                                            json={"plan_id": w["free"]["id"]}), 201)
    listed = await ok(await client.get("/api/v1/members", headers=op["headers"]))
    assert [m["id"] for m in listed["items"]] == [mine["id"]]
    for path in (f"/api/v1/members/{theirs['id']}", f"/api/v1/cards/{their_card['card_no']}",
                 f"/api/v1/cards/{their_card['card_no']}/qr", f"/api/v1/cards/{their_card['card_no']}/events"):
        r = await client.get(path, headers=op["headers"])
        assert r.status_code == 404, (path, r.text)
    r = await client.post(f"/api/v1/cards/{their_card['card_no']}/suspend", headers=op["headers"], json={})
    assert r.status_code == 404
    r = await client.patch(f"/api/v1/members/{theirs['id']}", headers=op["headers"], json={"name": "x"})
    assert r.status_code == 404
    # He enrols into his own branch by default and cannot place members in another.
    created = await ok(await client.post("/api/v1/members", headers=op["headers"], json={
        "club_id": cid, "name": "North Two", "phone": "13900000003"}), 201)
    assert created["org_unit"] == north["id"]
    r = await client.post("/api/v1/members", headers=op["headers"], json={
        "club_id": cid, "name": "Sneaky", "phone": "13900000004", "org_unit": south["id"]})
    assert r.status_code == 404
    card = await ok(await client.post(f"/api/v1/members/{mine['id']}/cards", headers=op["headers"],
                                      json={"plan_id": w["free"]["id"]}), 201)
    await ok(await client.get(f"/api/v1/cards/{card['card_no']}/qr", headers=op["headers"]))


async def test_only_the_cards_member_or_staff_fetch_its_qr(client: Any) -> None:
    w = await club_world(client)
    stranger = await person(client, w["t"], kind="member", roles=["member"])
    r = await client.get(f"/api/v1/cards/{w['card']['card_no']}/qr", headers=stranger["headers"])
    assert r.status_code == 404
    r = await client.get(f"/api/v1/cards/{w['card']['card_no']}/qr", headers=w["operator"]["headers"])
    assert r.status_code == 404
    body = await ok(await client.get(f"/api/v1/cards/{w['card']['card_no']}/qr", headers=w["t"]["headers"]))
    assert body["svg"].startswith("<svg") and set(body) == {"token", "expires_at", "svg"}
    mine = await ok(await client.get("/api/v1/me/cards", headers=w["member_user"]["headers"]))
    assert [c["card_no"] for c in mine] == [w["card"]["card_no"]]


async def test_card_numbers_are_unique_under_concurrent_enrolment(client: Any) -> None:
    w = await club_world(client)
    h = w["t"]["headers"]
    members = [await ok(await client.post("/api/v1/members", headers=h, json={
        "club_id": w["club"]["id"], "name": f"M{i}", "phone": f"1370000000{i}"}), 201) for i in range(10)]
    results = await asyncio.gather(*(client.post(f"/api/v1/members/{m['id']}/cards", headers=h,
                                                 json={"plan_id": w["free"]["id"]}) for m in members))
    numbers = [(await ok(r, 201))["card_no"] for r in results]
    prefix = w["club"]["card_prefix"]
    assert sorted(numbers) == [f"{prefix}{i:06d}" for i in range(2, 12)]


async def test_paid_period_activates_then_renewals_stack_and_never_shorten(client: Any) -> None:
    w = await club_world(client)
    h = w["t"]["headers"]
    card = await ok(await client.post(f"/api/v1/members/{w['member']['id']}/cards", headers=h,
                                      json={"plan_id": w["vip"]["id"]}), 201)
    no = card["card_no"]
    assert card["status"] == "pending" and card["valid_until"] is None
    r = await client.get(f"/api/v1/cards/{no}/qr", headers=w["member_user"]["headers"])
    assert r.status_code == 409
    periods = await ok(await client.get(f"/api/v1/cards/{no}/periods", headers=h))
    assert [(p["kind"], p["amount"], p["status"]) for p in periods] == [
        ("join", {"amount": "365.00", "currency": "CNY"}, "pending")]
    # Paying twice (a retried webhook, a double click) pays once.
    results = await asyncio.gather(*(client.post(f"/api/v1/periods/{periods[0]['id']}/offline-payment", headers=h,
                                                 json={"reference": "cash"}) for _ in range(3)))
    assert {r.status_code for r in results} == {200}
    first = await ok(await client.get(f"/api/v1/cards/{no}", headers=h))
    assert first["status"] == "active"
    until1 = datetime.fromisoformat(first["valid_until"])
    assert timedelta(days=364) < until1 - clock.now() < timedelta(days=367)
    renewal = await ok(await client.post(f"/api/v1/cards/{no}/periods", headers=h), 201)
    assert (await ok(await client.post(f"/api/v1/cards/{no}/periods", headers=h), 201))["id"] == renewal["id"]
    paid = await ok(await client.post(f"/api/v1/periods/{renewal['id']}/offline-payment", headers=h, json={}))
    assert paid["status"] == "paid"
    second = await ok(await client.get(f"/api/v1/cards/{no}", headers=h))
    until2 = datetime.fromisoformat(second["valid_until"])
    assert timedelta(days=364) < until2 - until1 < timedelta(days=367)  # stacked on the end, not on today
    events = [e["kind"] for e in await ok(await client.get(f"/api/v1/cards/{no}/events", headers=h))]
    assert events == ["created", "period_opened", "period_paid", "period_opened", "period_paid"]
    # a cancelled card is never renewed by a payment
    third = await ok(await client.post(f"/api/v1/cards/{no}/periods", headers=h), 201)
    await ok(await client.post(f"/api/v1/cards/{no}/cancel", headers=h, json={"reason": "moved away"}))
    r = await client.post(f"/api/v1/periods/{third['id']}/offline-payment", headers=h, json={"reference": "cash"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "card_closed"
    assert (await ok(await client.get(f"/api/v1/cards/{no}", headers=h)))["valid_until"] == second["valid_until"]
    periods = await ok(await client.get(f"/api/v1/cards/{no}/periods", headers=h))
    assert [p["status"] for p in periods].count("paid") == 2


async def test_policy_linked_plan_one_car_one_member(client: Any) -> None:
    t = await signup(client)
    h = t["headers"]
    club = await ok(await client.post("/api/v1/clubs", headers=h, json={
        "code": "ab", "name": "Anbao", "card_prefix": "AB-"}), 201)
    plan = await ok(await client.post(f"/api/v1/clubs/{club['id']}/plans", headers=h, json={
        "code": "policy", "name": "Policy holder", "grace_days": 10, "requires_vehicle": True,
        "one_card_per_vehicle": True, "policy_linked": True}), 201)
    m = await ok(await client.post("/api/v1/members", headers=h, json={
        "club_id": club["id"], "name": "李四", "phone": "13600000000"}), 201)
    r = await client.post(f"/api/v1/members/{m['id']}/cards", headers=h, json={"plan_id": plan["id"]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "vehicle_id"
    v = await ok(await client.post(f"/api/v1/members/{m['id']}/vehicles", headers=h, json={"plate": "沪A12345"}), 201)
    ends = (clock.now() + timedelta(days=200)).isoformat()
    body = {"plan_id": plan["id"], "vehicle_id": v["id"], "policy_no": "P-1", "policy_ends_at": ends}
    results = await asyncio.gather(*(client.post(f"/api/v1/members/{m['id']}/cards", headers=h, json=body)
                                     for _ in range(4)))
    assert sorted(r.status_code for r in results) == [201, 409, 409, 409]
    card = next(r.json() for r in results if r.status_code == 201)
    assert card["card_no"].startswith("AB-") and card["status"] == "active"
    assert card["valid_until"][:10] == ends[:10]
    later = (clock.now() + timedelta(days=565)).isoformat()
    renewed = await ok(await client.post(f"/api/v1/cards/{card['card_no']}/policy", headers=h,
                                         json={"policy_no": "P-2", "policy_ends_at": later}))
    assert renewed["valid_until"][:10] == later[:10] and renewed["policy_no"] == "P-2"
    shorter = await ok(await client.post(f"/api/v1/cards/{card['card_no']}/policy", headers=h,
                                         json={"policy_no": "P-3", "policy_ends_at": ends}))
    assert shorter["valid_until"][:10] == later[:10]  # never shortened
    r = await client.post(f"/api/v1/members/{m['id']}/vehicles", headers=h, json={"plate": "沪a12345"})
    assert r.status_code == 409


async def test_member_applies_free_plan_gets_active_card_and_qr(client: Any) -> None:
    w = await club_world(client)
    newcomer = await person(client, w["t"], kind="member", roles=["member"])
    card = await ok(await client.post(f"/api/v1/clubs/{w['club']['id']}/applications", headers=newcomer["headers"],
                                      json={"plan_id": w["free"]["id"], "name": "Wang Wu", "phone": "13500000000"}),
                     201)
    assert card["status"] == "active"
    assert await qr(client, w, card["card_no"], headers=newcomer["headers"])


async def test_invalid_input_is_422_naming_the_field(client: Any) -> None:
    w = await club_world(client)
    h = w["t"]["headers"]
    cid = w["club"]["id"]
    cases = [
        (f"/api/v1/clubs/{cid}/plans", {"code": "x", "name": "X", "fee": {"amount": "1.234", "currency": "CNY"}},
         "fee.amount"),
        (f"/api/v1/clubs/{cid}/plans", {"code": "x", "name": "X", "fee": {"amount": "1.00", "currency": "USD"}},
         "fee.currency"),
        (f"/api/v1/clubs/{cid}/plans", {"code": "x", "name": "X", "term_months": 0}, "term_months"),
        (f"/api/v1/clubs/{cid}/merchants", {"code": "m", "name": "M", "offer_kind": "percent", "offer_value": 120},
         "offer_value"),
        (f"/api/v1/clubs/{cid}/benefits", {"code": "b", "name": "B", "quota_period": "week"}, "quota_period"),
        (f"/api/v1/clubs/{cid}/benefits", {"code": "b", "name": "B", "merchants": ["nope"]}, "merchants"),
        ("/api/v1/members", {"club_id": cid, "name": "A", "phone": "call me"}, "phone"),
        ("/api/v1/clubs", {"code": "c2", "name": "C", "card_prefix": "lower"}, "card_prefix"),
        ("/api/v1/checkins", {"token": "x", "unknown": 1}, "unknown"),
    ]
    for path, body, field in cases:
        r = await client.post(path, headers=w["operator"]["headers"] if "checkins" in path else h, json=body)
        assert r.status_code == 422, (path, body, r.text)
        assert field in (r.json()["error"].get("field") or "") + r.json()["error"]["message"], (field, r.text)
    r = await client.post("/api/v1/checkins", headers=w["operator"]["headers"],
                          json={"token": "x", "amount": {"amount": "-1", "currency": "CNY"}})
    assert r.status_code == 422


async def test_staff_without_a_merchant_cannot_scan(client: Any) -> None:
    w = await club_world(client)
    r = await client.post("/api/v1/checkins", headers=w["t"]["headers"], json={"token": await qr(client, w)})
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_a_merchant_operator"
    r = await client.post("/api/v1/checkins", headers=w["member_user"]["headers"], json={"token": "x"})
    assert r.status_code == 403
