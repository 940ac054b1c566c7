"""What each service earns and how well it is done (§4.3.2–4.3.3, §4.5): the month's figures per item
(`/catalogue/figures?month=YYYY-MM`, last month of the company's calendar by default: orders settled, revenue,
cost, margin, the losses marked, a chart and the Excel download) with the month's loss reviews; a loss review's
page (`/catalogue/reviews/{id}`) where the site manager records the decision — stopping the service waits for
the general manager's approval, which links here too; and the quality figures (`/catalogue/quality`, this month
so far by default) per item, department, staff member or subcontractor, downloadable for the staff appraisal.

Every figure is the service's one grouped query; the pages only name and arrange them."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from careclub.approvals import service as approvals_service
from careclub.catalogue import service
from careclub.catalogue.views_ops_common import (
    Filter,
    decision_label,
    field_errors,
    ops_page,
    percent,
    refused_status,
    typed_day,
)
from careclub.core.db import fetch
from careclub.core.errors import AppError, NotFound
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.core.principal import Principal
from careclub.platform.permissions import Perm
from careclub.platform.service import company_today
from careclub.platform.views_admin._common import Form, clean, me
from careclub.web import exports
from careclub.web.charts import Chart, Series, is_empty, spec

DECISION_FIELDS = ("decision", "note")
DONE = {"decided": N_("The decision is recorded."),
        "stopping": N_("Stopping the service is sent to the general manager for approval. It stays on offer until "
                       "then.")}
done_text = labeller(DONE)


# ---- months ------------------------------------------------------------------------------------

def parse_month(text: str | None) -> date | None:
    """"2026-02" as the first day of that month; None for anything else."""
    try:
        year, month = (int(p) for p in (text or "").split("-"))
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return date(year, month, 1)
    except ValueError:
        pass
    return None


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def previous_month(first: date) -> date:
    return date(first.year - 1, 12, 1) if first.month == 1 else date(first.year, first.month - 1, 1)


# ---- the month's figures -----------------------------------------------------------------------

FIGURE_COLUMNS = [
    exports.Column(N_("Code"), lambda r: r["code"], 12),
    exports.Column(N_("Service"), lambda r: r["name"], 24),
    exports.Column(N_("Orders settled"), lambda r: r["orders"], 10),
    exports.Column(N_("Revenue"), lambda r: exports.Money(r["revenue"]), 14),
    exports.Column(N_("Cost"), lambda r: exports.Money(r["cost"]), 14),
    exports.Column(N_("Margin"), lambda r: exports.Money(r["margin"]), 14),
    exports.Column(N_("Lost money"), lambda r: _("Yes") if r["margin"] < 0 else _("No"), 10),
]


def _chart(rows: list[dict[str, Any]], currency: str) -> dict[str, Any]:
    chart = Chart(kind="bar", categories=[r["name"] for r in rows], money=currency,
                  links=[f"/catalogue/items/{r['item']}" for r in rows],
                  series=[Series(name=_("Revenue"), data=[r["revenue"] for r in rows]),
                          Series(name=_("Cost"), data=[r["cost"] for r in rows])])
    return {"id": "figures", "caption": _("Revenue and cost per service"), "category": _("Service"),
            "spec": spec(chart), "empty": is_empty(chart), "link": None, "link_text": None, "note": None}


@get("/catalogue/figures", opt={"permission": Perm.CATALOGUE_READ}, include_in_schema=False)
async def figures_page(request: Request[Any, Any, Any], month: Filter = None, format: Filter = None) -> Response[Any]:
    """Per service: the orders settled in the month, revenue, cost and margin; `?format=xlsx` downloads them."""
    principal = me(request)
    today = await company_today()
    this_month = today.replace(day=1)
    first = parse_month(month) or previous_month(this_month)
    label = f"{first:%Y-%m}"
    rows = await service.item_figures(principal, label)
    if format == "xlsx":
        return await exports.xlsx(f"service-figures-{label}.xlsx", f"{_('Service figures')} {label}", FIGURE_COLUMNS,
                                  exports.all_rows(rows))
    reviews = await service.list_reviews(principal)
    currency = principal.tenant.currency
    totals = {k: sum(r[k] for r in rows) for k in ("orders", "revenue", "cost", "margin")}

    def month_link(m: date) -> str:
        return "?" + urlencode({"month": f"{m:%Y-%m}"})

    return ops_page(request, "catalogue/ops_figures.html", rows=rows, month=label, totals=totals,
                    losses=sum(1 for r in rows if r["margin"] < 0), figure=_chart(rows, currency),
                    reviews=[r for r in reviews if r["month"] == label],
                    others=[r for r in reviews if r["month"] != label and r["status"] == "open"],
                    previous=month_link(previous_month(first)), following=month_link(next_month(first)),
                    is_current=first >= this_month, export="?" + urlencode({"month": label, "format": "xlsx"}))


# ---- a loss review -----------------------------------------------------------------------------

async def _deciding(principal: Principal, review: dict[str, Any]) -> bool:
    """Whether the person may see the approval request of stopping the service (the general manager asked to
    decide, a delegate, an approvals manager over its unit): they see what they are asked to decide."""
    if review["approval_request"] is None:
        return False
    try:
        await approvals_service.visible_request(review["approval_request"], principal.user_id,
                                                manage_scope=principal.scope(Perm.APPROVALS_MANAGE))
    except NotFound:
        return False
    return True


async def readable_review(principal: Principal, review_id: uuid.UUID) -> dict[str, Any]:
    """The review for those with catalogue rights over its service, and for those deciding on stopping it;
    else 404 as if absent."""
    if principal.kind != "member":
        try:
            return await service.get_review(principal, review_id)
        except NotFound:
            review = await service.get_review(None, review_id)
            if await _deciding(principal, review):
                return review
    raise NotFound("no such loss review", code="loss_review_not_found")


async def _review_page(request: Request[Any, Any, Any], review_id: uuid.UUID, *, status_code: int = 200,
                       form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                       notice: str | None = None) -> Template:
    principal = me(request)
    review = await readable_review(principal, review_id)
    item = review["item_row"]
    path = item["project"]["path"] if item["project"] else None
    decider = None
    if review["decided_by"] is not None:
        found = await fetch("SELECT display_name FROM app_user WHERE id = $1", review["decided_by"])
        decider = found[0]["display_name"] if found else None
    return ops_page(
        request, "catalogue/ops_review.html", status_code=status_code, review=review, item=item,
        margin=review["revenue"] - review["cost"], decider=decider,
        may_decide=principal.covers(Perm.CATALOGUE_MANAGE, path) and review["status"] in ("open", "decided"),
        may_see_item=principal.kind != "member" and (principal.covers(Perm.CATALOGUE_READ, path)
                                                     or principal.covers(Perm.CATALOGUE_MANAGE, path)),
        decisions=[(d, decision_label(d)) for d in service.DECISIONS],
        form=form if form is not None else {"decision": review["decision"], "note": review["note"]},
        errors=errors or {}, notice=notice)


@get("/catalogue/reviews/{review_id:uuid}", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def review_detail(request: Request[Any, Any, Any], review_id: FromPath[uuid.UUID],
                        done: Filter = None) -> Template:
    """The review's figures and the site manager's decision. Those with catalogue rights over the service see
    it, and so does whoever is asked to approve stopping it (the approval core links here)."""
    return await _review_page(request, review_id, notice=done_text(done) if done in DONE else None)


@post("/catalogue/reviews/{review_id:uuid}/decision", opt={"permission": Perm.CATALOGUE_MANAGE},
      include_in_schema=False)
async def review_decide(request: Request[Any, Any, Any], review_id: FromPath[uuid.UUID],
                        data: Form) -> Response[Any]:
    form = clean(data, *DECISION_FIELDS)
    try:
        review = await service.decide_review(me(request), review_id, decision=form["decision"], note=form["note"])
    except AppError as exc:
        errors = field_errors(exc, DECISION_FIELDS)
        return await _review_page(request, review_id, status_code=refused_status(exc), form=form, errors=errors)
    done = "stopping" if review["status"] == "stopping" else "decided"
    return Redirect(f"/catalogue/reviews/{review_id}?done={done}", status_code=303)


# ---- quality -----------------------------------------------------------------------------------

GROUP_NAMES = {"item": N_("Service"), "department": N_("Department"), "staff": N_("Staff member"),
               "subcontractor": N_("Subcontractor")}
# what a group without a name is (an order no one was assigned to, a service a department provides)
GROUP_NONE = {"item": N_("Unnamed service"), "department": N_("No department"), "staff": N_("Not assigned"),
              "subcontractor": N_("Provided by a department")}
group_label = labeller(GROUP_NAMES)


def _satisfaction(value: str | None) -> float | None:
    return float(value) if value is not None else None


def _share(r: dict[str, Any]) -> float | None:
    return round(r["on_time"] * 100 / r["orders"], 1) if r["orders"] else None


def quality_columns(by: str) -> list[exports.Column]:
    return [
        exports.Column(GROUP_NAMES[by], lambda r: r["name"], 24),
        exports.Column(N_("Orders"), lambda r: r["orders"], 10),
        exports.Column(N_("Rated at the return visit"), lambda r: r["rated"], 12),
        exports.Column(N_("Mean satisfaction"), lambda r: _satisfaction(r["satisfaction"]), 12),
        exports.Column(N_("Bad ratings (2 or less)"), lambda r: r["bad"], 12),
        exports.Column(N_("Reworks"), lambda r: r["rework"], 10),
        exports.Column(N_("Complaints"), lambda r: r["complaints"], 10),
        exports.Column(N_("Done on time"), lambda r: r["on_time"], 10),
        exports.Column(N_("On-time share (%)"), _share, 12),
    ]


@get("/catalogue/quality", opt={"permission": Perm.CATALOGUE_READ}, include_in_schema=False)
async def quality_page(request: Request[Any, Any, Any], since: Filter = None, until: Filter = None,
                       by: Filter = None, format: Filter = None) -> Response[Any]:
    """The orders booked in the period (this month so far by default) grouped by `by`; `?format=xlsx` downloads
    the same figures for the staff appraisal."""
    principal = me(request)
    today = await company_today()
    group = by if by in GROUP_NAMES else "item"
    form = {"since": (since or "").strip()[:10] or today.replace(day=1).isoformat(),
            "until": (until or "").strip()[:10] or today.isoformat(), "by": group}
    errors: dict[str, str] = {}
    first = typed_day(form["since"], "since", errors)
    last = typed_day(form["until"], "until", errors)
    rows: list[dict[str, Any]] = []
    if first is not None and last is not None:
        try:
            rows = await service.quality(principal, since=first, until=last, by=group)
        except AppError as exc:
            errors = {**field_errors(exc, ("since", "until", "by")), **errors}
    shown = [{**r, "name": r["label"] or _(GROUP_NONE[group]), "share": percent(r["on_time"], r["orders"])}
             for r in rows]
    if format == "xlsx" and not errors:
        return await exports.xlsx(f"service-quality-{group}-{form['since']}-{form['until']}.xlsx",
                                  f"{_('Service quality')} {form['since']}", quality_columns(group),
                                  exports.all_rows(shown))
    totals = {k: sum(r[k] for r in rows) for k in ("orders", "rated", "bad", "rework", "complaints", "on_time")}
    rated = [r for r in rows if r["rated"] and r["satisfaction"] is not None]
    mean = (sum(float(r["satisfaction"]) * r["rated"] for r in rated) / sum(r["rated"] for r in rated)
            if rated else None)
    return ops_page(request, "catalogue/ops_quality.html", status_code=422 if errors else 200, rows=shown,
                    form=form, errors=errors, groups=[(g, group_label(g)) for g in GROUP_NAMES],
                    group_name=group_label(group), totals=totals, mean=mean,
                    share=percent(totals["on_time"], totals["orders"]),
                    export="?" + urlencode({**form, "format": "xlsx"}),
                    last_month="?" + urlencode({"since": (today.replace(day=1) - timedelta(days=1)).replace(
                        day=1).isoformat(), "until": (today.replace(day=1) - timedelta(days=1)).isoformat(),
                        "by": group}))


ROUTES: list[Any] = [figures_page, review_detail, review_decide, quality_page]
