"""华府地产城市公司 (tenants/huafu-development.toml, seed 003: 与物业对接管理作业指引).

Platform part: identity, 营销客服部 with its two groups, the projects, the property company, the approvers
of the settlement chains as roles. Settlements: two projects — 华府御园 after move-in with its second phase
still before it, 华府公园里 before move-in — for three months (August to October 2026), all through the
API as the file's demo users: every budget form approved by the reviewer its kind and stage call for, the
thresholds of unplanned work (20,000) and sales-office consumables (5,000 / 10,000), a purchase on the
developer's behalf, a budget addition decided by the regional head, the two confirmations (one payment
refused), each month's settlement with its 10 % fee exact to the fen, one approved late after the approval
core escalated a step, an approved month that never changes and its correction in the next month, and each
party seeing only what it may."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from careclub.approvals import service as approvals_service
from careclub.core import clock
from careclub.core.db import tenant_scope
from careclub.platform import service as platform_service
from careclub.settlements.tables import InvolvementItem
from tests.scenarios.helpers import (
    Scenario,
    visible_unit_codes,
)

SLUG = "huafu-development"
YY, GY = "P-HFYY", "P-HFGY"
SHANGHAI = ZoneInfo("Asia/Shanghai")
SALES, CS, GM = "营销小组负责人审核", "客服小组负责人审核", "城市公司总经理审批"
CONFIRM, COUNTERSIGN = "营销客服部负责人确认", "分管领导及财务领导会签"
PROXY = ["需求部门负责人审批", "分管领导审批", "财务领导审批", GM]
ADDITION = ["财务部审核", "城市公司总经理审核", "区域分管总审定"]
PROPERTY_SIDE = ["物业分管领导及财务负责人会签", "物业公司总经理审批"]
DEVELOPER_SIDE = ["地产财务部审核", GM]


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


def at(year: int, month: int, day: int, hour: int = 10) -> None:
    """Move the application's clock to a moment of the company's day (Shanghai)."""
    clock.travel(datetime(year, month, day, hour, tzinfo=SHANGHAI) - clock.now())


@dataclass
class Huafu:
    """The scenario's company as its demo users see it: headers and user ids by the e-mail's local part."""

    client: Any
    s: Scenario
    by_id: dict[str, str] = field(default_factory=dict)

    def h(self, who: str) -> dict[str, str]:
        return self.s.as_(f"{who}@{SLUG}.example")

    async def ok(self, method: str, path: str, who: str, status: int = 200, **kw: Any) -> Any:
        r = await getattr(self.client, method)(path, headers=self.h(who), **kw)
        assert r.status_code == status, (method, path, who, r.status_code, r.text)
        return r.json()

    async def request(self, request_id: str) -> Any:
        return await self.ok("get", f"/api/v1/approvals/requests/{request_id}", "admin")

    async def decide(self, request_id: str, who: str, decision: str = "approve") -> str:
        """`who` decides the request's active step (his slot of a countersign); answers the step's name."""
        detail = await self.request(request_id)
        step = next(s for s in detail["steps"] if s["status"] == "active")
        await self.ok("post", f"/api/v1/approvals/requests/{request_id}/decisions", who, 201,
                      json={"step_id": step["id"], "decision": decision})
        return str(step["name"])

    async def walk(self, request_id: str, **chosen: str) -> list[tuple[str, list[str]]]:
        """Approve every step in order as the people it names (a demo user of each slot, or `chosen[step]`
        when given); answers each step's name with who signed it."""
        walked: list[tuple[str, list[str]]] = []
        while True:
            detail = await self.request(request_id)
            if detail["status"] != "in_review":
                assert detail["status"] == "approved", detail["status"]
                return walked
            step = next(s for s in detail["steps"] if s["status"] == "active")
            signers = []
            for slot in step["slots"]:
                if slot["decision"] is not None:
                    continue
                named = [self.by_id[u] for u in slot["user_ids"] if u in self.by_id]
                who = chosen.get(step["name"], named[0])
                assert who in named, (step["name"], who, named)
                await self.ok("post", f"/api/v1/approvals/requests/{request_id}/decisions", who, 201,
                              json={"step_id": step["id"], "decision": "approve"})
                signers.append(who)
                if step["kind"] != "countersign":
                    break
            walked.append((step["name"], signers))

    async def form(self, who: str, project: str, kind: str, month: str, lines: list[str], *,
                   cost_type: str | None = None, phase: str | None = None, title: str = "",
                   types: list[str] | None = None) -> Any:
        """Write a budget form and submit it; answers the form in review."""
        body: dict[str, Any] = {
            "project": project, "kind": kind, "month": month, "title": title or f"{kind} {month}",
            "cost_type": cost_type, "phase": phase,
            "lines": [{"description": f"{title or kind} 第{i + 1}项", "amount": money(a),
                       **({"cost_type": types[i]} if types else {})} for i, a in enumerate(lines)]}
        b = await self.ok("post", "/api/v1/settlement-budgets", who, 201, json=body)
        b = await self.ok("post", f"/api/v1/settlement-budgets/{b['id']}/submit", who)
        assert b["status"] == "in_review"
        return b

    async def approved(self, who: str, project: str, kind: str, month: str, lines: list[str], *,
                       chain: list[str], signers: list[str] | None = None, **kw: Any) -> Any:
        """A form approved by exactly the chain its kind and stage call for (and, given, by those signers)."""
        b = await self.form(who, project, kind, month, lines, **kw)
        walked = await self.walk(b["approval_request"])
        assert [n for n, _ in walked] == chain, (kind, project, lines, walked)
        if signers is not None:
            assert [w for _, ws in walked for w in ws] == signers, walked
        b = await self.ok("get", f"/api/v1/settlement-budgets/{b['id']}", who)
        assert b["status"] == "approved"
        return b

    async def pay(self, who: str, line: str, amount: str, paid_on: str, payee: str = "江州物业服务供应商",
                  status: int = 201) -> Any:
        """Recorded on the day it was paid (a payment is never dated after the day it is recorded), then the
        scenario's clock goes on from where it was."""
        was = clock.now()
        day = datetime.fromisoformat(paid_on)
        if clock.local(was, "Asia/Shanghai").date() < day.date():  # type: ignore[union-attr]
            at(day.year, day.month, day.day, 18)
        try:
            return await self.ok("post", "/api/v1/settlement-payments", who, status, json={
                "line": line, "amount": money(amount), "paid_on": paid_on, "payee": payee})
        finally:
            clock.travel(was - clock.now())

    async def confirm(self, who: str, payment: Any) -> Any:
        p = await self.ok("post", f"/api/v1/settlement-payments/{payment['id']}/confirm", who)
        assert p["status"] == "confirmed"
        return p

    async def compile(self, project: str, month: str, status: int = 201) -> Any:
        return await self.ok("post", "/api/v1/settlements", "property-finance", status,
                             json={"project": project, "month": month})

    async def submit(self, settlement: Any) -> Any:
        s = await self.ok("post", f"/api/v1/settlements/{settlement['id']}/submit", "property-finance")
        assert s["status"] == "in_review"
        return s

    async def settlement(self, settlement_id: str, who: str = "auditor") -> Any:
        return await self.ok("get", f"/api/v1/settlements/{settlement_id}", who)


