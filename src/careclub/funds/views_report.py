"""The supervision report (监督评价报告) finance produces for the leadership on one fund's year: money in by
source, the approved plan against what was committed and spent (by category, by month, with a chart),
requests by status, reimbursed claims, open commitments, overdue accrual periods and the trial balance.
Printable (the print stylesheet drops the navigation) and downloadable as one Excel sheet of the plan
lines: category, month, planned, committed, spent, remaining."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.params import FromPath, QueryParameter

from careclub.core import clock
from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _
from careclub.funds import service
from careclub.funds.views_common import funds_page
from careclub.funds.views_plans import category_label, month_name, spending_labels
from careclub.platform.permissions import Perm
from careclub.platform.views_admin._common import me
from careclub.web import exports
from careclub.web.charts import Chart, Series, is_empty, spec

Filter = Annotated[str | None, QueryParameter(max_length=120)]

EXPORT_COLUMNS = [
    exports.Column(N_("Category"), lambda r: category_label(r["category"]), 20),
    exports.Column(N_("Month"), lambda r: r["month"], 8),
    exports.Column(N_("Planned"), lambda r: exports.Money(r["planned"]), 16),
    exports.Column(N_("Committed"), lambda r: exports.Money(r["committed"]), 16),
    exports.Column(N_("Spent"), lambda r: exports.Money(r["spent"]), 16),
    exports.Column(N_("Remaining"), lambda r: exports.Money(r["remaining"]), 16),
]


def month_figure(by_month: list[dict[str, Any]], currency: str) -> dict[str, Any]:
    """Planned per month beside committed and spent per month, January to December."""
    chart = Chart(kind="bar", money=currency, categories=[month_name(m["month"]) for m in by_month], series=[
        Series(name=_("Planned"), data=[m["planned"] for m in by_month]),
        Series(name=_("Committed and spent"), data=[m["committed"] + m["spent"] for m in by_month])])
    return {"id": "plan-vs-actual", "caption": _("Planned and used by month"), "category": _("Month"),
            "spec": spec(chart), "empty": is_empty(chart), "link": None, "link_text": None,
            "note": _("Used: what approved requests committed or spent; a request in the plan counts in its "
                      "line's month.")}


@get("/funds/{fund_id:uuid}/report", opt={"permission": Perm.FINANCE_READ}, include_in_schema=False)
async def report(request: Request[Any, Any, Any], fund_id: FromPath[uuid.UUID], format: Filter = None
                 ) -> Response[Any]:
    principal = me(request)
    fund = await service.get_fund(principal, fund_id)
    today = await service.today()
    data = await service.fund_report(fund_id, today=today)
    if format == "xlsx":
        stamp = f"{clock.local(clock.now()):%Y%m%d}"
        return await exports.xlsx(f"report-{fund['code']}-{fund['year']}-{stamp}.xlsx",
                                  f"{fund['code']} {fund['year']}", EXPORT_COLUMNS, exports.all_rows(data["lines"]))
    plan = await service.approved_plan(fund_id)
    trial = await service.running_check(fund_id)  # the recount from every posting: the overview's check
    return funds_page(request, "funds/report.html", fund=fund, r=data, plan=plan, trial=trial, today=today,
                      b=fund["balances"], figure=month_figure(data["by_month"], principal.tenant.currency),
                      now=clock.now(), **spending_labels())


ROUTES: list[Any] = [report]
