"""Items and fee standards: designed by the site manager, approved by the general manager through the
approval core, only then published; a fee change is a new version approved again, while orders keep the
version they were priced by; and one company never sees another's services or orders."""

from __future__ import annotations

from typing import Any

from tests.integration.catalogue.helpers import World, book, make_world, money, ok

NEW_ITEM = {"code": "HOUSE", "name": "Housekeeping", "category": "housekeeping", "standard": "two hours, tidy",
            "fee_basis": "per_hour", "fee": money("60.00"), "prepay_kind": "none", "delivery_hours": 48}


async def _decide(client: Any, w: World, version: dict[str, Any], decision: str = "approve") -> None:
    request = await ok(await client.get(f"/api/v1/approvals/requests/{version['approval_request']}",
                                        headers=w.h("gm")))
    step = next(s for s in request["steps"] if s["status"] == "active")
    await ok(await client.post(f"/api/v1/approvals/requests/{request['id']}/decisions", headers=w.h("gm"),
                               json={"step_id": step["id"], "decision": decision, "comment": "ok"}), 201)


async def test_a_new_service_is_published_only_after_the_general_manager_approves_it(client: Any) -> None:
    w = await make_world(client)
    body = {**NEW_ITEM, "project": w.org["P1"], "provider_department": w.org["P1-CS"]}
    item = await ok(await client.post("/api/v1/catalogue/items", headers=w.h("site"), json=body), 201)
    assert item["status"] == "draft" and item["versions"][0]["status"] == "draft"
    names = {e["name"] for e in await ok(await client.get("/api/v1/catalogue", headers=w.h("res")))}
    assert "Housekeeping" not in names
    r = await client.post("/api/v1/service-orders", headers=w.h("res"), json={"item": item["id"],
                                                                               "unit": w.units["A-101"]})
    assert r.status_code == 404 and r.json()["error"]["field"] == "item"
    sent = await ok(await client.post(f"/api/v1/catalogue/items/{item['id']}/submit", headers=w.h("site")))
    assert sent["versions"][0]["status"] == "in_review"
    version_body = {k: v for k, v in body.items() if k not in ("code", "category", "project")}
    r = await client.put(f"/api/v1/catalogue/items/{item['id']}/draft", headers=w.h("site"), json=version_body)
    assert r.status_code == 409 and r.json()["error"]["code"] == "version_in_review"
    await _decide(client, w, sent["versions"][0])
    published = await ok(await client.get(f"/api/v1/catalogue/items/{item['id']}", headers=w.h("site")))
    assert published["status"] == "published" and published["versions"][0]["status"] == "approved"
    entry = next(e for e in await ok(await client.get("/api/v1/catalogue", headers=w.h("res")))
                 if e["name"] == "Housekeeping")
    assert entry["fee"] == {"amount": "60.00", "currency": "CNY", "per": "hour"} and entry["delivery_hours"] == 48


async def test_a_fee_change_is_approved_again_and_old_orders_keep_their_price(client: Any) -> None:
    w = await make_world(client)
    old = await book(client, w, "res", "CLEAN", unit=w.units["A-101"], quantity="50")
    assert old["price"] == money("250.00") and old["version"] == 1
    body = {"name": "Deep cleaning", "fee_basis": "per_m2", "fee": money("6.50"), "prepay_kind": "prepayment",
            "prepay": money("500.00"), "provider_department": w.org["P1-CS"], "note": "labour costs rose"}
    changed = await ok(await client.put(f"/api/v1/catalogue/items/{w.items['CLEAN']}/draft", headers=w.h("site"),
                                        json=body))
    assert [v["status"] for v in changed["versions"]] == ["draft", "approved"]
    # until the new standard is approved, bookings are priced by the old one
    meanwhile = await book(client, w, "res", "CLEAN", unit=w.units["A-101"], quantity="10")
    assert meanwhile["price"] == money("50.00")
    sent = await ok(await client.post(f"/api/v1/catalogue/items/{w.items['CLEAN']}/submit", headers=w.h("site")))
    await _decide(client, w, sent["versions"][0])
    after = await ok(await client.get(f"/api/v1/catalogue/items/{w.items['CLEAN']}", headers=w.h("site")))
    assert [(v["version"], v["status"]) for v in after["versions"]] == [(2, "approved"), (1, "superseded")]
    new = await book(client, w, "res", "CLEAN", unit=w.units["A-101"], quantity="50")
    assert new["price"] == money("325.00") and new["version"] == 2
    again = await ok(await client.get(f"/api/v1/service-orders/{old['id']}", headers=w.h("res")))
    assert again["price"] == money("250.00") and again["version"] == 1
    # a company-wide service is changed only by someone with the right at the company
    r = await client.put(f"/api/v1/catalogue/items/{w.items['MOVE']}/draft", headers=w.h("site"), json=body)
    assert r.status_code == 404


