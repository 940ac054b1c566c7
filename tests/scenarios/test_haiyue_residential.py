"""海悦地产 (tenants/haiyue-residential.toml, seed 001: 商品住宅客户服务管理指导书).

Platform part: identity, departments and the property company's communities, 总经理 / 开发部总监 /
客户服务经理 / 区域总部 as roles. Later issues add here: the customer-service fund with its
tiered approval (<10,000 / 10,000–100,000 / >100,000), fund sources, and 客户服务联系单 dispatched
to departments and tracked to closure."""

from __future__ import annotations

from typing import Any

from tests.scenarios.helpers import (
    Scenario,
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
