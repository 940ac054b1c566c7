"""The settlements' figures for integrators: a year's budget against what was actually paid, per project, cost
type and month (`GET /api/v1/settlement-reports/budget-vs-actual`), and the settlements still to be approved
with their due dates (`GET /api/v1/settlement-reports/due`). Read like the settlements themselves: anyone with a
settlements permission, over the projects in reach (a project out of reach answers 404)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, get
from litestar.di import Provide
from litestar.params import QueryParameter

from careclub.core.money import Money, to_money
from careclub.platform.api import PrincipalDep, provide_principal
from careclub.platform.permissions import Perm
from careclub.platform.service import company_today
from careclub.settlements.service import _reports
from careclub.settlements.service._common import reader

_P = {"principal": Provide(provide_principal, sync_to_thread=False)}
Year = Annotated[int | None, QueryParameter(ge=2000, le=2100, description="the year: 2026 (default: this year)")]
Code = Annotated[str | None, QueryParameter(max_length=64, description="a project's org unit code")]


class Figures(msgspec.Struct, kw_only=True):
    budget: Money  # the approved budget (the months' forms, the annual form excluded)
    actual: Money  # confirmed payments
    pending: Money  # recorded payments awaiting the developer's confirmation
    variance: Money  # budget − actual: below zero, over budget
    over_budget: bool


class MonthTypeRow(Figures, kw_only=True):
    month: str
    cost_type: str


class MonthRow(Figures, kw_only=True):
    month: str


class TypeRow(Figures, kw_only=True):
    cost_type: str
    annual_budget: Money  # the approved annual form's lines of this type
    annual_variance: Money  # annual budget − the year's confirmed actual


class YearTotal(Figures, kw_only=True):
    annual_budget: Money
    annual_variance: Money


class ProjectFigures(msgspec.Struct, kw_only=True):
    project: str  # the project's org unit code
    project_name: str
    rows: list[MonthTypeRow]  # each month and cost type with any figure
    months: list[MonthRow]
    types: list[TypeRow]
    total: YearTotal


class BudgetVsActual(msgspec.Struct, kw_only=True):
    year: int
    currency: str
    projects: list[ProjectFigures]
    total: YearTotal


class DueSettlement(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    project: str
    project_name: str
    month: str
    number: str
    status: str
    total: Money
    due_on: date
    days_left: int  # below zero: overdue by that many days
    overdue: bool


def _figures(row: dict[str, Any], currency: str) -> dict[str, Any]:
    return {"budget": to_money(row["budget"], currency), "actual": to_money(row["actual"], currency),
            "pending": to_money(row["pending"], currency), "variance": to_money(row["variance"], currency),
            "over_budget": row["over_budget"]}


def _total(row: dict[str, Any], currency: str) -> YearTotal:
    return YearTotal(**_figures(row, currency), annual_budget=to_money(row["annual_budget"], currency),
                     annual_variance=to_money(row["annual_variance"], currency))


def report_out(report: dict[str, Any], currency: str) -> BudgetVsActual:
    projects = [ProjectFigures(
        project=p["code"], project_name=p["name"],
        rows=[MonthTypeRow(month=r["month"], cost_type=r["cost_type"], **_figures(r, currency)) for r in p["rows"]],
        months=[MonthRow(month=m["month"], **_figures(m, currency)) for m in p["months"]],
        types=[TypeRow(cost_type=t["cost_type"], **_figures(t, currency),
                       annual_budget=to_money(t["annual_budget"], currency),
                       annual_variance=to_money(t["annual_variance"], currency)) for t in p["types"]],
        total=_total(p["total"], currency)) for p in report["projects"]]
    return BudgetVsActual(year=report["year"], currency=currency, projects=projects,
                          total=_total(report["total"], currency))


class SettlementReportController(Controller):
    path = "/api/v1/settlement-reports"
    tags = ["settlements"]
    dependencies = _P

    @get("/budget-vs-actual", opt={"permission": Perm.AUTHENTICATED})
    async def budget_vs_actual(self, principal: PrincipalDep, year: Year = None,
                               project: Code = None) -> BudgetVsActual:
        """Per project in reach, cost type and month of the year: the approved budget (the month's approved forms
        of every kind but the annual one), the confirmed actual, what awaits confirmation and the variance (budget −
        actual); per project and type also the approved annual budget against the year's confirmed actual."""
        reader(principal)
        chosen = year or (await company_today()).year
        report = await _reports.budget_vs_actual(principal, year=chosen, project=project)
        return report_out(report, principal.tenant.currency)

    @get("/due", opt={"permission": Perm.AUTHENTICATED})
    async def due(self, principal: PrincipalDep, project: Code = None) -> list[DueSettlement]:
        """The settlements not yet approved, the soonest due first, with the days left (below zero: overdue)."""
        reader(principal)
        currency = principal.tenant.currency
        return [DueSettlement(id=r["id"], project=r["project"], project_name=r["project_name"], month=r["month"],
                              number=r["number"], status=r["status"], total=to_money(r["total"], currency),
                              due_on=r["due_on"], days_left=r["days_left"], overdue=r["overdue"])
                for r in await _reports.due_settlements(principal, project=project)]


ROUTES = [SettlementReportController]
