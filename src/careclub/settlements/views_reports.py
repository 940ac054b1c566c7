"""The settlements' figures on a page: `/settlements/reports?year=&project=` — per project a table of each month
and cost type's approved budget, confirmed actual, what awaits confirmation and the variance, the year's totals
against the approved annual budget, a chart of the months, and the settlements still to be approved with their
due dates (overdue marked); `?format=xlsx` downloads the table. And `/settlements/{id}/application.xlsx`: a
month's settlement as the guide's form 《物业前期介入费用申请》, section by section, with the fee, the total and the
countersign chain's signatures.

Every figure is the service's (service/_reports.py); the pages only name and arrange them. Fixed labels go through
gettext; names, payees and notes people typed are shown as typed (the templates escape them)."""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request, Response, get
from litestar.params import FromPath
from litestar.response import Template
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.worksheet import Worksheet

from careclub.core import clock
from careclub.core.error_messages import form_errors
from careclub.core.errors import AppError
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.core.money import money_text
from careclub.platform.permissions import Perm
from careclub.platform.service import company_today
from careclub.platform.views import page
from careclub.platform.views_admin._common import me
from careclub.settlements import service
from careclub.settlements.service import _reports
from careclub.settlements.service._common import reader
from careclub.settlements.views_pages_common import Filter, cost_type_label, settlement_status_label
from careclub.web import exports
from careclub.web.charts import Chart, Series, is_empty, spec

STATUS_PILLS = {"draft": "status-draft", "in_review": "change-changed", "returned": "status-returned",
                "approved": "status-approved", "rejected": "status-rejected"}
DECISION_NAMES = {"approve": N_("Approved"), "reject": N_("Rejected"), "return": N_("Returned")}
decision_label = labeller(DECISION_NAMES)


def days_text(days_left: int) -> str:
    if days_left < 0:
        return _("%(num)s days overdue") % {"num": -days_left}
    if days_left == 0:
        return _("due today")
    return _("%(num)s days left") % {"num": days_left}


def settlements_page(request: Request[Any, Any, Any], template: str, status_code: int = 200, **ctx: Any) -> Template:
    currency = me(request).tenant.currency
    return page(request, template, status_code=status_code, cost_type_label=cost_type_label,
                status_label=settlement_status_label, status_pill=STATUS_PILLS.get, days_text=days_text,
                money_text=lambda minor: money_text(minor, currency), **ctx)


# ---- budget against actual -----------------------------------------------------------------------

REPORT_COLUMNS = [
    exports.Column(N_("Project code"), lambda r: r["project"], 12),
    exports.Column(N_("Project"), lambda r: r["project_name"], 20),
    exports.Column(N_("Month"), lambda r: r["month"], 10),
    exports.Column(N_("Cost type"), lambda r: cost_type_label(r["cost_type"]), 20),
    exports.Column(N_("Approved budget"), lambda r: exports.Money(r["budget"]), 14),
    exports.Column(N_("Confirmed"), lambda r: exports.Money(r["actual"]), 14),
    exports.Column(N_("Awaiting confirmation"), lambda r: exports.Money(r["pending"]), 14),
    exports.Column(N_("Variance (budget − confirmed)"), lambda r: exports.Money(r["variance"]), 16),
]


def _month_chart(report: dict[str, Any], year: int, currency: str) -> dict[str, Any]:
    months = [f"{year:04d}-{m:02d}" for m in range(1, 13)]
    sums = {m: {"budget": 0, "actual": 0, "pending": 0} for m in months}
    for p in report["projects"]:
        for m in p["months"]:
            for k in ("budget", "actual", "pending"):
                sums[m["month"]][k] += m[k]
    chart = Chart(kind="bar", categories=months, money=currency,
                  series=[Series(name=_("Approved budget"), data=[sums[m]["budget"] for m in months]),
                          Series(name=_("Confirmed"), data=[sums[m]["actual"] for m in months]),
                          Series(name=_("Awaiting confirmation"), data=[sums[m]["pending"] for m in months])])
    return {"id": "budget-vs-actual", "caption": _("Budget and actual cost by month"), "category": _("Month"),
            "spec": spec(chart), "empty": is_empty(chart), "link": None, "link_text": None, "note": None}