def amounts(s: Any, *keys: str) -> tuple[str, ...]:
    return tuple(s[k]["amount"] for k in keys)


async def test_property_staff_see_only_their_project(client: Any, scenario: Scenario) -> None:
    # the property company's people hold their roles at the projects they work on (§3.2.1: each project
    # its own account); the developer's people hold theirs at the company
    assert await visible_unit_codes(client, scenario.as_("property@huafu-development.example")) == {YY}
    assert await visible_unit_codes(client, scenario.as_("property2@huafu-development.example")) == {GY}
    assert await visible_unit_codes(client, scenario.as_("property-finance@huafu-development.example")) == {YY, GY}


async def test_the_file_sets_the_terms_stages_and_checklists(client: Any, scenario: Scenario) -> None:
    hf = Huafu(client, scenario)
    terms = await hf.ok("get", "/api/v1/settlement-terms", "auditor")
    assert (terms["fee_rate"], terms["due_day"]) == ("10.00", 22)
    projects = {p["code"]: p for p in await hf.ok("get", "/api/v1/settlement-projects", "auditor")}
    assert (projects[YY]["stage"], projects[YY]["moved_in_on"]) == ("post_move_in", "2026-06-30")
    assert [(p["code"], p["stage"]) for p in projects[YY]["phases"]] == [("一期", "post_move_in"),
                                                                         ("二期", "pre_move_in")]
    assert (projects[GY]["stage"], projects[GY]["phases"]) == ("pre_move_in", [])
    # property staff of one project see that project's account only
    assert [p["code"] for p in await hf.ok("get", "/api/v1/settlement-projects", "property2")] == [GY]
    # §3.1: both projects' early involvement, every stage, at least two handover inspections each (§3.1.4 7))
    me = await hf.ok("get", "/api/v1/me", "admin")
    units = await scenario.unit_ids(client)
    async with tenant_scope(me["tenant"]["id"]):
        items = await InvolvementItem.select(InvolvementItem.project_id, InvolvementItem.stage,
                                             InvolvementItem.kind, InvolvementItem.owner_id, InvolvementItem.done_on)
    for code in (YY, GY):
        mine = [i for i in items if str(i["project_id"]) == units[code]]
        assert {i["stage"] for i in mine} == {"planning", "marketing", "construction", "handover", "move_in"}
        assert sum(1 for i in mine if i["stage"] == "handover" and i["kind"] == "inspection") >= 2
        assert all(i["owner_id"] for i in mine)
        assert any(i["done_on"] for i in mine) and any(i["done_on"] is None for i in mine)


