"""Every chain the guide names, at its boundaries, as the example company's policies set them: the form is
submitted for real and the request it opens is read back, so the stage → category routing is tested too."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.settlements.helpers import GY, YY, World, budget, make_world, ok, set_stage

SALES, CS = "营销小组负责人审核", "客服小组负责人审核"
GM = "城市公司总经理审批"
CONFIRM = "营销客服部负责人确认"
COUNTERSIGN = "分管领导及财务领导会签"


@pytest.fixture(scope="module")
async def world(client: Any) -> World:
    w = await make_world(client)
    await set_stage(client, w, YY, "post_move_in", "2026-06-30")
    await ok(await client.post(f"/api/v1/settlement-projects/{YY}/phases", headers=w.h("admin"), json={
        "code": "二期", "name": "二期 (未入伙)", "stage": "pre_move_in"}))
    return w


async def chain_of(client: Any, w: World, who: str, **form: Any) -> list[str]:
    b = await budget(client, w, who, **form)
    b = await ok(await client.post(f"/api/v1/settlement-budgets/{b['id']}/submit", headers=w.h(who)))
    assert b["status"] == "in_review"
    detail = await ok(await client.get(f"/api/v1/approvals/requests/{b['approval_request']}", headers=w.h("admin")))
    assert all(any(slot["user_ids"] for slot in s["slots"]) for s in detail["steps"])
    return [s["name"] for s in detail["steps"]]


@pytest.mark.parametrize(("project", "kind", "amount", "expected"), [
    (GY, "monthly", "88000.00", [SALES]),  # before move-in: the sales group
    (YY, "monthly", "88000.00", [CS]),  # after move-in: the customer-service group
    (GY, "annual", "960000.00", ["财务部审核", GM]),
    (GY, "unplanned", "19999.99", [SALES]),
    (GY, "unplanned", "20000.00", [SALES, GM]),
    (YY, "unplanned", "19999.99", [CS]),
    (YY, "unplanned", "20000.00", [CS, GM]),
    (GY, "proxy_purchase", "300.00", ["需求部门负责人审批", "分管领导审批", "财务领导审批", GM]),
    (GY, "sales_office", "5000.00", [CONFIRM]),
    (GY, "sales_office", "5000.01", [CONFIRM, COUNTERSIGN]),
    (GY, "sales_office", "10000.00", [CONFIRM, COUNTERSIGN]),
    (GY, "sales_office", "10000.01", [CONFIRM, COUNTERSIGN, GM]),
])
async def test_chain_at_its_boundary(client: Any, world: World, project: str, kind: str, amount: str,
                                     expected: list[str]) -> None:
    who = "property" if project == YY else "property2"
    assert await chain_of(client, world, who, project=project, kind=kind, month="2026-11", amounts=[amount]) == expected


async def test_a_phase_before_move_in_goes_to_the_sales_group(client: Any, world: World) -> None:
    project = await ok(await client.get(f"/api/v1/settlement-projects/{YY}", headers=world.h("property")))
    phase = next(p for p in project["phases"] if p["code"] == "二期")
    names = await chain_of(client, world, "property", project=YY, kind="monthly", month="2026-11",
                           amounts=["1200.00"], phase=phase["id"])
    assert names == [SALES]


async def test_moving_in_moves_the_review(client: Any) -> None:
    w = await make_world(client)
    draft = await budget(client, w, "property2", project=GY, kind="monthly", month="2026-11", amounts=["10.00"])
    await set_stage(client, w, GY, "post_move_in", "2026-11-15")
    b = await ok(await client.post(f"/api/v1/settlement-budgets/{draft['id']}/submit", headers=w.h("property2")))
    assert b["stage"] == "post_move_in"
    detail = await ok(await client.get(f"/api/v1/approvals/requests/{b['approval_request']}", headers=w.h("admin")))
    assert [s["name"] for s in detail["steps"]] == [CS]


async def test_addition_is_the_developers_and_the_regional_head_decides(client: Any, world: World) -> None:
    names = await chain_of(client, world, "mcs", project=GY, kind="addition", month="2026-11", amounts=["5000.00"])
    assert names == ["财务部审核", "城市公司总经理审核", "区域分管总审定"]
    r = await client.post("/api/v1/settlement-budgets", headers=world.h("property2"), json={
        "project": GY, "kind": "addition", "month": "2026-11", "title": "more", "cost_type": "purchase",
        "lines": [{"description": "x", "amount": {"amount": "1.00", "currency": "CNY"}}]})
    assert r.status_code == 403, r.text


async def test_a_form_names_every_problem_at_once(client: Any, world: World) -> None:
    r = await client.post("/api/v1/settlement-budgets", headers=world.h("property2"), json={
        "project": GY, "kind": "monthly", "month": "2026-13", "title": " ", "lines": [
            {"description": "", "amount": {"amount": "0.00", "currency": "CNY"}},
            {"description": "ok", "amount": {"amount": "1.234", "currency": "CNY"}}]})
    assert r.status_code == 422, r.text
    fields = {f["field"] for f in r.json()["error"]["fields"]}
    assert fields == {"month", "title", "lines[0].description", "lines[0].amount", "lines[1].amount.amount",
                      "cost_type"}
    r = await client.post("/api/v1/settlement-budgets", headers=world.h("property2"), json={
        "project": GY, "kind": "monthly", "month": "2026-11", "title": " ", "lines": [
            {"description": "", "amount": {"amount": "0.00", "currency": "CNY"}}]})
    assert r.status_code == 422, r.text
    fields = {f["field"] for f in r.json()["error"]["fields"]}
    assert fields == {"cost_type", "title", "lines[0].description", "lines[0].amount"}
