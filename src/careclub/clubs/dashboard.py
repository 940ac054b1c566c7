"""The clubs' figures as charts: on the company dashboard (`/dashboard`, a panel per club) and on a
club's statistics page (`/club/stats/{id}`). Every number comes from `service.club_stats`, the
set-based statistics over the tallies (club_tally): this module only shapes what it answers into chart
specs (web/charts.py) and links each figure to the list behind it. Nothing here reads member, card or
check-in rows.

Figures: members by status (each status opens the member list filtered to it), new members and
renewals by month, revenue by month (join and renewal fees, in the tenant's currency), check-ins by
merchant, and the club's projection (its `projected_monthly_joins`, when set) against the actual
members; the statistics page adds members by plan and by branch and check-ins by benefit.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from careclub.clubs import service
from careclub.clubs.service._members import CARD_STATUSES
from careclub.clubs.views_staff import status_label
from careclub.core import clock
from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _
from careclub.core.principal import Principal
from careclub.platform.permissions import Perm
from careclub.web.charts import Chart, Series, is_empty, spec

# The dashboard shows this many clubs (by code), each linking to its statistics page; a company runs a
# handful, and each club's figures are one club_stats call (a few aggregate queries over the tallies).
MAX_CLUBS = 6
# By-month figures cover the last year, this month included.
MONTHS = 12
FEE_KINDS = {"join": N_("Joining fees"), "renewal": N_("Renewal fees")}


def months_back(now_month: str, count: int = MONTHS) -> list[str]:
    """The `count` months (YYYY-MM) up to `now_month`, oldest first."""
    year, month = (int(p) for p in now_month.split("-"))
    out = []
    for _i in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def _next_month(month: str) -> str:
    year, m = (int(p) for p in month.split("-"))
    return f"{year + m // 12:04d}-{m % 12 + 1:02d}"


def _figure(fid: str, caption: str, category: str, chart: Chart, link: str | None, link_text: str,
            note: str | None = None) -> dict[str, Any]:
    return {"id": fid, "caption": caption, "category": category, "spec": spec(chart), "empty": is_empty(chart),
            "link": link, "link_text": link_text, "note": note}


def _members_url(club_id: Any, **filters: str) -> str:
    return "/club/members?" + urlencode({"club": str(club_id), **filters})


def _checkins_url(club_id: Any, **filters: str) -> str:
    return "/club/checkins?" + urlencode({"club": str(club_id), **filters})


def status_figure(stats: dict[str, Any], fid: str) -> dict[str, Any]:
    """Members (cards) by status, in the statuses' own order; each status opens the member list filtered
    to it."""
    club_id = stats["club"]["id"]
    counts = stats["members_by_status"]
    statuses = [s for s in CARD_STATUSES if counts.get(s)] + sorted(s for s in counts if s not in CARD_STATUSES)
    chart = Chart(kind="pie", categories=[status_label(s) for s in statuses],
                  series=[Series(name=_("Members"), data=[counts[s] for s in statuses])],
                  links=[_members_url(club_id, status=s) if s in CARD_STATUSES else None for s in statuses])
    return _figure(fid, _("Members by status"), _("Status"), chart, _members_url(club_id), _("Member list"))


def joins_figure(stats: dict[str, Any], fid: str, months: list[str]) -> dict[str, Any]:
    """New members (cards, reissues left out) and paid renewals, month by month."""
    new = {r["month"]: r["new"] for r in stats["new_per_month"]}
    renewed: dict[str, int] = {}
    for r in stats["fees_per_month"]:
        if r["kind"] == "renewal":
            renewed[r["month"]] = renewed.get(r["month"], 0) + r["count"]
    chart = Chart(kind="bar", categories=months,
                  series=[Series(name=_("New members"), data=[new.get(m, 0) for m in months]),
                          Series(name=_("Renewals"), data=[renewed.get(m, 0) for m in months])])
    return _figure(fid, _("New members and renewals by month"), _("Month"), chart,
                   f"/club/stats/{stats['club']['id']}", _("Statistics"))


def revenue_figure(stats: dict[str, Any], fid: str, months: list[str], currency: str, *,
                   payments_link: bool) -> dict[str, Any]:
    """Membership fees paid, by month and kind, stacked (minor units; the page shows yuan)."""
    kinds = sorted({r["kind"] for r in stats["fees_per_month"]} | {"join"}, key=lambda k: (k not in FEE_KINDS, k))
    amounts: dict[tuple[str, str], int] = {}
    for r in stats["fees_per_month"]:
        amounts[r["month"], r["kind"]] = amounts.get((r["month"], r["kind"]), 0) + r["amount"]
    chart = Chart(kind="bar", categories=months, money=currency, stack=True,
                  series=[Series(name=_(FEE_KINDS[k]) if k in FEE_KINDS else k,
                                 data=[amounts.get((m, k), 0) for m in months]) for k in kinds])
    link, text = (("/payments", _("Payments")) if payments_link
                  else (f"/club/stats/{stats['club']['id']}", _("Statistics")))
    return _figure(fid, _("Membership fees by month"), _("Month"), chart, link, text)


def counts_figure(counts: dict[str, int], fid: str, caption: str, category: str, link: str, link_text: str,
                  series_name: str, links: dict[str, str] | None = None) -> dict[str, Any]:
    """Counts by a name people typed (merchants, plans, branches, benefits), largest first, as bars
    along the y axis (long names stay readable on a phone)."""
    names = sorted(counts, key=lambda n: (-counts[n], n))
    chart = Chart(kind="bar", horizontal=True, categories=names,
                  series=[Series(name=series_name, data=[counts[n] for n in names])],
                  links=[links.get(n) for n in names] if links else None)
    return _figure(fid, caption, category, chart, link, link_text)


def checkins_figure(stats: dict[str, Any], fid: str, merchants: list[dict[str, Any]]) -> dict[str, Any]:
    """Check-ins by merchant; each merchant opens the check-in list filtered to it (the figures count
    merchants by name: one two merchants share opens the club's whole list)."""
    club_id = stats["club"]["id"]
    ids: dict[str, list[Any]] = {}
    for m in merchants:
        ids.setdefault(m["name"], []).append(m["id"])
    links = {name: _checkins_url(club_id, merchant=str(found[0])) if len(found) == 1 else _checkins_url(club_id)
             for name, found in ids.items()}
    return counts_figure(stats["checkins_by_merchant"], fid, _("Check-ins by merchant"), _("Merchant"),
                         _checkins_url(club_id), _("Check-in list"), _("Check-ins"), links)


def projection_figure(stats: dict[str, Any], fid: str, this_month: str, *, months: int | None = None
                      ) -> dict[str, Any]:
    """Cumulative members, month by month from the club's first one: the actual ones and, when the club
    has a projection, the projected ones (its new members a month, nobody lapsing) as a dashed line.
    `months` cuts the projection's five years to what is worth seeing beside the actual ones."""
    actual = {r["month"]: r["members"] for r in stats["new_per_month"]}
    start = min(actual, default=this_month)
    projected = stats["projection"]["series"] if stats["projection"] else []
    count = 0
    month = start
    labels: list[str] = []
    while month <= this_month or count < len(projected):
        labels.append(month)
        month, count = _next_month(month), count + 1
    if months is not None and projected:
        labels = labels[:max(months, sum(1 for m in labels if m <= this_month))]
    series: list[Series] = []
    running: int | None = 0
    values: list[int | None] = []
    for m in labels:
        if m > this_month:
            running = None
        elif m in actual:
            running = actual[m]
        values.append(running)
    series.append(Series(name=_("Actual members"), kind="line", data=values))
    if projected:
        series.append(Series(name=_("Projected members"), kind="line", dashed=True,
                             data=[p["members"] for p in projected[:len(labels)]]))
        note = _("Projection: %(n)s new members a month, nobody lapsing.") % {
            "n": f"{stats['projection']['monthly_new']:,}"}
    else:
        note = _("No projection is set for this club.")
    chart = Chart(kind="line", categories=labels, series=series)
    return _figure(fid, _("Members: projection and actual"), _("Month"), chart,
                   f"/club/stats/{stats['club']['id']}", _("Statistics"), note)


def _this_month(principal: Principal) -> str:
    now = clock.now().astimezone(ZoneInfo(principal.tenant.timezone))
    return f"{now.year:04d}-{now.month:02d}"


async def club_panels(principal: Principal) -> list[dict[str, Any]]:
    """The dashboard's figures, a panel per active club (the first MAX_CLUBS by code), cut to the
    reader's branches like every statistic; none for a reader who may not see members."""
    if not principal.can(Perm.MEMBERS_READ):
        return []
    clubs = [c for c in await service.list_clubs() if c["active"]]
    this_month = _this_month(principal)
    months = months_back(this_month)
    panels = []
    for club in clubs[:MAX_CLUBS]:
        stats = await service.club_stats(principal, club["id"])
        key = f"club-{club['id']}"
        panels.append({"club": club, "stats_url": f"/club/stats/{club['id']}", "figures": [
            status_figure(stats, f"{key}-status"),
            joins_figure(stats, f"{key}-joins", months),
            revenue_figure(stats, f"{key}-revenue", months, principal.tenant.currency,
                           payments_link=principal.can(Perm.FINANCE_READ)),
            checkins_figure(stats, f"{key}-checkins", await service.list_merchants(club["id"])),
            projection_figure(stats, f"{key}-projection", this_month, months=24),
        ]})
    return panels


def stats_figures(principal: Principal, stats: dict[str, Any], merchants: list[dict[str, Any]]
                  ) -> dict[str, dict[str, Any]]:
    """The statistics page's figures, by name (`merchants`: the club's, to link its check-ins)."""
    this_month = _this_month(principal)
    club_id: uuid.UUID = stats["club"]["id"]
    members = _members_url(club_id)
    figures = {
        "status": status_figure(stats, "status"),
        "plan": counts_figure(stats["members_by_plan"], "plan", _("Members by plan"), _("Plan"), members,
                              _("Member list"), _("Members")),
        "branch": counts_figure(stats["members_by_branch"], "branch", _("Members by branch"), _("Branch"), members,
                                _("Member list"), _("Members")),
        "joins": joins_figure(stats, "joins", months_back(this_month)),
        "revenue": revenue_figure(stats, "revenue", months_back(this_month), principal.tenant.currency,
                                  payments_link=principal.can(Perm.FINANCE_READ)),
        "checkins": checkins_figure(stats, "checkins", merchants),
        "benefits": counts_figure(stats["checkins_by_benefit"], "benefits", _("Check-ins by benefit"), _("Benefit"),
                                  _checkins_url(club_id), _("Check-in list"), _("Check-ins")),
        "projection": projection_figure(stats, "projection", this_month),
    }
    for figure in figures.values():  # no link back to the page itself
        if figure["link"] == f"/club/stats/{club_id}":
            figure["link"] = None
    return figures


__all__ = ["MAX_CLUBS", "MONTHS", "club_panels", "months_back", "projection_figure", "stats_figures"]