async def test_two_projects_three_months(client: Any, scenario: Scenario) -> None:
    hf = Huafu(client, scenario)
    for person in scenario.demo_users:
        me = (await client.get("/api/v1/me", headers=scenario.as_(person["email"]))).json()
        hf.by_id[me["user"]["id"]] = person["email"].split("@")[0]
    tenant = await platform_service.tenant_by_slug(SLUG)
    assert tenant is not None
    yy = await hf.ok("get", f"/api/v1/settlement-projects/{YY}", "property")
    phase2 = next(p["id"] for p in yy["phases"] if p["code"] == "二期")
    try:
        state = await _august(hf, phase2)
        await _settle_august(hf, tenant.id, state)
        await _september(hf, state)
        await _october(hf, state)
    finally:
        clock.reset()
    await _who_sees_what(hf, state)


async def _august(hf: Huafu, phase2: str) -> dict[str, Any]:
    """August's forms. 华府公园里 is before move-in: its forms go to the sales group; 华府御园 after: to the
    customer-service group, except work on its second phase, still before move-in (§3.2.3)."""
    at(2026, 8, 3)
    st: dict[str, Any] = {}
    # the year's workload budget (§3.2.6.1): the company's finance department, then the city general manager
    annual = await hf.approved("property2", GY, "annual", "2026-01", ["360000.00", "60000.00", "96000.00", "72000.00"],
                               types=["staff", "admin", "purchase", "special"], title="2026年度物业配合工作量预算",
                               chain=["财务部审核", GM], signers=["finance", "gm"])
    assert (annual["month"], annual["total"]["amount"]) == ("2026-01", "588000.00")
    # the month's budget of each of the four types, by stage
    forms = {"staff": ("物业人员岗位配置表", "30000.00", "8000.00"),
             "admin": ("物业行政管理费用支出表", "5000.00", "1500.00"),
             "purchase": ("物业采购申请表", "8000.00", "3000.00"),
             "special": ("物业服务工作确认单", "6000.00", "1000.00")}
    for cost_type, (title, gy_amount, yy_amount) in forms.items():
        st[f"gy_{cost_type}"] = await hf.approved("property2", GY, "monthly", "2026-08", [gy_amount],
                                                  cost_type=cost_type, title=f"2026年8月{title}", chain=[SALES],
                                                  signers=["sales-lead"])
        st[f"yy_{cost_type}"] = await hf.approved("property", YY, "monthly", "2026-08", [yy_amount],
                                                  cost_type=cost_type, title=f"2026年8月{title}", chain=[CS],
                                                  signers=["cs-lead"])
        assert st[f"gy_{cost_type}"]["stage"] == "pre_move_in" and st[f"yy_{cost_type}"]["stage"] == "post_move_in"
    assert st["yy_purchase"]["number"] == "2026-08-M-PUR-01"
    # 华府御园's second phase is not moved in: the sales group reviews it
    st["yy_phase2"] = await hf.approved("property", YY, "monthly", "2026-08", ["2400.00"], cost_type="special",
                                        phase=phase2, title="二期样板房保洁", chain=[SALES], signers=["sales-lead"])
    assert (st["yy_phase2"]["stage"], st["yy_phase2"]["phase"]) == ("pre_move_in", phase2)
    # unplanned work (计划外事项 A): below 20,000 the group lead alone; from 20,000 on also the city GM
    st["gy_unplanned"] = await hf.approved("property2", GY, "unplanned", "2026-08", ["19999.99"],
                                           cost_type="special", title="台风后售楼处外围抢险", chain=[SALES])
    await hf.approved("property2", GY, "unplanned", "2026-08", ["20000.00"], cost_type="staff",
                      title="开盘活动临时增派保安", chain=[SALES, GM], signers=["sales-lead", "gm"])
    await hf.approved("property", YY, "unplanned", "2026-08", ["12000.00", "7999.99"], cost_type="special",
                      title="入伙后集中维修加班", chain=[CS], signers=["cs-lead"])
    await hf.approved("property", YY, "unplanned", "2026-08", ["20000.00"], cost_type="admin",
                      title="业主活动临时用车", chain=[CS, GM], signers=["cs-lead", "gm"])
    # a purchase on the developer's behalf (计划外事项 B): the requesting department's head, the division head,
    # the finance head, the city general manager
    st["gy_proxy"] = await hf.approved("property2", GY, "proxy_purchase", "2026-08", ["3260.00"],
                                       cost_type="purchase", title="代购开盘礼品", chain=PROXY,
                                       signers=["mcs", "division", "finance-head", "gm"])
    # sales-office consumables (计划外事项 C): confirmed by the department; above 5,000 the division and finance
    # heads countersign; above 10,000 the city general manager too
    await hf.approved("property2", GY, "sales_office", "2026-08", ["5000.00"], cost_type="purchase",
                      title="售楼处零星耗品 8月", chain=[CONFIRM], signers=["mcs"])
    so = await hf.form("property2", GY, "sales_office", "2026-08", ["5000.01"], cost_type="purchase",
                       title="售楼处零星耗品 8月 补充")
    walked = await hf.walk(so["approval_request"])
    assert [n for n, _ in walked] == [CONFIRM, COUNTERSIGN]
    assert sorted(walked[1][1]) == ["division", "finance-head"]  # both sign
    await hf.approved("property2", GY, "sales_office", "2026-08", ["6000.00", "4000.01"], cost_type="purchase",
                      title="售楼处开放季耗品", chain=[CONFIRM, COUNTERSIGN, GM])

    # payments against approved lines, each confirmed by the developer (the second confirmation)
    at(2026, 8, 20)
    line = lambda key: st[key]["lines"][0]["id"]  # noqa: E731
    gy = [await hf.pay("property2", line("gy_staff"), "30000.00", "2026-08-15", "8月物业人员工资"),
          await hf.pay("property2", line("gy_admin"), "1234.56", "2026-08-16"),
          await hf.pay("property2", line("gy_proxy"), "3260.00", "2026-08-12", "江州礼品商行"),
          await hf.pay("property2", line("gy_unplanned"), "19999.99", "2026-08-18", "江州建安工程队")]
    assert "物业采购申请表" in gy[2]["evidence"] and st["gy_proxy"]["number"] in gy[2]["evidence"]
    for p in gy:
        await hf.confirm("sales-lead", p)
    # the property company cannot confirm its own payment
    r = await hf.client.post(f"/api/v1/settlement-payments/{gy[0]['id']}/confirm", headers=hf.h("property2"))
    assert r.status_code == 403
    # one payment is refused, with the reason: it is never settled and frees its line again
    refused = await hf.pay("property2", line("gy_special"), "500.00", "2026-08-19", "某保洁公司")
    r = await hf.ok("post", f"/api/v1/settlement-payments/{refused['id']}/refuse", "sales-lead",
                    json={"reason": "无工作确认单, 发票抬头错误"})
    assert (r["status"], r["refused_reason"], r["decided_by_name"]) == ("refused", "无工作确认单, 发票抬头错误",
                                                                         "演示 营销小组负责人")
    st["gy_refused"] = refused["id"]
    # 华府御园: 8,000.00 + 1,111.11 + 2,234.54 + 1,000.00 = 12,345.65 confirmed
    yy = [await hf.pay("property", line("yy_staff"), "8000.00", "2026-08-15"),
          await hf.pay("property", line("yy_admin"), "1111.11", "2026-08-17"),
          await hf.pay("property", line("yy_purchase"), "2234.54", "2026-08-21"),
          await hf.pay("property", line("yy_special"), "1000.00", "2026-08-22")]
    for p in yy:
        await hf.confirm("cs-lead", p)
    # paid at the month's end, confirmed only after August is settled: September takes it
    st["yy_waiting"] = await hf.pay("property", line("yy_purchase"), "300.00", "2026-08-28")
    over = await hf.pay("property", line("yy_purchase"), "465.47", "2026-08-29", payee="x", status=409)
    assert over["error"]["code"] == "exceeds_budget_line"  # 465.46 left
    return st