async def test_a_rejected_or_returned_version_publishes_nothing_and_a_returned_one_goes_round_again(
        client: Any) -> None:
    w = await make_world(client)
    body = {**NEW_ITEM, "project": w.org["P1"], "provider_department": w.org["P1-CS"]}
    item = await ok(await client.post("/api/v1/catalogue/items", headers=w.h("site"), json=body), 201)
    body = {k: v for k, v in body.items() if k not in ("code", "category", "project")}
    sent = await ok(await client.post(f"/api/v1/catalogue/items/{item['id']}/submit", headers=w.h("site")))
    await _decide(client, w, sent["versions"][0], "return")
    back = await ok(await client.get(f"/api/v1/catalogue/items/{item['id']}", headers=w.h("site")))
    assert back["versions"][0]["status"] == "returned" and back["status"] == "draft"
    await ok(await client.put(f"/api/v1/catalogue/items/{item['id']}/draft", headers=w.h("site"),
                              json={**body, "fee": money("55.00")}))
    again = await ok(await client.post(f"/api/v1/catalogue/items/{item['id']}/submit", headers=w.h("site")))
    assert again["versions"][0]["approval_request"] == sent["versions"][0]["approval_request"]
    await _decide(client, w, again["versions"][0], "reject")
    final = await ok(await client.get(f"/api/v1/catalogue/items/{item['id']}", headers=w.h("site")))
    assert final["status"] == "draft" and final["versions"][0]["status"] == "rejected"
    assert "Housekeeping" not in {e["name"] for e in await ok(await client.get("/api/v1/catalogue",
                                                                               headers=w.h("res")))}


async def test_every_problem_of_a_proposed_item_is_named_at_once(client: Any) -> None:
    w = await make_world(client)
    r = await client.post("/api/v1/catalogue/items", headers=w.h("site"), json={
        "code": "bad code!", "name": "", "project": w.org["P1"], "fee_basis": "quoted", "fee_min": money("90.00"),
        "fee_max": money("10.00"), "prepay_kind": "deposit", "provider_department": w.org["P1-CS"],
        "subcontractor": None})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["error"]["fields"]}
    assert fields == {"code", "name", "fee_max", "prepay_amount"}
    r = await client.post("/api/v1/catalogue/items", headers=w.h("site"), json={
        "code": "X", "name": "X", "fee_basis": "per_unit", "fee": money("1.00"), "project": w.org["P1"]})
    assert {e["field"] for e in r.json()["error"]["fields"]} == {"unit_label", "provider_department"}
    r = await client.post("/api/v1/catalogue/items", headers=w.h("site"), json={
        "code": "X", "name": "X", "fee": {"amount": "1.001", "currency": "CNY"}, "provider_department": w.org["P1"],
        "project": w.org["P1"]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "fee.amount"
    # a site manager designs services in his own project only; a clerk not at all
    r = await client.post("/api/v1/catalogue/items", headers=w.h("site"), json={
        **NEW_ITEM, "project": w.org["P2"], "provider_department": w.org["P1-CS"]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "project"
    r = await client.post("/api/v1/catalogue/items", headers=w.h("clerk"), json={
        **NEW_ITEM, "provider_department": w.org["P1-CS"]})
    assert r.status_code == 403


async def test_one_company_never_sees_anothers_services_or_orders(client: Any) -> None:
    a = await make_world(client)
    b = await make_world(client)
    order = await book(client, a, "res", "MOVE", unit=a.units["A-101"])
    for who in ("site", "clerk", "cashier", "res"):
        r = await client.get(f"/api/v1/service-orders/{order['id']}", headers=b.h(who))
        assert r.status_code == 404, who
        r = await client.get(f"/api/v1/catalogue/items/{a.items['MOVE']}", headers=b.h(who))
        assert r.status_code in (403, 404), who
    r = await client.post("/api/v1/service-orders", headers=b.h("res"), json={"item": a.items["MOVE"],
                                                                               "unit": a.units["A-101"]})
    assert r.status_code == 404
    r = await client.post("/api/v1/payments/offline", headers=b.h("cashier"), json={
        "payable_kind": "service_prepay", "payable_id": order["id"], "method": "cash", "reference": "X"})
    assert r.status_code == 404
    listed = await ok(await client.get("/api/v1/service-orders", headers=b.h("clerk")))
    assert order["id"] not in {o["id"] for o in listed["items"]}
    ids = {e["id"] for e in await ok(await client.get("/api/v1/catalogue", headers=b.h("clerk")))}
    assert not ids & set(a.items.values())
