"""The seed documents' policies, applied from their tenant files and previewed through the API
at every boundary amount the documents name."""

from __future__ import annotations

from typing import Any

import pytest

from careclub.platform.tenant_file import apply_text
from tests.unit.approvals.seeds import ROOT, approvals_section

PASSWORD = "careclub-demo-2026"


def tenant_text(slug: str) -> str:
    return (ROOT / "tenants" / f"{slug}.toml").read_text(encoding="utf-8")


_ADMINS: dict[str, dict[str, str]] = {}


async def admin(client: Any, slug: str) -> dict[str, str]:
    """Apply the file once per run and sign its demo admin in (argon2 is slow on purpose)."""
    if slug in _ADMINS:
        return _ADMINS[slug]
    await apply_text(tenant_text(slug), demo=True)
    r = await client.post("/api/v1/auth/token", json={"tenant": slug, "email": f"admin@{slug}.example",
                                                      "password": PASSWORD})
    assert r.status_code == 200, r.text
    _ADMINS[slug] = {"Authorization": f"Bearer {r.json()['token']}"}
    return _ADMINS[slug]


async def preview(client: Any, headers: dict[str, str], subject_type: str, amount: str | None,
                  category: str | None, in_plan: bool, org_unit: str | None = None) -> dict[str, Any]:
    r = await client.post("/api/v1/approvals/preview", headers=headers, json={
        "subject_type": subject_type, "amount": {"amount": amount, "currency": "CNY"} if amount else None,
        "category": category, "in_plan": in_plan, "org_unit": org_unit})
    assert r.status_code == 200, r.text
    return r.json()


def summary(body: dict[str, Any]) -> list[str]:
    """The step kinds; every step must find people (demo mode adds a demo holder per role)."""
    assert all(s["approvers"] for s in body["chain"]), body
    return [s["kind"] for s in body["chain"]]


async def test_applying_the_seed_files_twice_changes_no_policy(client: Any) -> None:
    for slug in ("lanting-property", "haiyue-residential", "huafu-development"):
        # Without demo users: every approver a policy names must be a real staff member.
        await apply_text(tenant_text(slug), demo=False)
        again = await apply_text(tenant_text(slug), demo=False)
        assert not [c for c in again.changes if "approval" in c], again.changes
        assert approvals_section(slug)["policies"]


@pytest.mark.parametrize(("amount", "category", "in_plan", "expected"), [
    ("499.99", "customer_care", False, ["countersign"]),
    ("500.00", "customer_care", False, ["countersign"]),
    ("500.01", "customer_care", False, ["single", "meeting"]),
    ("2999999.99", "customer_care", False, ["single", "meeting"]),
    ("3000000.00", "customer_care", False, ["single", "meeting", "committee"]),
    ("499.99", "quality_improvement", False, ["single", "meeting"]),
    ("2999999.99", "quality_improvement", False, ["single", "meeting"]),
    ("3000000.00", "quality_improvement", False, ["single", "meeting", "committee"]),
    ("500.01", "customer_care", True, ["single"]),
    ("3000000.00", "quality_improvement", True, ["single"]),
])
async def test_lanting_care_fund_boundaries(client: Any, amount: str, category: str, in_plan: bool,
                                            expected: list[str]) -> None:
    headers = await admin(client, "lanting-property")
    body = await preview(client, headers, "fund_request", amount, category, in_plan, org_unit="CD-LT1")
    assert summary(body) == expected
    names = [[a["name"] for a in s["approvers"]] for s in body["chain"]]
    if expected[0] == "countersign":
        assert any("刘经理" in n for n in names[0]) and any("王主任" in n for n in names[0])
    if "committee" in expected:
        assert "周委员" in names[-1][0]


async def test_lanting_annual_plan_goes_to_the_leadership_meeting(client: Any) -> None:
    headers = await admin(client, "lanting-property")
    body = await preview(client, headers, "annual_plan", None, None, True)
    assert [s["kind"] for s in body["chain"]] == ["single", "meeting"]
    assert body["chain"][1]["body"] == "leadership"


@pytest.mark.parametrize(("amount", "names"), [
    ("9999.99", ["客户服务经理审核", "开发部总监审批"]),
    ("10000.00", ["总经理审批"]),
    ("100000.00", ["总经理审批"]),
    ("100000.01", ["区域总部审批"]),
])
async def test_haiyue_service_fund_tiers(client: Any, amount: str, names: list[str]) -> None:
    headers = await admin(client, "haiyue-residential")
    body = await preview(client, headers, "fund_request", amount, None, False)
    assert [s["name"] for s in body["chain"]] == names
    assert all(s["approvers"] for s in body["chain"])


GM = "城市公司总经理审批"


@pytest.mark.parametrize(("subject_type", "amount", "category", "names"), [
    ("property_budget", "960000.00", "annual", ["财务部审核", "城市公司总经理审批"]),
    ("property_budget", "88000.00", "pre_move_in", ["营销小组负责人审核"]),
    ("property_budget", "88000.00", "post_move_in", ["客服小组负责人审核"]),
    ("property_work", "19999.99", "unplanned_pre_move_in", ["营销小组负责人审核"]),
    ("property_work", "20000.00", "unplanned_pre_move_in", ["营销小组负责人审核", "城市公司总经理审批"]),
    ("property_work", "19999.99", "unplanned_post_move_in", ["客服小组负责人审核"]),
    ("property_work", "20000.00", "unplanned_post_move_in", ["客服小组负责人审核", "城市公司总经理审批"]),
    ("property_work", "300.00", "proxy_purchase", ["需求部门负责人审批", "分管领导审批", "财务领导审批", GM]),
    ("property_work", "5000.00", "sales_office", ["营销客服部负责人确认"]),
    ("property_work", "5000.01", "sales_office", ["营销客服部负责人确认", "分管领导及财务领导会签"]),
    ("property_work", "10000.00", "sales_office", ["营销客服部负责人确认", "分管领导及财务领导会签"]),
    ("property_work", "10000.01", "sales_office", ["营销客服部负责人确认", "分管领导及财务领导会签", GM]),
    ("budget_addition", "5000.00", None, ["财务部审核", "城市公司总经理审核", "区域分管总审定"]),
    ("property_settlement", "13580.22", "post_move_in", ["物业分管领导及财务负责人会签", "物业公司总经理审批",
                                                         "客服小组负责人审核", "地产财务部审核", "城市公司总经理审批"]),
])
async def test_huafu_settlement_boundaries(client: Any, subject_type: str, amount: str, category: str | None,
                                           names: list[str]) -> None:
    headers = await admin(client, "huafu-development")
    # the project's people (at project) are found from the project the request is for
    body = await preview(client, headers, subject_type, amount, category, False, org_unit="P-HFYY")
    assert [s["name"] for s in body["chain"]] == names
    assert all(s["approvers"] for s in body["chain"])
    for step in body["chain"]:
        if "会签" in step["name"]:
            assert step["kind"] == "countersign"
            assert len(step["signers"]) == 2