@get("/settlements/reports", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def report_page(request: Request[Any, Any, Any], year: Filter = None, project: Filter = None,
                      format: Filter = None) -> Response[Any]:
    """Budget against actual per project, cost type and month of the year; the settlements still to be approved;
    `?format=xlsx` downloads the table."""
    principal = me(request)
    reader(principal)
    today = await company_today()
    form = {"year": (year or "").strip()[:4] or str(today.year), "project": (project or "").strip()[:64]}
    errors: dict[str, str] = {}
    chosen = today.year
    if form["year"].isdigit() and 2000 <= int(form["year"]) <= 2100:
        chosen = int(form["year"])
    else:
        errors["year"] = _("Type a year from 2000 to 2100, like %(year)s.") % {"year": today.year}
    report: dict[str, Any] = {"year": chosen, "projects": [], "total": None}
    due: list[dict[str, Any]] = []
    if not errors:
        try:
            report = await _reports.budget_vs_actual(principal, year=chosen, project=form["project"] or None)
            due = await _reports.due_settlements(principal, project=form["project"] or None)
        except AppError as exc:
            errors = form_errors(exc, ("year", "project"))
    if format == "xlsx" and not errors:
        rows = [{**r, "project": p["code"], "project_name": p["name"]} for p in report["projects"] for r in p["rows"]]
        suffix = f"-{form['project']}" if form["project"] else ""
        return await exports.xlsx(f"settlement-budget-vs-actual-{chosen}{suffix}.xlsx",
                                  f"{_('Budget against actual')} {chosen}", REPORT_COLUMNS, exports.all_rows(rows))
    currency = principal.tenant.currency
    query = {k: v for k, v in form.items() if v}
    return settlements_page(
        request, "settlements/reports.html", status_code=422 if errors else 200, report=report, due=due,
        form=form, errors=errors, year=chosen, projects=await service.list_projects(principal),
        figure=_month_chart(report, chosen, currency), export="?" + urlencode({**query, "format": "xlsx"}),
        previous="?" + urlencode({**query, "year": chosen - 1}),
        following="?" + urlencode({**query, "year": chosen + 1}),
        overdue=sum(1 for d in due if d["overdue"]))


# ---- the month's application form ----------------------------------------------------------------

_THIN = Side(style="thin", color="999999")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_BAND = PatternFill("solid", fgColor="E8EEF5")
_MONEY_FORMAT = "#,##0.00"
_DATE_FORMAT = "yyyy-mm-dd"
_WIDTHS = {"A": 8, "B": 14, "C": 26, "D": 44, "E": 16}


def _yuan(minor: int) -> Decimal:
    return (Decimal(minor) / 100).quantize(Decimal("0.01"))


class _Sheet:
    """Writes the form row by row: five columns (no., date, payee, evidence, amount)."""

    def __init__(self, ws: Worksheet) -> None:
        self.ws = ws
        self.n = 0

    def row(self, *values: Any, bold: bool = False, band: bool = False, merge_to: str | None = None,
            money_col: str | None = "E") -> int:
        self.n += 1
        for col, value in zip("ABCDE", values, strict=False):
            if value is None:
                continue
            cell = self.ws[f"{col}{self.n}"]
            if isinstance(value, datetime):
                local = clock.local(value)
                cell.value = local.replace(tzinfo=None) if local else None
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(value, date):
                cell.value = value
                cell.number_format = _DATE_FORMAT
            elif isinstance(value, Decimal):
                cell.value = value
                cell.number_format = _MONEY_FORMAT
            else:
                cell.value = value
            if bold:
                cell.font = Font(bold=True)
            cell.alignment = Alignment(vertical="top", wrap_text=True)
        for col in "ABCDE":
            cell = self.ws[f"{col}{self.n}"]
            cell.border = _BOX
            if band:
                cell.fill = _BAND
        if merge_to:
            self.ws.merge_cells(f"A{self.n}:{merge_to}{self.n}")
        return self.n

    def label_value(self, label: str, value: Any, *, bold: bool = False) -> int:
        """A label over columns A–D and its value in E (money), or over A–B and the value merged over C–E."""
        if isinstance(value, Decimal):
            n = self.row(label, None, None, None, value, bold=bold)
            self.ws.merge_cells(f"A{n}:D{n}")
            return n
        n = self.row(label, None, value, bold=bold)
        self.ws.merge_cells(f"A{n}:B{n}")
        self.ws.merge_cells(f"C{n}:E{n}")
        return n

    def gap(self) -> None:
        self.n += 1


def application_workbook(form: dict[str, Any], company: str) -> bytes:
    """The settlement as the guide's form 《物业前期介入费用申请》: money as numbers with two places."""
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = str(form["number"])[:31] or "Sheet1"
    for col, width in _WIDTHS.items():
        ws.column_dimensions[col].width = width
    s = _Sheet(ws)
    n = s.row(_("Early-involvement cost application"), bold=True, merge_to="E")
    ws[f"A{n}"].font = Font(bold=True, size=14)
    ws[f"A{n}"].alignment = Alignment(horizontal="center")
    s.label_value(_("Company"), company)
    s.label_value(_("Project"), f"{form['project_name']} ({form['project']})")
    s.label_value(_("Month"), form["month"])
    s.label_value(_("Number"), form["number"])
    s.label_value(_("To be approved by"), form["due_on"])
    s.label_value(_("Status"), settlement_status_label(form["status"]))
    for section in form["sections"]:
        s.gap()
        s.row(f"{section['form']} · {cost_type_label(section['cost_type'])}", bold=True, band=True, merge_to="E")
        s.row(_("No."), _("Date paid"), _("Payee"), _("Evidence"), _("Amount"), bold=True)
        for i, p in enumerate(section["payments"], start=1):
            s.row(i, p["paid_on"], p["payee"], p["evidence"], _yuan(p["amount"]))
        if not section["payments"]:
            n = s.row(_("No payment of this type."))
            ws.merge_cells(f"A{n}:E{n}")
        n = s.row(_("Subtotal"), None, None, None, _yuan(section["subtotal"]), bold=True)
        ws.merge_cells(f"A{n}:D{n}")
    s.gap()
    s.row(_("Adjustments carried in"), bold=True, band=True, merge_to="E")
    s.row(_("No."), _("Corrects"), _("Cost type"), _("Reason"), _("Amount"), bold=True)
    for i, a in enumerate(form["adjustments_taken"], start=1):
        s.row(i, a["month"], cost_type_label(a["cost_type"]), a["reason"], _yuan(a["amount"]))
    n = s.row(_("Subtotal"), None, None, None, _yuan(form["adjustments"]), bold=True)
    ws.merge_cells(f"A{n}:D{n}")
    s.gap()
    s.label_value(_("Approved budget of the month"), _yuan(form["budget_total"]))
    s.label_value(_("Confirmed cost"), _yuan(form["confirmed_cost"]), bold=True)
    s.label_value(_("Management fee (%(rate)s %%)") % {"rate": service.rate_text(form["fee_rate_bp"])},
                  _yuan(form["management_fee"]), bold=True)
    s.label_value(_("Total"), _yuan(form["total"]), bold=True)
    s.gap()
    s.row(_("Countersignatures"), bold=True, band=True, merge_to="E")
    s.row(_("No."), _("Step"), _("Signed by"), _("Decision"), _("When"), bold=True)
    for step in form["signatures"]:
        if not step["signed"]:
            s.row(step["position"] + 1, step["name"], "—", _("Not signed yet"), None)
        for signed in step["signed"]:
            who = signed["name"]
            if signed["on_behalf_of"]:
                who = _("%(name)s for %(other)s") % {"name": who, "other": signed["on_behalf_of"]}
            s.row(step["position"] + 1, step["name"], who, decision_label(signed["decision"]), signed["at"])
    if not form["signatures"]:
        n = s.row(_("Not sent for approval yet."))
        ws.merge_cells(f"A{n}:E{n}")
    ws.print_options.horizontalCentered = True
    ws.page_setup.fitToWidth = 1
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@get("/settlements/{settlement_id:uuid}/application.xlsx", opt={"permission": Perm.AUTHENTICATED},
     include_in_schema=False)
async def application_xlsx(request: Request[Any, Any, Any], settlement_id: FromPath[uuid.UUID]) -> Response[bytes]:
    """The month's settlement as the guide's application form, for whoever may read the settlement (else 404)."""
    principal = me(request)
    reader(principal)
    form = await _reports.application(principal, settlement_id)
    content = application_workbook(form, principal.tenant.name)
    return Response(content, media_type=exports.XLSX, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote('application-' + form['number'] + '.xlsx')}",
        "Cache-Control": "no-store"})


ROUTES: list[Any] = [report_page, application_xlsx]
