"""海悦地产 (tenants/haiyue-residential.toml, seed 001: 商品住宅客户服务管理指导书).

Platform part: identity, departments and the property company's communities, 总经理 / 开发部总监 /
客户服务经理 / 区域总部 as roles. Later issues add here: the customer-service fund with its
tiered approval (<10,000 / 10,000–100,000 / >100,000), fund sources, and 客户服务联系单 dispatched
to departments and tracked to closure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from careclub.core import clock
from tests.scenarios.helpers import (
    Scenario,
    sign_in,
    visible_unit_codes,
)

SLUG = "haiyue-residential"


async def test_community_clerk_sees_only_his_community(client: Any, scenario: Scenario) -> None:
    headers = scenario.as_("clerk@haiyue-residential.example")
    assert await visible_unit_codes(client, headers) == {"PM-HYHY"}


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


async def _steps(client: Any, headers: dict[str, str], approval_id: str) -> list[dict[str, Any]]:
    return list((await client.get(f"/api/v1/approvals/requests/{approval_id}", headers=headers)).json()["steps"])


async def _approve(client: Any, headers: dict[str, str], approval_id: str) -> None:
    [step] = [s for s in await _steps(client, headers, approval_id) if s["status"] == "active"]
    r = await client.post(f"/api/v1/approvals/requests/{approval_id}/decisions", headers=headers,
                          json={"step_id": step["id"], "decision": "approve", "comment": "同意"})
    assert r.status_code == 201, r.text


async def test_the_customer_service_fund_from_its_sources_to_a_reimbursed_repair(client: Any,
                                                                                 scenario: Scenario) -> None:
    # 001 客户服务基金: three sources, the tiers < 10,000 / 10,000–100,000 / > 100,000, and the ledger kept by finance.
    finance = scenario.as_("finance@haiyue-residential.example")
    [fund] = [f for f in (await client.get("/api/v1/funds", headers=finance)).json() if f["name"] == "客户服务基金"]
    assert fund["balances"]["available"] == _money("425000.00")  # 300,000 + 80,000 + 45,000
    contributions = (await client.get(f"/api/v1/funds/{fund['id']}/contributions", headers=finance)).json()
    assert {c["kind"] for c in contributions} == {"reserve", "maintenance_fund", "warranty_deposit"}
    decision = next(c for c in contributions if c["kind"] == "maintenance_fund")["reference"]
    assert decision.startswith("海悦花园业主委员会")
    eng = scenario.as_("engineering@haiyue-residential.example")
    tiers = {"9999.99": ["客户服务经理审核", "开发部总监审批"], "10000.00": ["总经理审批"],
             "100000.00": ["总经理审批"], "100000.01": ["区域总部审批"]}
    made = {}
    for amount, chain in tiers.items():
        r = await client.post(f"/api/v1/funds/{fund['id']}/requests", headers=eng, json={
            "title": f"保修期后屋面渗漏维修 {amount}", "amount": _money(amount), "in_plan": False})
        assert r.status_code == 201, r.text
        made[amount] = r.json()
        assert [s["name"] for s in await _steps(client, eng, made[amount]["approval_request"])] == chain
    repair = made["9999.99"]
    await _approve(client, scenario.as_("csm@haiyue-residential.example"), repair["approval_request"])
    await _approve(client, scenario.as_("director@haiyue-residential.example"), repair["approval_request"])
    r = await client.post(f"/api/v1/fund-requests/{repair['id']}/claims", headers=eng, json={"items": [
        {"description": "防水卷材", "spec": "SBS 4mm", "quantity": 120, "unit": "㎡", "unit_price": _money("45.00")},
        {"description": "人工", "quantity": 16, "unit": "工时", "unit_price": _money("120.00")}]})
    claim = r.json()["claims"][-1]
    assert claim["total"] == _money("7320.00")
    await client.post(f"/api/v1/fund-claims/{claim['id']}/attachments", headers=eng,
                      files={"file": ("维修前后照片.pdf", PDF, "application/pdf")})
    for who in ("csm@haiyue-residential.example", "finance@haiyue-residential.example"):
        r = await client.post(f"/api/v1/fund-claims/{claim['id']}/signoff", headers=scenario.as_(who))
        assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/fund-claims/{claim['id']}/reimbursement", headers=finance)
    assert (r.json()["status"], r.json()["spent"]) == ("reimbursed", _money("7320.00"))
    fund = (await client.get(f"/api/v1/funds/{fund['id']}", headers=finance)).json()
    assert (fund["balances"]["available"], fund["balances"]["spent"]) == (_money("417680.00"), _money("7320.00"))
    tb = (await client.get(f"/api/v1/funds/{fund['id']}/trial-balance", headers=finance)).json()
    assert tb["balanced"] is True


async def test_a_year_of_the_customer_service_fund(client: Any, scenario: Scenario) -> None:
    # The handbook's fund over a year: a quarterly addition from the built projects, the plan approved by the
    # general manager in January and revised in June, in-plan and off-plan spending at the tier boundaries, a
    # claim that does not match refused with the reason, the corrected one reimbursed with its evidence, and the
    # year-end rollover; the trial balance holds at every step.
    finance = scenario.as_("finance@haiyue-residential.example")
    gm = scenario.as_("gm@haiyue-residential.example")
    eng = scenario.as_("engineering@haiyue-residential.example")
    csm = scenario.as_("csm@haiyue-residential.example")
    [fund] = [f for f in (await client.get("/api/v1/funds", headers=finance)).json() if f["year"] == 2026]
    fid = fund["id"]

    async def balanced() -> dict[str, Any]:
        tb = (await client.get(f"/api/v1/funds/{fid}/trial-balance", headers=finance)).json()
        assert tb["balanced"] is True, tb
        return dict((await client.get(f"/api/v1/funds/{fid}", headers=finance)).json()["balances"])

    start = await balanced()
    for quarter, day in (("一季度", "2026-03-31"), ("二季度", "2026-06-30"), ("三季度", "2026-09-30")):
        r = await client.post(f"/api/v1/funds/{fid}/contributions", headers=finance, json={
            "kind": "reserve", "source": f"已建项目追加服务基金 {quarter}", "amount": _money("10000.00"),
            "received_on": day, "reference": f"2026年{quarter}项目成本追加"})
        assert r.status_code == 201, r.text
        await balanced()

    r = await client.post(f"/api/v1/funds/{fid}/plans", headers=finance, json={"title": "2026年度使用计划", "lines": [
        {"code": "L1", "org_unit": "PM-HYHY", "category": "repair", "item": "保修期后屋面渗漏维修", "month": 4,
         "amount": _money("60000.00")},
        {"code": "L2", "org_unit": "PM-HYWJ", "category": "compensation", "item": "客户合理赔偿", "month": 7,
         "amount": _money("20000.00")}]})
    assert r.status_code == 201, r.text
    plan = r.json()
    r = await client.post(f"/api/v1/fund-plans/{plan['id']}/submission", headers=finance)
    await _approve(client, gm, r.json()["approval_request"])
    assert (await client.get(f"/api/v1/fund-plans/{plan['id']}", headers=finance)).json()["status"] == "approved"

    # in-plan 12,000.00 goes to the general manager (10,000–100,000), off-plan 100,000.01 to the regional HQ
    r = await client.post(f"/api/v1/funds/{fid}/requests", headers=eng, json={
        "title": "海悦花园 3号楼屋面防水", "amount": _money("12000.00"), "in_plan": True, "plan_line": "L1"})
    roof = r.json()
    assert [s["name"] for s in await _steps(client, eng, roof["approval_request"])] == ["总经理审批"]
    await _approve(client, gm, roof["approval_request"])
    r = await client.post(f"/api/v1/funds/{fid}/requests", headers=eng, json={
        "title": "海悦湾景 地下车库渗水整改", "amount": _money("100000.01"), "in_plan": False})
    assert [s["name"] for s in await _steps(client, eng, r.json()["approval_request"])] == ["区域总部审批"]
    await balanced()

    claim_body = {"items": [{"description": "SBS防水卷材", "spec": "4mm", "quantity": 200, "unit": "㎡",
                             "unit_price": _money("45.00")},
                            {"description": "人工", "quantity": 20, "unit": "工时", "unit_price": _money("120.00")}]}
    r = await client.post(f"/api/v1/fund-requests/{roof['id']}/claims", headers=eng, json=claim_body)
    claim = r.json()["claims"][-1]
    r = await client.post(f"/api/v1/fund-claims/{claim['id']}/refusal", headers=csm,
                          json={"reason": "卷材规格与立项不符：立项为SBS 4mm双层"})
    assert (r.json()["claims"][-1]["status"], r.json()["status"]) == ("refused", "approved")
    claim_body["items"][0]["quantity"] = 180
    r = await client.post(f"/api/v1/fund-requests/{roof['id']}/claims", headers=eng, json=claim_body)
    claim = r.json()["claims"][-1]
    assert claim["total"] == _money("10500.00")
    await client.post(f"/api/v1/fund-claims/{claim['id']}/attachments", headers=eng,
                      files={"file": ("验收照片.pdf", PDF, "application/pdf")})
    for signer in (csm, finance):
        assert (await client.post(f"/api/v1/fund-claims/{claim['id']}/signoff", headers=signer)).status_code == 200
    r = await client.post(f"/api/v1/fund-claims/{claim['id']}/reimbursement", headers=finance)
    assert (r.json()["spent"], r.json()["committed"]) == (_money("10500.00"), _money("0.00"))
    after_spend = await balanced()

    # June: the revision moves 10,000 from compensation to the roof line
    r = await client.post(f"/api/v1/funds/{fid}/plans", headers=finance, json={"title": "2026年6月修订"})
    v2 = r.json()
    lines = [{k: ln[k] for k in ("code", "org_unit", "category", "item", "month", "amount")} for ln in v2["lines"]]
    lines[0]["amount"], lines[1]["amount"] = _money("70000.00"), _money("10000.00")
    await client.put(f"/api/v1/fund-plans/{v2['id']}", headers=finance, json={"title": "2026年6月修订", "lines": lines})
    cmp = (await client.get(f"/api/v1/fund-plans/{v2['id']}/comparison", headers=finance)).json()
    assert {c["code"]: c["delta"]["amount"] for c in cmp["lines"]} == {"L1": "10000.00", "L2": "-10000.00"}
    r = await client.post(f"/api/v1/fund-plans/{v2['id']}/submission", headers=finance)
    await _approve(client, gm, r.json()["approval_request"])
    revised = (await client.get(f"/api/v1/fund-plans/{v2['id']}", headers=finance)).json()
    assert {ln["code"]: ln["remaining"] for ln in revised["lines"]}["L1"] == _money("59500.00")

    # the year ends: what is left available rolls into 2027, commitments stay with 2026
    clock.travel(datetime(2027, 1, 1, 1, tzinfo=UTC) - clock.now())
    try:
        finance = await sign_in(client, SLUG, "finance@haiyue-residential.example", scenario.data["demo"]["password"])
        r = await client.post("/api/v1/funds/rollover", headers=finance, json={"year": 2026})
        moved = r.json()["moved"]
        assert [m["amount"] for m in moved] == [after_spend["available"]]
        assert (await client.post("/api/v1/funds/rollover", headers=finance, json={"year": 2026})).json()["moved"] == []
        funds = {f["year"]: f for f in (await client.get("/api/v1/funds", headers=finance)).json()}
        assert funds[2027]["balances"]["available"] == after_spend["available"]
        assert funds[2026]["balances"]["committed"] == after_spend["committed"]
        for f in funds.values():
            tb = (await client.get(f"/api/v1/funds/{f['id']}/trial-balance", headers=finance)).json()
            assert tb["balanced"] is True
    finally:
        clock.reset()
    assert start["available"] != after_spend["available"]