async def _settle_august(hf: Huafu, tenant_id: Any, st: dict[str, Any]) -> None:
    """August's settlements (§3.2.4 3)): due on 22 September; 华府御园's on time, 华府公园里's late."""
    at(2026, 9, 8)
    s = await hf.compile(YY, "2026-08")
    assert amounts(s, "cost_staff", "cost_admin", "cost_purchase", "cost_special") == (
        "8000.00", "1111.11", "2234.54", "1000.00")
    # 12,345.65 × 10 % = 1,234.565: half up to the fen
    assert amounts(s, "confirmed_cost", "management_fee", "total") == ("12345.65", "1234.57", "13580.22")
    assert (s["fee_rate"], s["due_on"], s["payment_count"], s["waiting_count"]) == ("10.00", "2026-09-22", 4, 1)
    assert s["waiting_amount"]["amount"] == "300.00"
    s = await hf.submit(s)
    walked = await hf.walk(s["approval_request"])
    assert [n for n, _ in walked] == [*PROPERTY_SIDE, CS, *DEVELOPER_SIDE]
    assert sorted(walked[0][1]) == ["property-finance", "property-lead"]  # countersigned
    yy_aug = await hf.settlement(s["id"])
    assert (yy_aug["status"], yy_aug["late"]) == ("approved", False)
    # approved, it never changes: compiling it again is refused
    again = await hf.compile(YY, "2026-08", status=409)
    assert again["error"]["code"] == "settlement_locked"
    r = await hf.client.post("/api/v1/settlement-payments", headers=hf.h("property"), json={
        "line": st["yy_admin"]["lines"][0]["id"], "amount": money("1.00"), "paid_on": "2026-08-31", "payee": "x"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "month_closed"
    # a correction found afterwards goes into September's settlement; August's stays as approved
    at(2026, 9, 10)
    corrected = await hf.ok("post", f"/api/v1/settlements/{s['id']}/adjustments", "property-finance", 201,
                            json={"cost_type": "admin", "amount": "-111.11", "reason": "8月行政费用发票重复入账, 冲回"})
    assert amounts(corrected, "confirmed_cost", "total") == ("12345.65", "13580.22")
    assert [(c["month"], c["amount"]["amount"]) for c in corrected["corrections"]] == [("2026-09", "-111.11")]
    st["yy_aug"] = s["id"]

    # 华府公园里: 30,000.00 + 1,234.56 + 3,260.00 + 19,999.99 = 54,494.55; the refused 500.00 is not in it
    at(2026, 9, 17)
    s = await hf.compile(GY, "2026-08")
    assert amounts(s, "confirmed_cost", "management_fee", "total") == ("54494.55", "5449.46", "59944.01")
    assert s["payment_count"] == 4 and st["gy_refused"] not in {p["id"] for p in s["payments"]}
    s = await hf.submit(s)
    name = await hf.decide(s["approval_request"], "property-lead")
    assert name == PROPERTY_SIDE[0]
    await hf.decide(s["approval_request"], "property-finance")
    # the property company's general manager does not sign within two working days: on the 23rd the step is
    # overdue and the approval core escalates it to the city general manager
    at(2026, 9, 23, 9)
    async with tenant_scope(tenant_id):
        swept = await approvals_service.sweep_deadlines()
    assert swept["escalated"] >= 1
    detail = await hf.request(s["approval_request"])
    step = next(x for x in detail["steps"] if x["status"] == "active")
    assert step["name"] == PROPERTY_SIDE[1] and step["escalated_at"] is not None
    assert "gm" in {hf.by_id.get(u) for u in step["slots"][0]["user_ids"]}
    assert any(e["kind"] == "escalated" and e["detail"]["step"] == PROPERTY_SIDE[1] for e in detail["timeline"])
    walked = await hf.walk(s["approval_request"], **{PROPERTY_SIDE[1]: "gm"})
    assert walked == [(PROPERTY_SIDE[1], ["gm"]), (SALES, ["sales-lead"]), ("地产财务部审核", ["finance"]),
                      (GM, ["gm"])]
    gy_aug = await hf.settlement(s["id"], who="property2")
    assert (gy_aug["status"], gy_aug["late"], gy_aug["due_on"]) == ("approved", True, "2026-09-22")
    st["gy_aug"] = s["id"]


async def _september(hf: Huafu, st: dict[str, Any]) -> None:
    """September: a budget addition the marketing and customer-service department starts and the regional head
    decides (§3.2.6.2); August's late payment and correction land in 华府御园's September."""
    at(2026, 9, 24)
    staff = await hf.approved("property", YY, "monthly", "2026-09", ["8000.00"], cost_type="staff",
                              title="2026年9月物业人员岗位配置表", chain=[CS], signers=["cs-lead"])
    gy_staff = await hf.approved("property2", GY, "monthly", "2026-09", ["30000.00"], cost_type="staff",
                                 title="2026年9月物业人员岗位配置表", chain=[SALES], signers=["sales-lead"])
    # the property company may not start an addition; the developer's department head does
    r = await hf.client.post("/api/v1/settlement-budgets", headers=hf.h("property"), json={
        "project": YY, "kind": "addition", "month": "2026-09", "title": "追加", "cost_type": "purchase",
        "lines": [{"description": "x", "amount": money("1.00")}]})
    assert r.status_code == 403
    addition = await hf.approved("mcs", YY, "addition", "2026-09", ["1500.00"], cost_type="purchase",
                                 title="9月采购预算追加 (中秋业主活动)", chain=ADDITION,
                                 signers=["finance", "gm", "regional"])
    assert addition["requested_by_name"] == "演示 营销客服部负责人"
    yy = [await hf.pay("property", staff["lines"][0]["id"], "7777.77", "2026-09-25"),
          await hf.pay("property", addition["lines"][0]["id"], "1500.00", "2026-09-26"),
          await hf.pay("property", st["yy_phase2"]["lines"][0]["id"], "2400.00", "2026-09-12")]
    for p in [*yy, st["yy_waiting"]]:
        await hf.confirm("cs-lead", p)
    gy = await hf.pay("property2", gy_staff["lines"][0]["id"], "29876.55", "2026-09-25")
    await hf.confirm("sales-lead", gy)

    at(2026, 10, 9)
    s = await hf.compile(YY, "2026-09")
    # 7,777.77 + 1,500.00 + 2,400.00 + 300.00 (August's, confirmed late) − 111.11 (August's correction)
    assert amounts(s, "cost_staff", "cost_purchase", "cost_special", "adjustments") == (
        "7777.77", "1800.00", "2400.00", "-111.11")
    assert amounts(s, "confirmed_cost", "management_fee", "total") == ("11866.66", "1186.67", "13053.33")
    assert s["payment_count"] == 4 and {p["month"] for p in s["payments"]} == {"2026-08", "2026-09"}
    assert [a["corrects"] for a in s["adjustments_taken"]] == [st["yy_aug"]]
    s = await hf.submit(s)
    # The month is held against September's approved forms (9,500.00) and the August forms its August-line
    # payments were made against (5,400.00): within budget, so no regional head (§3.2.6.2)
    assert s["budget_total"]["amount"] == "14900.00"
    walked = await hf.walk(s["approval_request"])
    assert [n for n, _ in walked] == [*PROPERTY_SIDE, CS, *DEVELOPER_SIDE]
    st["yy_sep"] = s["id"]
    s = await hf.compile(GY, "2026-09")
    # 29,876.55 × 10 % = 2,987.655: half up
    assert amounts(s, "confirmed_cost", "management_fee", "total") == ("29876.55", "2987.66", "32864.21")
    s = await hf.submit(s)
    walked = await hf.walk(s["approval_request"])
    assert [n for n, _ in walked] == [*PROPERTY_SIDE, SALES, *DEVELOPER_SIDE]
    st["gy_sep"] = s["id"]
    for key in ("yy_sep", "gy_sep"):
        done = await hf.settlement(st[key])
        assert (done["status"], done["late"], done["due_on"]) == ("approved", False, "2026-10-22")
    assert (await hf.settlement(st["yy_aug"]))["total"]["amount"] == "13580.22"  # August untouched


async def _october(hf: Huafu, st: dict[str, Any]) -> None:
    at(2026, 10, 8)
    yy = await hf.approved("property", YY, "monthly", "2026-10", ["8000.00", "2345.67"], cost_type="staff",
                           title="2026年10月物业人员岗位配置表", chain=[CS])
    gy = await hf.approved("property2", GY, "monthly", "2026-10", ["4321.09"], cost_type="admin",
                           title="2026年10月物业行政管理费用支出表", chain=[SALES])
    for who, confirmer, budget_row, amount in (("property", "cs-lead", yy, "8000.00"),
                                               ("property", "cs-lead", yy, None),
                                               ("property2", "sales-lead", gy, "4321.09")):
        n = 1 if amount is None else 0
        p = await hf.pay(who, budget_row["lines"][n]["id"], amount or "2345.67", "2026-10-20")
        await hf.confirm(confirmer, p)
    at(2026, 11, 6)
    s = await hf.compile(YY, "2026-10")
    # 10,345.67 × 10 % = 1,034.567
    assert amounts(s, "confirmed_cost", "management_fee", "total") == ("10345.67", "1034.57", "11380.24")
    await hf.walk((await hf.submit(s))["approval_request"])
    st["yy_oct"] = s["id"]
    s = await hf.compile(GY, "2026-10")
    # 4,321.09 × 10 % = 432.109
    assert amounts(s, "confirmed_cost", "management_fee", "total") == ("4321.09", "432.11", "4753.20")
    await hf.walk((await hf.submit(s))["approval_request"])
    st["gy_oct"] = s["id"]
    listed = await hf.ok("get", "/api/v1/settlements", "auditor")
    assert [(x["project"], x["month"], x["status"], x["late"]) for x in listed] == [
        (GY, "2026-10", "approved", False), (YY, "2026-10", "approved", False),
        (GY, "2026-09", "approved", False), (YY, "2026-09", "approved", False),
        (GY, "2026-08", "approved", True), (YY, "2026-08", "approved", False)]


async def _who_sees_what(hf: Huafu, st: dict[str, Any]) -> None:
    """Property staff of 华府公园里 see nothing of 华府御园; the developer's auditor reads every account and
    changes nothing (§3.2.1 独立核算原则)."""
    yy_budgets = await hf.ok("get", "/api/v1/settlement-budgets", "auditor", params={"project": YY, "limit": 200})
    yy_payments = await hf.ok("get", "/api/v1/settlement-payments", "auditor", params={"project": YY, "limit": 200})
    budget_id, payment_id = yy_budgets["items"][0]["id"], yy_payments["items"][0]["id"]
    for path in (f"/api/v1/settlements/{st['yy_aug']}", f"/api/v1/settlement-budgets/{budget_id}",
                 f"/api/v1/settlement-payments/{payment_id}", f"/api/v1/settlement-projects/{YY}"):
        r = await hf.client.get(path, headers=hf.h("property2"))
        assert r.status_code == 404, (path, r.text)
    for path in ("/api/v1/settlements", "/api/v1/settlement-budgets", "/api/v1/settlement-payments"):
        r = await hf.client.get(path, headers=hf.h("property2"), params={"project": YY})
        assert r.status_code == 404, (path, r.text)
    assert {x["project"] for x in await hf.ok("get", "/api/v1/settlements", "property2")} == {GY}
    gy_budgets = await hf.ok("get", "/api/v1/settlement-budgets", "property2", params={"limit": 200})
    assert {x["project"] for x in gy_budgets["items"]} == {GY} and gy_budgets["total"] > 0
    gy_payments = await hf.ok("get", "/api/v1/settlement-payments", "property2", params={"limit": 200})
    assert {x["project"] for x in gy_payments["items"]} == {GY}
    # the auditor reads everything ...
    everything = await hf.ok("get", "/api/v1/settlement-budgets", "auditor", params={"limit": 200})
    assert everything["total"] == yy_budgets["total"] + gy_budgets["total"]
    assert len(await hf.ok("get", "/api/v1/settlements", "auditor")) == 6
    for sid in (st["yy_aug"], st["gy_aug"], st["yy_sep"]):
        await hf.settlement(sid)
    refused = await hf.ok("get", f"/api/v1/settlement-payments/{st['gy_refused']}", "auditor")
    assert (refused["status"], refused["settlement"]) == ("refused", None)
    # ... and every write is refused
    line = yy_budgets["items"][0]
    writes: list[tuple[str, str, Any]] = [
        ("post", "/api/v1/settlements", {"project": YY, "month": "2026-10"}),
        ("post", f"/api/v1/settlements/{st['yy_oct']}/submit", None),
        ("post", f"/api/v1/settlements/{st['yy_aug']}/withdraw", None),
        ("post", f"/api/v1/settlements/{st['yy_aug']}/adjustments",
         {"cost_type": "staff", "amount": "1.00", "reason": "x"}),
        ("post", "/api/v1/settlement-budgets", {"project": YY, "kind": "monthly", "month": "2026-11", "title": "x",
                                                "cost_type": "staff", "lines": [{"description": "x",
                                                                                 "amount": money("1.00")}]}),
        ("put", f"/api/v1/settlement-budgets/{line['id']}", {"title": "x", "lines": [
            {"description": "x", "amount": money("1.00")}]}),
        ("post", f"/api/v1/settlement-budgets/{line['id']}/submit", None),
        ("post", f"/api/v1/settlement-budgets/{line['id']}/withdraw", None),
        ("post", "/api/v1/settlement-payments", {"line": str(payment_id), "amount": money("1.00"),
                                                 "paid_on": "2026-11-05", "payee": "x"}),
        ("post", f"/api/v1/settlement-payments/{payment_id}/confirm", None),
        ("post", f"/api/v1/settlement-payments/{payment_id}/refuse", {"reason": "x"}),
        ("put", f"/api/v1/settlement-projects/{YY}", {"stage": "pre_move_in"}),
        ("post", f"/api/v1/settlement-projects/{YY}/phases", {"code": "三期", "name": "三期", "stage": "pre_move_in"}),
        ("put", "/api/v1/settlement-terms", {"fee_rate": "12", "due_day": 20}),
    ]
    for method, path, body in writes:
        r = await getattr(hf.client, method)(path, headers=hf.h("auditor"), **({"json": body} if body else {}))
        assert r.status_code in (403, 404), (method, path, r.status_code, r.text)
    terms = await hf.ok("get", "/api/v1/settlement-terms", "auditor")
    assert (terms["fee_rate"], terms["due_day"]) == ("10.00", 22)
