"""兰亭物业集团 (tenants/lanting-property.toml, seed 000: 客户关怀基金管理细则).

Platform part: identity, the 住宅事业部 / 区域公司 / 项目 tree, the fund's bodies as roles.
Later issues add here: the care fund (quarterly accrual, annual plan and June revision, off-plan
requests by countersign or the monthly leadership meeting, the CRM brand committee above
3,000,000, set-up, acceptance, ledger, rollover)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from careclub.core import clock
from careclub.core.db import tenant_scope
from careclub.funds import service as fund_service
from tests.scenarios.helpers import (
    Scenario,
    sign_in,
    visible_unit_codes,
)

SLUG = "lanting-property"


async def test_region_reviewer_sees_only_his_region(client: Any, scenario: Scenario) -> None:
    # 000 §4.4: a regional reviewing unit reviews use within its own regional company.
    headers = scenario.as_("region@lanting-property.example")
    assert await visible_unit_codes(client, headers) == {"CD", "CD-LT1", "CD-LT2", "CD-QM", "CD-EM", "CD-CS"}


def _money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


async def _balanced(client: Any, headers: dict[str, str], fund_id: str) -> None:
    tb = (await client.get(f"/api/v1/funds/{fund_id}/trial-balance", headers=headers)).json()
    assert tb["balanced"] is True, tb


async def test_the_care_fund_accrues_each_quarter_and_rolls_into_next_year(client: Any, scenario: Scenario) -> None:
    # 000 §5.5: 和骏 pays 0.05 % of each quarter's subscriptions by the 20th of the next quarter's first month;
    # what is left at the year's end rolls into the next year. The ledger balances to the fen at every step.
    finance = scenario.as_("finance@lanting-property.example")
    funds = (await client.get("/api/v1/funds", headers=finance)).json()
    care = next(f for f in funds if f["name"] == "客户关怀基金" and f["year"] == 2026)
    rule = (await client.get("/api/v1/fund-accruals/rules", headers=finance)).json()[0]
    assert (rule["code"], rule["rate_bp"], rule["period"], rule["due_day"]) == ("HEJUN_SALES", 5, "quarter", 20)
    bases = {"2026Q1": ("86000000.00", "43000.00", "2026-04-20"), "2026Q2": ("123456789.01", "61728.39", "2026-07-20"),
             "2026Q3": ("99999999.99", "50000.00", "2026-10-20")}
    for label, (base, accrued, due) in bases.items():
        r = await client.post(f"/api/v1/fund-accruals/rules/{rule['id']}/periods", headers=finance,
                              json={"period": label, "base": _money(base)})
        assert r.status_code == 200, r.text
        period = r.json()
        assert (period["amount"], period["due_on"]) == (_money(accrued), due)
        await _balanced(client, finance, care["id"])
        r = await client.post(f"/api/v1/fund-accruals/periods/{period['id']}/payments", headers=finance,
                              json={"amount": _money(accrued), "paid_on": due})
        assert r.json()["status"] == "paid"
        await _balanced(client, finance, care["id"])
    fund = (await client.get(f"/api/v1/funds/{care['id']}", headers=finance)).json()
    assert fund["balances"]["available"] == _money("154728.39")
    await _plans_and_spending(client, scenario, care["id"])
    # The project lead spends the fund but does not keep its books: he sees no fund.
    project = scenario.as_("project@lanting-property.example")
    assert (await client.get("/api/v1/funds", headers=project)).json() == []
    tenant_id = uuid.UUID((await client.get("/api/v1/me", headers=finance)).json()["tenant"]["id"])

    clock.travel(datetime(2027, 1, 2, 2, tzinfo=UTC) - clock.now())
    try:
        finance = await sign_in(client, SLUG, "finance@lanting-property.example", scenario.data["demo"]["password"])
        r = await client.post(f"/api/v1/fund-accruals/rules/{rule['id']}/periods", headers=finance,
                              json={"period": "2026Q4", "base": _money("40000000.00")})
        q4 = r.json()
        assert (q4["amount"], q4["due_on"], q4["fund_year"]) == (_money("20000.00"), "2027-01-20", 2026)
        async with tenant_scope(tenant_id):
            moved = await fund_service.rollover(2026)
            assert await fund_service.rollover(2026) == []  # twice: nothing more
        assert [m["amount"] for m in moved] == [14002839]
        # the quarter's money arrives after the year closed; the next run carries it too
        await client.post(f"/api/v1/fund-accruals/periods/{q4['id']}/payments", headers=finance,
                          json={"amount": _money("20000.00"), "paid_on": "2027-01-02"})
        async with tenant_scope(tenant_id):
            assert [m["amount"] for m in await fund_service.rollover(2026)] == [2_000_000]
        funds = {f["year"]: f for f in (await client.get("/api/v1/funds", headers=finance)).json()}
        # 154,728.39 accrued in Q1–Q3, less the spending (14,200.00 reimbursed, 500.00 committed), plus Q4
        assert funds[2027]["balances"]["available"] == _money("160028.39")
        assert funds[2026]["balances"]["available"] == _money("0.00") and funds[2026]["closed"] is True
        assert funds[2026]["balances"]["committed"] == _money("500.00")  # commitments stay with their year
        for f in funds.values():
            await _balanced(client, finance, f["id"])
    finally:
        clock.reset()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def _chain(client: Any, headers: dict[str, str], approval_id: str) -> list[dict[str, Any]]:
    r = await client.get(f"/api/v1/approvals/requests/{approval_id}", headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json()["steps"])


async def _approve(client: Any, headers: dict[str, str], approval_id: str) -> Any:
    [step] = [s for s in await _chain(client, headers, approval_id) if s["status"] == "active"]
    return await client.post(f"/api/v1/approvals/requests/{approval_id}/decisions", headers=headers,
                             json={"step_id": step["id"], "decision": "approve", "comment": "同意"})


async def _pass_the_plan(client: Any, scenario: Scenario, plan_id: str) -> None:
    """§5.2.1.1: pre-review, then the leadership group's monthly meeting (its minutes recorded)."""
    finance = scenario.as_("finance@lanting-property.example")
    r = await client.post(f"/api/v1/fund-plans/{plan_id}/submission", headers=finance)
    assert r.status_code == 200, r.text
    approval = r.json()["approval_request"]
    prereview = scenario.as_("prereview@lanting-property.example")
    assert (await _approve(client, prereview, approval)).status_code == 201
    admin = scenario.admin
    steps = await _chain(client, admin, approval)
    [meeting_step] = [s for s in steps if s["status"] == "active"]
    assert meeting_step["kind"] == "meeting"
    meetings = (await client.get("/api/v1/approvals/meetings", headers=admin)).json()
    meeting = next(m for m in meetings if m["items"])
    r = await client.post(f"/api/v1/approvals/meetings/{meeting['id']}/minutes", headers=admin, json={
        "items": [{"step_id": meeting_step["id"], "decision": "approve", "comment": "领导小组例会同意"}],
        "note": "经营管理领导小组例会"})
    assert r.status_code == 201, r.text
    assert (await client.get(f"/api/v1/fund-plans/{plan_id}", headers=finance)).json()["status"] == "approved"


