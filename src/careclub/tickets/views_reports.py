"""The ticket reports (`/tickets/reports`): open tickets by age, SLA compliance per department and per type,
satisfaction and rework per department, and the departments' contact-slip score, for one month (the
company's month, this one by default) and optionally one project; each section a chart (with its table of
the same numbers) and a table, each table downloadable with `?format=xlsx&table=…`.

Who: staff with `tickets.dispatch`; the figures count only the tickets in the person's scope, as the lists
do (service/_reports.py says what each section counts, and the page says it in words). Every figure is one
GROUP BY in SQL."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Request, Response, get
from litestar.params import QueryParameter

from careclub.core import clock
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.core.principal import Principal
from careclub.platform.permissions import Perm
from careclub.platform.service import company_zone, units_in_scope
from careclub.platform.views_admin._common import as_uuid, me
from careclub.tickets import service
from careclub.tickets.api import type_name
from careclub.tickets.service import _reports as reports
from careclub.tickets.views import tickets_page
from careclub.web import exports
from careclub.web.charts import Chart, Series, is_empty, spec

Filter = Annotated[str | None, QueryParameter(max_length=64)]

AGE_NAMES = {"under_1": N_("Under 1 day"), "d1_3": N_("1–3 days"), "d3_7": N_("3–7 days"),
             "over_7": N_("Over 7 days")}
age_label = labeller(AGE_NAMES)
NO_DEPARTMENT = N_("No department")
TABLES = ("age", "departments", "types", "satisfaction", "score")


def parse_month(text: str | None, today: date) -> date:
    """"2026-02" as the first day of that month; this month for anything else."""
    try:
        year, month = (int(p) for p in (text or "").split("-"))
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return date(year, month, 1)
    except ValueError:
        pass
    return today.replace(day=1)


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def previous_month(first: date) -> date:
    return date(first.year - 1, 12, 1) if first.month == 1 else date(first.year, first.month - 1, 1)


def month_bounds(first: date, zone: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    return datetime.combine(first, time.min, tzinfo=tz), datetime.combine(next_month(first), time.min, tzinfo=tz)


def percent(part: int, whole: int) -> str:
    return f"{part * 100 / whole:.1f} %" if whole else "—"


def department_label(row: dict[str, Any]) -> str:
    return row["department_name"] or _(NO_DEPARTMENT)


def _figure(fid: str, caption: str, category: str, chart: Chart, note: str | None = None) -> dict[str, Any]:
    return {"id": fid, "caption": caption, "category": category, "spec": spec(chart), "empty": is_empty(chart),
            "link": None, "link_text": None, "note": note}


def _with_names(rows: list[dict[str, Any]], types: dict[uuid.UUID, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "type_name": type_name(types[r["type"]]) if r["type"] in types else r["type_code"]} for r in rows]


async def _projects(principal: Principal) -> list[dict[str, Any]]:
    ids = await units_in_scope(principal, Perm.TICKETS_DISPATCH)
    return await reports.project_choices(principal, ids)


async def gather(principal: Principal, *, start: datetime, end: datetime, project: uuid.UUID | None
                 ) -> dict[str, Any]:
    """Every section's rows, with the names people read (types in the reader's language)."""
    types = {t["id"]: t for t in await service.list_types()}
    age = _with_names(await reports.open_by_age(principal, now=clock.now(), project=project), types)
    month = await reports.tallied_month(principal, start, end, project)  # tallies or tickets: asked once
    resolved, departments = await reports.resolved_month(principal, start=start, end=end, project=project,
                                                         month=month)
    by_type = _with_names(resolved, types)
    for r in by_type:
        r["rate"] = percent(r["on_time"], r["tickets"])
    for r in departments:
        r["name"], r["rate"] = department_label(r), percent(r["on_time"], r["tickets"])
    satisfaction, score = await reports.closed_month(principal, start=start, end=end, project=project,
                                                     month=month)
    for r in satisfaction:
        r["name"] = department_label(r)
    for r in score:
        r["name"], r["rate"] = department_label(r), percent(r["on_time"], r["slips"])
    return {"age": age, "types": by_type, "departments": departments, "satisfaction": satisfaction,
            "score": score}


def figures(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    age = data["age"]
    age_chart = Chart(kind="bar", stack=True, categories=[r["type_name"] for r in age],
                      series=[Series(name=age_label(b), data=[r[b] for r in age]) for b in reports.AGE_BUCKETS])
    deps = data["departments"]
    dep_chart = Chart(kind="bar", stack=True, horizontal=True, categories=[r["name"] for r in deps],
                      series=[Series(name=_("On time"), data=[r["on_time"] for r in deps]),
                              Series(name=_("Breached"), data=[r["breached"] for r in deps])])
    sat = data["satisfaction"]
    ratings = [Series(name=_("Rated %(n)s") % {"n": s}, data=[r[f"s{s}"] for r in sat]) for s in range(1, 6)]
    sat_chart = Chart(kind="bar", stack=True, categories=[r["name"] for r in sat],
                      series=[*ratings, Series(name=_("Rework"), data=[r["reworks"] for r in sat], kind="line")])
    score = data["score"]
    score_chart = Chart(kind="bar", horizontal=True, categories=[r["name"] for r in score],
                        series=[Series(name=_("Score"), data=[round(r["score"]) for r in score])])
    return {
        "age": _figure("open-age", _("Open tickets by age"), _("Type"), age_chart),
        "departments": _figure("sla-departments", _("Resolved on time and breached, per department"),
                               _("Department"), dep_chart),
        "satisfaction": _figure("satisfaction", _("Ratings 1–5 and rework, per department"), _("Department"),
                                sat_chart),
        "score": _figure("score", _("Contact-slip score, per department"), _("Department"), score_chart,
                         note=_("The chart rounds the score to whole points; the table below has it exactly.")),
    }


def _count(key: str) -> Any:
    return lambda r: r[key]


def _rate(part: str, whole: str) -> Any:
    """A rate as a number of percent (one place) in the workbook, so Excel sorts and averages it."""
    return lambda r: round(r[part] * 100 / r[whole], 1) if r[whole] else None


EXPORTS: dict[str, list[exports.Column]] = {
    "age": [exports.Column(N_("Type"), _count("type_name"), 22),
            *[exports.Column(AGE_NAMES[b], _count(b), 12) for b in reports.AGE_BUCKETS],
            exports.Column(N_("Total"), _count("total"), 10)],
    "departments": [exports.Column(N_("Department"), _count("name"), 22),
                    exports.Column(N_("Tickets held"), _count("tickets"), 12),
                    exports.Column(N_("On time"), _count("on_time"), 10),
                    exports.Column(N_("Breached"), _count("breached"), 10),
                    exports.Column(N_("On-time rate (%)"), _rate("on_time", "tickets"), 12),
                    exports.Column(N_("Working minutes used"), _count("used"), 14)],
    "types": [exports.Column(N_("Type"), _count("type_name"), 22),
              exports.Column(N_("Resolved"), _count("tickets"), 10),
              exports.Column(N_("On time"), _count("on_time"), 10),
              exports.Column(N_("Breached"), _count("breached"), 10),
              exports.Column(N_("On-time rate (%)"), _rate("on_time", "tickets"), 12),
              exports.Column(N_("Responded in time"), _count("responded_on_time"), 14),
              exports.Column(N_("Reopened"), _count("reopened"), 10)],
    "satisfaction": [exports.Column(N_("Department"), _count("name"), 22),
                     exports.Column(N_("Closed"), _count("closed"), 10),
                     exports.Column(N_("Ratings"), _count("ratings"), 10),
                     exports.Column(N_("Average satisfaction"), _count("average"), 12),
                     *[exports.Column(str(s), _count(f"s{s}"), 6) for s in range(1, 6)],
                     exports.Column(N_("Rework"), _count("reworks"), 10)],
    "score": [exports.Column(N_("Department"), _count("name"), 22),
              exports.Column(N_("Contact slips closed"), _count("slips"), 12),
              exports.Column(N_("On time"), _count("on_time"), 10),
              exports.Column(N_("On-time rate (%)"), _rate("on_time", "slips"), 12),
              exports.Column(N_("Average satisfaction"), _count("average"), 12),
              exports.Column(N_("Rework"), _count("reworks"), 10),
              exports.Column(N_("Score"), _count("score"), 10)],
}
TABLE_TITLES = {"age": N_("Open tickets by age"), "departments": N_("SLA per department"),
                "types": N_("SLA per type"), "satisfaction": N_("Satisfaction and rework"),
                "score": N_("Contact-slip score")}


@get("/tickets/reports", opt={"permission": Perm.TICKETS_DISPATCH}, include_in_schema=False)
async def reports_page(request: Request[Any, Any, Any], month: Filter = None, project: Filter = None,
                       format: Filter = None, table: Filter = None) -> Response[Any]:
    """The month's figures (`month=YYYY-MM`, this month by default) in the person's scope, optionally of one
    project; `?format=xlsx&table=age|departments|types|satisfaction|score` downloads one table."""
    principal = me(request)
    zone = await company_zone()
    today = clock.local(clock.now(), zone)
    assert today is not None
    first = parse_month(month, today.date())
    start, end = month_bounds(first, zone)
    projects = await _projects(principal)
    chosen = as_uuid(project)
    if chosen is not None and chosen not in {p["id"] for p in projects}:
        chosen = None
    data = await gather(principal, start=start, end=end, project=chosen)
    label = f"{first:%Y-%m}"
    if format == "xlsx":
        which = table if table in TABLES else "departments"
        return await exports.xlsx(f"ticket-report-{which}-{label}.xlsx", f"{_(TABLE_TITLES[which])} {label}",
                                  EXPORTS[which], exports.all_rows(data[which]))
    query = {"month": label, **({"project": str(chosen)} if chosen else {})}
    links = {t: "?" + urlencode({**query, "format": "xlsx", "table": t}) for t in TABLES}

    def month_link(m: date) -> str:
        return "?" + urlencode({**query, "month": f"{m:%Y-%m}"})

    totals = {
        "open": sum(r["total"] for r in data["age"]),
        "resolved": sum(r["tickets"] for r in data["types"]),
        "on_time": sum(r["on_time"] for r in data["types"]),
        "ratings": sum(r["ratings"] for r in data["satisfaction"]),
    }
    totals["rate"] = percent(totals["on_time"], totals["resolved"])
    rated = [r for r in data["satisfaction"] if r["ratings"]]
    totals["average"] = (sum((r["average"] or 0) * r["ratings"] for r in rated) / totals["ratings"]
                         if totals["ratings"] else None)
    return tickets_page(request, "tickets/admin/reports.html", r=data, figures=figures(data), links=links,
                        month=label, month_start=first, projects=[(str(p["id"]), p["name"]) for p in projects],
                        project=str(chosen) if chosen else "", totals=totals,
                        previous=month_link(previous_month(first)), following=month_link(next_month(first)),
                        is_current=first == today.date().replace(day=1), age_label=age_label,
                        company_wide=await units_in_scope(principal, Perm.TICKETS_DISPATCH) is None,
                        buckets=reports.AGE_BUCKETS, weights=(reports.SCORE_ON_TIME, reports.SCORE_SATISFACTION,
                                                              reports.SCORE_REWORK))


ROUTES: list[Any] = [reports_page]
