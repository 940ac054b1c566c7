"""The two confirmations and the month's settlement, through the API: a payment needs an approved line,
the developer confirms each, the month takes only confirmed payments, the fee is exact to the fen."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from tests.integration.settlements.helpers import (
    YY,
    approved_budget,
    budget,
    confirm,
    make_world,
    ok,
    on_day,
    pay,
    set_stage,
    walk,
)


async def test_budget_payment_confirmation_settlement(client: Any) -> None:
    w = await make_world(client)
    await set_stage(client, w, YY, "post_move_in", "2026-06-30")
    b = await approved_budget(client, w, project=YY, month="2026-10", amounts=["1000.00", "333.33"])
    assert b["status"] == "approved" and b["stage"] == "post_move_in"
    line1, line2 = b["lines"][0]["id"], b["lines"][1]["id"]
    p1 = await pay(client, w, line1, "999.99", "2026-10-12")
    p2 = await pay(client, w, line2, "333.33", "2026-10-20")
    assert p1["status"] == "recorded" and "采购申请表第1项" in p1["evidence"]
    await confirm(client, w, p1["id"])
    s = await ok(await client.post("/api/v1/settlements", headers=w.h("property-finance"),
                                   json={"project": YY, "month": "2026-10"}), 201)
    assert s["confirmed_cost"]["amount"] == "999.99" and s["waiting_count"] == 1
    assert s["management_fee"]["amount"] == "100.00"  # 99.999 rounds half up to the fen
    assert s["total"]["amount"] == "1099.99" and s["due_on"] == "2026-11-22"
    await confirm(client, w, p2["id"])
    s = await ok(await client.post(f"/api/v1/settlements/{s['id']}/submit", headers=w.h("property-finance")))
    assert s["status"] == "in_review" and s["confirmed_cost"]["amount"] == "1333.32"
    assert s["management_fee"]["amount"] == "133.33" and s["total"]["amount"] == "1466.65"
    walked = await walk(client, w, s["approval_request"])
    assert [n for n, _ in walked] == ["物业分管领导及财务负责人会签", "物业公司总经理审批", "客服小组负责人审核",
                                     "地产财务部审核", "城市公司总经理审批"]
    listed = await ok(await client.get("/api/v1/settlements", headers=w.h("auditor"), params={"month": "2026-10"}))
    assert [(x["project"], x["status"], x["total"]["amount"]) for x in listed] == [(YY, "approved", "1466.65")]


async def test_payment_refused_without_approved_line(client: Any) -> None:
    w = await make_world(client)
    await set_stage(client, w, YY, "pre_move_in")
    b = await budget(client, w, "property", project=YY, kind="monthly", month="2026-10", amounts=["500.00"])
    r = await client.post("/api/v1/settlement-payments", headers=w.h("property"), json={
        "line": b["lines"][0]["id"], "amount": {"amount": "10.00", "currency": "CNY"}, "paid_on": "2026-10-02",
        "payee": "X"})
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "budget_line_not_approved"
    assert "draft" in r.json()["error"]["message"]
    with on_day("2026-10-01"):
        await ok(await client.post(f"/api/v1/settlement-budgets/{b['id']}/submit", headers=w.h("property")))
        walked = await walk(client, w, (await ok(await client.get(f"/api/v1/settlement-budgets/{b['id']}",
                                                                  headers=w.h("property"))))["approval_request"])
    assert [n for n, _ in walked] == ["营销小组负责人审核"]  # the project is before move-in
    # approved on 1 October: a payment of 30 September predates it, one of tomorrow is not made yet
    r = await client.post("/api/v1/settlement-payments", headers=w.h("property"), json={
        "line": b["lines"][0]["id"], "amount": {"amount": "10.00", "currency": "CNY"}, "paid_on": "2026-09-30",
        "payee": "X"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "paid_before_approval", r.text
    assert "2026-10-01" in r.json()["error"]["message"]
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    r = await client.post("/api/v1/settlement-payments", headers=w.h("property"), json={
        "line": b["lines"][0]["id"], "amount": {"amount": "10.00", "currency": "CNY"}, "paid_on": tomorrow,
        "payee": "X"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "paid_in_future", r.text
    await pay(client, w, b["lines"][0]["id"], "500.00", "2026-10-02")
    r = await client.post("/api/v1/settlement-payments", headers=w.h("property"), json={
        "line": b["lines"][0]["id"], "amount": {"amount": "0.01", "currency": "CNY"}, "paid_on": "2026-10-03",
        "payee": "X"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "exceeds_budget_line"


async def test_a_new_company_sees_what_it_still_has_to_set_up(client: Any) -> None:
    from careclub.core.db import tenant_scope
    from careclub.settlements import service
    from tests.conftest import signup

    fresh = await signup(client)
    async with tenant_scope(uuid.UUID(fresh["tenant_id"])):
        status = await service.setup_status()
    assert status == {"projects": False, "preparers": False, "confirmers": False, "ready": False,
                      "policies": {"property_budget": False, "property_work": False, "budget_addition": False,
                                   "property_settlement": False}}
    w = await make_world(client)
    async with tenant_scope(w.tenant_id):
        assert (await service.setup_status())["ready"] is True


async def test_a_payment_names_every_problem_at_once(client: Any) -> None:
    w = await make_world(client)
    b = await approved_budget(client, w, project=YY, month="2026-11", amounts=["100.00"])
    await ok(await client.post("/api/v1/settlements", headers=w.h("property-finance"),
                               json={"project": YY, "month": "2026-10"}), 201)
    far = (date.today() + timedelta(days=40)).isoformat()
    r = await client.post("/api/v1/settlement-payments", headers=w.h("property"), json={
        "line": b["lines"][0]["id"], "amount": {"amount": "100.01", "currency": "CNY"}, "paid_on": far,
        "payee": " "})
    assert r.status_code == 422, r.text
    codes = {f["code"] for f in r.json()["error"]["fields"]}
    assert codes == {"exceeds_budget_line", "paid_in_future", "invalid_payee"}
    r = await client.post("/api/v1/settlement-payments", headers=w.h("property"), json={
        "line": b["lines"][0]["id"], "amount": {"amount": "100.01", "currency": "CNY"}, "paid_on": "2026-10-31",
        "payee": "P"})
    assert {f["code"] for f in r.json()["error"]["fields"]} == {"exceeds_budget_line", "paid_before_approval"}
    assert "100.00" in r.json()["error"]["message"]