async def _plans_and_spending(client: Any, scenario: Scenario, fund_id: str) -> None:
    finance = scenario.as_("finance@lanting-property.example")
    project = scenario.as_("project@lanting-property.example")
    pmc = scenario.as_("pmc.demo@lanting-property.example")
    region = scenario.as_("region@lanting-property.example")
    leader = scenario.as_("leader@lanting-property.example")

    async def balanced() -> None:
        await _balanced(client, finance, fund_id)

    # January: the plan (§5.2.1.1), lines for 兰亭一期 by category, item and month
    r = await client.post(f"/api/v1/funds/{fund_id}/plans", headers=finance, json={
        "title": "2026年度使用计划", "lines": [
        {"code": "L1", "org_unit": "CD-LT1", "category": "customer_care", "item": "业主生日关怀", "month": 3,
         "amount": _money("20000.00")},
        {"code": "L2", "org_unit": "CD-LT1", "category": "quality_improvement", "item": "单元门禁改造", "month": 6,
         "amount": _money("150000.00")}]})
    assert r.status_code == 201, r.text
    v1 = r.json()
    await _pass_the_plan(client, scenario, v1["id"])

    # in-plan: the project's set-up (立项) is reviewed by the centre alone (§5.2.2); at most what is left on the line
    r = await client.post(f"/api/v1/funds/{fund_id}/requests", headers=project, json={
        "title": "三月业主生日关怀", "amount": _money("15000.00"), "in_plan": True, "plan_line": "L1"})
    assert r.status_code == 201, r.text
    care = r.json()
    assert [s["kind"] for s in await _chain(client, project, care["approval_request"])] == ["single"]
    assert (await _approve(client, pmc, care["approval_request"])).status_code == 201
    r = await client.post(f"/api/v1/funds/{fund_id}/requests", headers=project, json={
        "title": "追加生日关怀", "amount": _money("5000.01"), "in_plan": True, "plan_line": "L1"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "plan_line_exceeded"
    await balanced()

    # off-plan at the policy's boundaries (§5.2.1.2): up to 500.00 by EIP countersign, above it to the meeting
    r = await client.post(f"/api/v1/funds/{fund_id}/requests", headers=project, json={
        "title": "独居老人慰问", "amount": _money("500.00"), "in_plan": False, "category": "customer_care"})
    assert r.status_code == 201, r.text
    small = r.json()
    assert [s["kind"] for s in await _chain(client, project, small["approval_request"])] == ["countersign"]
    assert (await _approve(client, region, small["approval_request"])).status_code == 201
    assert (await _approve(client, pmc, small["approval_request"])).status_code == 201
    r = await client.post(f"/api/v1/funds/{fund_id}/requests", headers=project, json={
        "title": "中秋社区活动", "amount": _money("500.01"), "in_plan": False, "category": "customer_care"})
    big = r.json()
    assert [s["kind"] for s in await _chain(client, project, big["approval_request"])] == ["single", "meeting"]
    assert big["batch_month"] == "2026-12" or big["batch_month"] == "2026-11"
    fund = (await client.get(f"/api/v1/funds/{fund_id}", headers=finance)).json()
    assert fund["balances"]["committed"] == _money("15500.00")
    await balanced()

    # after the work (§5.2.3): a claim above what was approved is refused; a mismatched one refused with the
    # reason; then the itemised claim with its photos, accepted by the leadership group and the centre
    over = {"items": [{"description": "生日蛋糕", "spec": "8寸", "quantity": 100, "unit": "个",
                       "unit_price": _money("160.00")}]}
    r = await client.post(f"/api/v1/fund-requests/{care['id']}/claims", headers=project, json=over)
    assert r.status_code == 409 and r.json()["error"]["code"] == "claim_exceeds_commitment"
    claim_body = {"items": [{"description": "生日蛋糕", "spec": "8寸", "quantity": 80, "unit": "个",
                             "unit_price": _money("150.00")},
                            {"description": "贺卡及包装", "quantity": 80, "unit": "套", "unit_price": _money("27.50")}]}
    r = await client.post(f"/api/v1/fund-requests/{care['id']}/claims", headers=project, json=claim_body)
    claim = r.json()["claims"][-1]
    assert claim["total"] == _money("14200.00")
    r = await client.post(f"/api/v1/fund-claims/{claim['id']}/refusal", headers=pmc,
                          json={"reason": "物料明细与立项用途不符：缺少现场照片和签收单"})
    assert r.json()["claims"][-1]["status"] == "refused"
    r = await client.post(f"/api/v1/fund-requests/{care['id']}/claims", headers=project, json=claim_body)
    claim = r.json()["claims"][-1]
    r = await client.post(f"/api/v1/fund-claims/{claim['id']}/attachments", headers=project,
                          files={"file": ("现场照片及签收单.pdf", PDF, "application/pdf")})
    assert r.status_code == 201, r.text
    for signer in (leader, pmc):
        r = await client.post(f"/api/v1/fund-claims/{claim['id']}/signoff", headers=signer)
        assert r.status_code == 200, r.text
    assert r.json()["claims"][-1]["status"] == "accepted"
    r = await client.post(f"/api/v1/fund-claims/{claim['id']}/reimbursement", headers=finance)
    assert (r.json()["status"], r.json()["spent"]) == ("reimbursed", _money("14200.00"))
    await balanced()

    # June: the revision (§5.2.1.1), a new version with a visible difference from January's
    r = await client.post(f"/api/v1/funds/{fund_id}/plans", headers=finance, json={"title": "2026年6月修订"})
    v2 = r.json()
    lines = [{k: ln[k] for k in ("code", "org_unit", "category", "item", "month", "amount")} for ln in v2["lines"]]
    for ln in lines:
        if ln["code"] == "L2":
            ln["amount"] = _money("120000.00")
    lines.append({"code": "L3", "org_unit": "CD-LT1", "category": "customer_care", "item": "重阳节敬老活动",
                  "month": 10, "amount": _money("8000.00")})
    r = await client.put(f"/api/v1/fund-plans/{v2['id']}", headers=finance,
                         json={"title": "2026年6月修订", "lines": lines})
    assert r.status_code == 200, r.text
    cmp = (await client.get(f"/api/v1/fund-plans/{v2['id']}/comparison", headers=finance)).json()
    assert {c["code"]: c["kind"] for c in cmp["lines"]} == {"L1": "unchanged", "L2": "changed", "L3": "added"}
    assert cmp["total_delta"] == _money("-22000.00")
    await _pass_the_plan(client, scenario, v2["id"])
    plan = (await client.get(f"/api/v1/fund-plans/{v2['id']}", headers=finance)).json()
    # the line's spending carries over to the revision: 20,000 planned, 14,200 spent
    assert {ln["code"]: ln["remaining"] for ln in plan["lines"]}["L1"] == _money("5800.00")
    await balanced()
