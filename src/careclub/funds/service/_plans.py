"""Annual usage plans: a fund's plan is drafted with lines (org unit, category, item, month, amount),
submitted in January, approved through the approval core, and revised once in June as a new version.
The newest approved version is what in-plan spending is checked against; a line keeps its `code`
across versions, so what was spent on it stays counted and a revision shows what changed."""

from __future__ import annotations

import uuid
from typing import Any

from careclub.approvals import service as approvals_service
from careclub.core import clock
from careclub.core.db import current_tenant_id, fetch
from careclub.core.errors import Conflict, NotFound, Problems, ValidationFailed
from careclub.funds.service._funds import get_fund
from careclub.funds.tables import FundPlan, FundPlanLine
from careclub.platform import audit

PLAN_SUBJECT = "annual_plan"
EDITABLE = ("draft", "returned", "rejected")

# What has been spent or committed against each line of a fund: approved requests hold their commitment,
# reimbursed ones their actual spend.
_USED = """
SELECT plan_line_code AS code, sum(committed + spent)::bigint AS used
FROM fund_request WHERE tenant_id = $1 AND fund = $2 AND in_plan AND status IN ('approved', 'claimed', 'reimbursed')
GROUP BY plan_line_code
"""


def _check_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every line's problems at once, named `lines[i].field`."""
    problems = Problems()
    clean: list[dict[str, Any]] = []
    codes: set[str] = set()
    for i, line in enumerate(lines):
        code = str(line.get("code") or f"L{i + 1}").strip()
        item = str(line.get("item") or "").strip()
        category = str(line.get("category") or "").strip()
        month, amount = line.get("month"), line.get("amount")
        if not code or len(code) > 16 or code in codes:
            problems.add(ValidationFailed("lines[%(i)s].code must be unique and at most 16 characters",
                                          field=f"lines[{i}].code", params={"i": i}))
        codes.add(code)
        if not item or len(item) > 200:
            problems.add(ValidationFailed("lines[%(i)s].item is required (at most 200 characters)",
                                          field=f"lines[{i}].item", params={"i": i}))
        if not category or len(category) > 48:
            problems.add(ValidationFailed("lines[%(i)s].category is required", field=f"lines[{i}].category",
                                          params={"i": i}))
        if not isinstance(month, int) or not 1 <= month <= 12:
            problems.add(ValidationFailed("lines[%(i)s].month must be 1 to 12", field=f"lines[{i}].month",
                                          params={"i": i}))
        if not isinstance(amount, int) or amount <= 0:
            problems.add(ValidationFailed("lines[%(i)s].amount must be more than zero", field=f"lines[{i}].amount",
                                          params={"i": i}))
        clean.append({"code": code, "item": item, "category": category, "month": month, "amount": amount,
                      "org_unit_id": line.get("org_unit_id")})
    if not lines:
        problems.add(ValidationFailed("a plan needs at least one line", field="lines"))
    problems.done()
    return clean


async def _write_lines(plan_id: uuid.UUID, lines: list[dict[str, Any]]) -> None:
    await FundPlanLine.delete().where(FundPlanLine.plan == plan_id)
    if lines:
        await FundPlanLine.insert(*[FundPlanLine(plan=plan_id, **line) for line in lines])


async def draft_plan(fund_id: uuid.UUID, *, title: str, lines: list[dict[str, Any]], note: str = "",
                     created_by: uuid.UUID | None = None) -> dict[str, Any]:
    """A new version of the fund's plan: version 1 in January, then a revision of the approved one (its
    lines copied when none are given, to be changed before submitting)."""
    fund = await get_fund(None, fund_id)
    title = (title or "").strip()
    if not title:
        raise ValidationFailed("title is required", field="title")
    current = await approved_plan(fund_id)
    if not lines and current is not None:
        lines = [{k: line[k] for k in ("code", "org_unit_id", "category", "item", "month", "amount")}
                 for line in current["lines"]]
    clean = _check_lines(lines)
    open_draft = await FundPlan.exists().where(FundPlan.fund == fund_id, FundPlan.status.is_in(
        ["draft", "returned", "in_review"]))
    if open_draft:
        raise Conflict("this fund has a plan version in the making already; finish or withdraw it first",
                       code="plan_in_progress")
    version = (await fetch("SELECT coalesce(max(version), 0) + 1 AS v FROM fund_plan "
                           "WHERE tenant_id = $1 AND fund = $2", current_tenant_id(), fund_id))[0]["v"]
    plan = FundPlan(fund=fund_id, version=version, previous=current["id"] if current else None, title=title,
                    note=(note or "").strip(), status="draft", created_by=created_by)
    await plan.save()
    await _write_lines(plan.id, clean)
    await audit.record("fund.plan.draft", "fund_plan", plan.id, after={"fund": fund["code"], "version": version,
                                                                       "lines": len(clean)})
    return await get_plan(plan.id)


async def update_plan(plan_id: uuid.UUID, *, title: str, lines: list[dict[str, Any]], note: str = "") -> dict[str, Any]:
    plan = await get_plan(plan_id)
    if plan["status"] not in EDITABLE:
        raise Conflict("a plan %(status)s cannot be changed", code="plan_not_editable",
                       params={"status": plan["status"]})
    if not (title or "").strip():
        raise ValidationFailed("title is required", field="title")
    clean = _check_lines(lines)
    await FundPlan.update({FundPlan.title: title.strip(), FundPlan.note: (note or "").strip(),
                           FundPlan.status: "draft" if plan["status"] == "rejected" else plan["status"]}
                          ).where(FundPlan.id == plan_id)
    await _write_lines(plan_id, clean)
    return await get_plan(plan_id)


