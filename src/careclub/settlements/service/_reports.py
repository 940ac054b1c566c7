"""What the settlements add up to: a year's budget against what was actually paid, per project, cost type and
month; the settlements still to be approved with their due dates; and the month's settlement laid out as the
guide's form 《物业前期介入费用申请》 with the countersign chain's signatures.

Budget of a month: the lines of the month's APPROVED forms of every kind but the annual one (monthly, unplanned,
purchases on the developer's behalf, sales-office consumables, additions), by the line's cost type. Actual: the
payments the developer confirmed, by the month they belong to; awaiting: the payments recorded and not yet
confirmed (refused ones count for nothing). Variance = budget − confirmed actual (below zero: over budget). The
year: the approved annual form's lines by cost type against the year's confirmed payments.

Every figure is one grouped query (PostgreSQL sums; nothing is counted row by row here), scoped to the projects
in reach with `project_id = ANY($ids)`."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from careclub.core.db import fetch
from careclub.core.principal import Principal
from careclub.platform.service import company_today
from careclub.platform.tables import OrgUnit
from careclub.settlements import rules
from careclub.settlements.service._common import project_unit, reach
from careclub.settlements.service._settlements import get_settlement, list_settlements

# The running sums (service._figures keeps them with every write): a company's year is projects × 12 months × 4
# types of rows, however many payments it made. $1 the year's first day, $2 the next year's, $3 the projects
# (NULL: every one).
_FIGURES_SQL = """
SELECT project_id, month, cost_type, budget, annual, confirmed, pending FROM settlement_figure
 WHERE month >= $1 AND month < $2 AND ($3::uuid[] IS NULL OR project_id = ANY($3::uuid[]))