async def submit_plan(plan_id: uuid.UUID, *, requester_id: uuid.UUID) -> dict[str, Any]:
    """Into the approval core, on the tenant's `annual_plan` policy (pre-review, then the leadership)."""
    plan = await get_plan(plan_id)
    if plan["status"] not in ("draft", "returned"):
        raise Conflict("a plan %(status)s cannot be submitted", code="plan_not_editable",
                       params={"status": plan["status"]})
    if plan["status"] == "returned" and plan["approval_request"]:
        # the same request goes round again, revised: it keeps its history and policy version
        await approvals_service.resubmit(request_id=plan["approval_request"], actor_id=requester_id,
                                         amount=plan["total"])
        await FundPlan.update({FundPlan.status: "in_review", FundPlan.submitted_at: clock.now()}).where(
            FundPlan.id == plan_id)
        await audit.record("fund.plan.resubmit", "fund_plan", plan_id, after={"request": str(plan["approval_request"])})
        return await get_plan(plan_id)
    fund = await get_fund(None, plan["fund"])
    title = f"{fund['name']} {fund['year']} · v{plan['version']} · {plan['title']}"[:300]
    request = await approvals_service.open_request(
        subject_type=PLAN_SUBJECT, subject_id=str(plan_id), amount=plan["total"], category=None, in_plan=True,
        org_unit_id=fund["org_unit_id"], title=title, requester_id=requester_id)
    await FundPlan.update({FundPlan.status: "in_review", FundPlan.approval_request: request["id"],
                           FundPlan.submitted_at: clock.now()}).where(FundPlan.id == plan_id)
    await audit.record("fund.plan.submit", "fund_plan", plan_id, after={"request": str(request["id"])})
    return await get_plan(plan_id)


async def _plan_decided(request: dict[str, Any], status: str) -> None:
    plan_id = uuid.UUID(request["subject_id"])
    plan = await get_plan(plan_id)
    if status == "approved":
        await FundPlan.update({FundPlan.status: "superseded"}).where(FundPlan.fund == plan["fund"],
                                                                     FundPlan.status == "approved")
    await FundPlan.update({FundPlan.status: status, FundPlan.decided_at: clock.now()}).where(FundPlan.id == plan_id)
    await audit.record(f"fund.plan.{status}", "fund_plan", plan_id, after={"version": plan["version"]})


async def on_plan_approved(request: dict[str, Any]) -> None:
    await _plan_decided(request, "approved")


async def on_plan_rejected(request: dict[str, Any]) -> None:
    await _plan_decided(request, "rejected")


async def on_plan_returned(request: dict[str, Any]) -> None:
    await FundPlan.update({FundPlan.status: "returned"}).where(FundPlan.id == uuid.UUID(request["subject_id"]))


async def on_plan_withdrawn(request: dict[str, Any]) -> None:
    await FundPlan.update({FundPlan.status: "draft", FundPlan.approval_request: None}).where(
        FundPlan.id == uuid.UUID(request["subject_id"]))


async def get_plan(plan_id: uuid.UUID) -> dict[str, Any]:
    plan = await FundPlan.select().where(FundPlan.id == plan_id).first()
    if plan is None:
        raise NotFound("no such plan", code="plan_not_found", field="plan")
    lines = await fetch("""
        SELECT l.*, u.code AS unit_code, u.name AS unit_name FROM fund_plan_line l
        LEFT JOIN org_unit u ON u.tenant_id = l.tenant_id AND u.id = l.org_unit_id
        WHERE l.tenant_id = $1 AND l.plan = $2 ORDER BY l.month, l.code""", current_tenant_id(), plan_id)
    used = {r["code"]: r["used"] for r in await fetch(_USED, current_tenant_id(), plan["fund"])}
    for line in lines:
        line["used"] = used.get(line["code"], 0)
        line["remaining"] = line["amount"] - line["used"]
    plan["lines"] = lines
    plan["total"] = sum(line["amount"] for line in lines)
    return plan


async def list_plans(fund_id: uuid.UUID) -> list[dict[str, Any]]:
    return await FundPlan.select().where(FundPlan.fund == fund_id).order_by(FundPlan.version, ascending=False)


async def approved_plan(fund_id: uuid.UUID) -> dict[str, Any] | None:
    row = await FundPlan.select(FundPlan.id).where(FundPlan.fund == fund_id, FundPlan.status == "approved").first()
    return await get_plan(row["id"]) if row else None


async def compare(plan_id: uuid.UUID) -> dict[str, Any]:
    """A version beside the one it revises, line by line (by code): added, removed, changed, unchanged."""
    plan = await get_plan(plan_id)
    before = await get_plan(plan["previous"]) if plan["previous"] else None
    old = {line["code"]: line for line in (before["lines"] if before else [])}
    new = {line["code"]: line for line in plan["lines"]}
    rows = []
    for code in sorted(set(old) | set(new), key=lambda c: (new.get(c) or old[c])["month"]):
        a, b = old.get(code), new.get(code)
        kind = "added" if a is None else "removed" if b is None else (
            "changed" if any(a[k] != b[k] for k in ("item", "category", "month", "amount", "org_unit_id"))
            else "unchanged")
        rows.append({"code": code, "kind": kind, "before": a, "after": b,
                     "delta": (b["amount"] if b else 0) - (a["amount"] if a else 0)})
    return {"plan": plan, "previous": before, "lines": rows,
            "total_delta": plan["total"] - (before["total"] if before else 0)}