"""
_TYPE_ORDER = {t: n for n, t in enumerate(rules.COST_TYPES)}


def _cell() -> dict[str, int]:
    return {"budget": 0, "actual": 0, "pending": 0}


def _with_variance(cell: dict[str, int]) -> dict[str, Any]:
    return {**cell, "variance": cell["budget"] - cell["actual"], "over_budget": cell["actual"] > cell["budget"]}


async def _scope(principal: Principal | None, project: str | None) -> list[uuid.UUID] | None:
    """The projects to count: the one asked for (404 when out of reach), else every one in reach (None: all)."""
    if project:
        return [(await project_unit(principal, project))["id"]]
    return await reach(principal)


async def budget_vs_actual(principal: Principal | None, *, year: int, project: str | None = None) -> dict[str, Any]:
    """{"year", "projects": [{"id", "code", "name", "rows": [{"month" (2026-11), "cost_type", "budget", "actual",
    "pending", "variance", "over_budget"}], "months": [{"month", same figures summed over the types}],
    "types": [{"cost_type", the year's month budgets and actuals by type, "annual_budget", "annual_variance"}],
    "total": {the year's figures, "annual_budget", "annual_variance"}}], "total": {the same over the projects}}.
    A row is a project's month and cost type with any figure; a project is listed when it has any."""
    ids = await _scope(principal, project)
    first, after = date(year, 1, 1), date(year + 1, 1, 1)
    rows = [] if ids == [] else await fetch(_FIGURES_SQL, first, after, ids)
    cells: dict[uuid.UUID, dict[tuple[date, str], dict[str, int]]] = {}
    annual: dict[tuple[uuid.UUID, str], int] = {}
    projects: set[uuid.UUID] = set()
    for r in rows:
        projects.add(r["project_id"])
        if r["annual"]:
            annual[(r["project_id"], r["cost_type"])] = annual.get((r["project_id"], r["cost_type"]), 0) + r["annual"]
        if r["budget"] or r["confirmed"] or r["pending"]:
            cells.setdefault(r["project_id"], {})[(r["month"], r["cost_type"])] = {
                "budget": int(r["budget"]), "actual": int(r["confirmed"]), "pending": int(r["pending"])}
    if project and ids:
        projects.update(ids)
    units = {u["id"]: u for u in await OrgUnit.select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(
        OrgUnit.id.is_in(list(projects) or [uuid.uuid4()]))}
    out = []
    grand = {**_cell(), "annual_budget": 0}
    for pid in sorted(projects, key=lambda p: units[p]["code"] if p in units else ""):
        if pid not in units:
            continue
        mine = sorted(((k, v) for k, v in cells.get(pid, {}).items()),
                      key=lambda kv: (kv[0][0], _TYPE_ORDER.get(kv[0][1], 9)))
        by_month: dict[date, dict[str, int]] = {}
        by_type = {t: _cell() for t in rules.COST_TYPES}
        for (month, cost_type), v in mine:
            m = by_month.setdefault(month, _cell())
            t = by_type.setdefault(cost_type, _cell())
            for k in ("budget", "actual", "pending"):
                m[k] += v[k]
                t[k] += v[k]
        types = []
        for cost_type, v in by_type.items():
            ann = annual.get((pid, cost_type), 0)
            types.append({"cost_type": cost_type, **_with_variance(v), "annual_budget": ann,
                          "annual_variance": ann - v["actual"]})
        total = {k: sum(t[k] for t in types) for k in ("budget", "actual", "pending", "annual_budget")}
        for k in grand:
            grand[k] += total[k]
        out.append({"id": pid, "code": units[pid]["code"], "name": units[pid]["name"],
                    "rows": [{"month": rules.month_text(month), "cost_type": cost_type, **_with_variance(v)}
                             for (month, cost_type), v in mine],
                    "months": [{"month": rules.month_text(m), **_with_variance(v)}
                               for m, v in sorted(by_month.items())],
                    "types": types,
                    "total": {**_with_variance(total), "annual_budget": total["annual_budget"],
                              "annual_variance": total["annual_budget"] - total["actual"]}})
    return {"year": year, "projects": out,
            "total": {**_with_variance(grand), "annual_budget": grand["annual_budget"],
                      "annual_variance": grand["annual_budget"] - grand["actual"]}}


async def due_settlements(principal: Principal | None, *, project: str | None = None) -> list[dict[str, Any]]:
    """The settlements in reach not yet approved, the soonest due first, each with the days left until its due
    date (below zero: overdue by that many days) by the company's calendar."""
    today = await company_today()
    rows = await list_settlements(principal, project=project, open_only=True, limit=1000)
    out = [{**r, "days_left": (r["due_on"] - today).days, "overdue": r["due_on"] < today} for r in rows]
    return sorted(out, key=lambda r: (r["due_on"], r["project"]))


# ---- the month's application form ----------------------------------------------------------------

_SIGNATURES_SQL = """
SELECT s.id AS step, s.position, s.name, s.kind, s.status, d.decision, d.decider_name, d.on_behalf_of_name,
       d.comment, d.created_at AS decided_at
  FROM approval_request r JOIN approval_step s ON s.request = r.id AND s.round = r.round
  LEFT JOIN approval_decision d ON d.step = s.id
 WHERE r.id = $1
 ORDER BY s.position, d.created_at NULLS LAST
"""


async def signatures(request_id: uuid.UUID | None) -> list[dict[str, Any]]:
    """The countersign chain of the request's current round: each step with who signed it and when (a
    countersign step: each signer), in order; steps not reached yet have no signer."""
    if request_id is None:
        return []
    steps: dict[uuid.UUID, dict[str, Any]] = {}
    for r in await fetch(_SIGNATURES_SQL, request_id):
        step = steps.setdefault(r["step"], {"position": r["position"], "name": r["name"], "kind": r["kind"],
                                            "status": r["status"], "signed": []})
        if r["decision"] is not None:
            step["signed"].append({"decision": r["decision"], "name": r["decider_name"],
                                   "on_behalf_of": r["on_behalf_of_name"], "comment": r["comment"],
                                   "at": r["decided_at"]})
    return list(steps.values())


async def application(principal: Principal | None, settlement_id: uuid.UUID) -> dict[str, Any]:
    """The settlement as the guide's form: get_settlement's answer plus its payments by cost type (each type's
    form name and subtotal), the company's name and the countersign chain's signatures. 404 for a settlement
    the person cannot read."""
    row = await get_settlement(principal, settlement_id)
    sections = []
    for cost_type in rules.COST_TYPES:
        payments = [p for p in row["payments"] if p["cost_type"] == cost_type]
        sections.append({"cost_type": cost_type, "form": rules.FORM_NAMES[cost_type], "payments": payments,
                         "subtotal": row[f"cost_{cost_type}"]})
    return {**row, "sections": sections, "signatures": await signatures(row["approval_request"])}
