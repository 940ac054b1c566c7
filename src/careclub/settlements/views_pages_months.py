"""The month's settlements for the staff: the list (`/settlements/months`, filters, Excel download) with the form
that compiles a project's month, and a settlement's page (`/settlements/{id}`, where the approval core links it):
the costs by type, the corrections carried in, the fee and the total, its due date, the payments it takes with
their evidence, a warning while payments of the month still await confirmation, "Send for approval" /
"Withdraw", and once approved the form of a correction, which goes into the next month."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from careclub.core.errors import AppError, NotFound
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.core.principal import Principal
from careclub.platform import attachments
from careclub.platform.permissions import Perm
from careclub.platform.views_admin._common import Form, clean, me
from careclub.settlements import rules, service
from careclub.settlements.views_pages_budgets import deciding
from careclub.settlements.views_pages_common import (
    FILL_IN,
    Filter,
    act,
    approval_view,
    cost_type_choices,
    field_errors,
    is_overdue,
    may_read,
    month_of,
    not_found,
    projects_for,
    reader,
    refused_status,
    settlement_status_label,
    settlements_page,
    stamp,
    today,
    typed_money,
    typed_month,
)
from careclub.settlements.views_pages_payments import OWNER
from careclub.web import exports

COMPILE_FIELDS = ("project", "month")
ADJUST_FIELDS = ("cost_type", "direction", "amount", "reason")
STATUSES = ("draft", "in_review", "returned", "approved", "rejected")
DONE = {"compiled": N_("The month is compiled from the payments confirmed so far. Send it for approval when it is "
                       "complete."),
        "submitted": N_("The settlement is sent round its countersign chain."),
        "withdrawn": N_("The settlement is withdrawn from approval."),
        "adjusted": N_("The correction is recorded: it goes into the next month's settlement."),
        "unadjusted": N_("The correction is taken back.")}
done_text = labeller(DONE)
DIRECTION_NAMES = {"add": N_("Add to the cost"), "take": N_("Take off the cost")}
direction_label = labeller(DIRECTION_NAMES)


EXPORT_COLUMNS = [
    exports.Column(N_("Number"), lambda r: r["number"], 18),
    exports.Column(N_("Project"), lambda r: f"{r['project_name']} ({r['project']})", 22),
    exports.Column(N_("Month"), lambda r: r["month"], 10),
    exports.Column(N_("Status"), lambda r: settlement_status_label(r["status"]), 12),
    exports.Column(N_("Staff positions and cost"), lambda r: exports.Money(r["cost_staff"]), 14),
    exports.Column(N_("Administration costs"), lambda r: exports.Money(r["cost_admin"]), 14),
    exports.Column(N_("Purchases"), lambda r: exports.Money(r["cost_purchase"]), 14),
    exports.Column(N_("Special work"), lambda r: exports.Money(r["cost_special"]), 14),
    exports.Column(N_("Corrections carried in"), lambda r: exports.Money(r["adjustments"]), 14),
    exports.Column(N_("Confirmed cost"), lambda r: exports.Money(r["confirmed_cost"]), 14),
    exports.Column(N_("Management fee"), lambda r: exports.Money(r["management_fee"]), 14),
    exports.Column(N_("Total"), lambda r: exports.Money(r["total"]), 14),
    exports.Column(N_("Due on"), lambda r: r["due_on"], 12),
    exports.Column(N_("Approved"), lambda r: r["approved_at"], 18),
    exports.Column(N_("Approved late"), lambda r: _("yes") if r["late"] else "", 10),
]


# ---- the list and compiling ---------------------------------------------------------------------

async def _list_page(request: Request[Any, Any, Any], *, project: str | None = None, month: str | None = None,
                     status: str | None = None, status_code: int = 200, compile_form: dict[str, str] | None = None,
                     errors: dict[str, str] | None = None) -> Template:
    principal = me(request)
    projects = await projects_for(principal)
    form = {"project": project if project in {p["code"] for p in projects} else "",
            "month": rules.month_text(m) if (m := month_of(month)) else "",
            "status": status if status in STATUSES else ""}
    rows = await service.list_settlements(principal, project=form["project"] or None, month=month_of(form["month"]),
                                          status=form["status"] or None)
    day = await today()
    preparing = await projects_for(principal, Perm.SETTLEMENTS_PREPARE)
    last = rules.month_start(day).toordinal() - 1
    default_month = rules.month_text(rules.month_start(date.fromordinal(last)))
    query = {k: v for k, v in form.items() if v}
    return settlements_page(
        request, "settlements/months.html", status_code=status_code, rows=[{**r, "overdue": is_overdue(r, day)}
                                                                           for r in rows],
        form=form, projects=[(p["code"], p["name"]) for p in projects],
        statuses=[(s, settlement_status_label(s)) for s in STATUSES],
        export="?" + urlencode({**query, "format": "xlsx"}),
        preparing=[(p["code"], f"{p['name']} ({p['code']})") for p in preparing],
        compile_form=compile_form or {"project": preparing[0]["code"] if len(preparing) == 1 else "",
                                      "month": default_month},
        errors=errors or {})


@get("/settlements/months", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def month_list(request: Request[Any, Any, Any], project: Filter = None, month: Filter = None,
                     status: Filter = None, format: Filter = None) -> Response[Any]:
    """The settlements of the projects in reach, newest month first; `?format=xlsx` downloads the same list."""
    principal = me(request)
    reader(principal)
    if format == "xlsx":
        projects = await projects_for(principal)
        code = project if project in {p["code"] for p in projects} else None
        rows = await service.list_settlements(principal, project=code, month=month_of(month),
                                              status=status if status in STATUSES else None, limit=10_000)
        return await exports.xlsx(f"settlements-{stamp()}.xlsx", str(_("Settlements")), EXPORT_COLUMNS,
                                  exports.all_rows(rows))
    return await _list_page(request, project=project, month=month, status=status)


@post("/settlements/months", opt={"permission": Perm.SETTLEMENTS_PREPARE}, include_in_schema=False)
async def month_compile(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    """Compile (or compile again) a project's month from its confirmed payments, as a draft."""
    principal = me(request)
    reader(principal)
    form = clean(data, *COMPILE_FIELDS)
    errors: dict[str, str] = {}
    month = typed_month(form["month"], "month", errors)
    for name in COMPILE_FIELDS:
        if not form[name]:
            errors[name] = _(FILL_IN)
    if errors or month is None:
        return await _list_page(request, status_code=422, compile_form=form, errors=errors)
    try:
        row = await service.compile_settlement(principal, project=form["project"][:64], month=month)
    except AppError as exc:
        return await _list_page(request, status_code=refused_status(exc), compile_form=form,
                                errors=field_errors(exc, COMPILE_FIELDS))
    return Redirect(f"/settlements/{row['id']}?done=compiled", status_code=303)


# ---- a settlement's page ------------------------------------------------------------------------

async def readable_settlement(principal: Principal, settlement_id: uuid.UUID) -> dict[str, Any]:
    """The settlement for those whose settlements rights reach its project, and for those deciding it."""
    if principal.kind == "staff":
        if may_read(principal):
            try:
                return await service.get_settlement(principal, settlement_id)
            except NotFound:
                pass
        row = await service.get_settlement(None, settlement_id)
        if await deciding(principal, row["approval_request"]):
            return row
    raise NotFound("no such settlement", code="settlement_not_found")


async def _settlement_page(request: Request[Any, Any, Any], settlement_id: uuid.UUID, *, status_code: int = 200,
                           form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                           notice: str | None = None) -> Template:
    principal = me(request)
    row = await readable_settlement(principal, settlement_id)
    unit = await service.project_unit(None, row["project_id"])
    may_prepare = principal.kind == "staff" and principal.covers(Perm.SETTLEMENTS_PREPARE, unit["path"])
    files = {p["id"]: await attachments.list_for(OWNER, p["id"]) for p in row["payments"]}
    costs = [(t, row[f"cost_{t}"]) for t in rules.COST_TYPES]
    return settlements_page(
        request, "settlements/settlement.html", status_code=status_code,
        approval=await approval_view(principal, row["approval_request"]), s=row, costs=costs, files=files,
        overdue=is_overdue(row, await today()), above_budget=row["confirmed_cost"] > row["budget_total"],
        may_submit=may_prepare and row["status"] in ("draft", "returned"),
        may_compile=may_prepare and row["status"] in ("draft", "returned", "rejected"),
        may_withdraw=may_prepare and row["status"] in ("in_review", "returned") and bool(row["approval_request"]),
        may_adjust=may_prepare and row["status"] == "approved",
        form=form or {"direction": "add"}, errors=errors or {}, notice=notice, cost_types=cost_type_choices(),
        directions=[(d, direction_label(d)) for d in DIRECTION_NAMES],
        next_month=rules.month_text(rules.next_month(rules.parse_month(row["month"]))))


@get("/settlements/{settlement_id:uuid}", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def settlement_detail(request: Request[Any, Any, Any], settlement_id: FromPath[uuid.UUID],
                            done: Filter = None) -> Template:
    return await _settlement_page(request, settlement_id, notice=done_text(done) if done in DONE else None)


@post("/settlements/{settlement_id:uuid}/compile", opt={"permission": Perm.SETTLEMENTS_PREPARE},
      include_in_schema=False)
async def settlement_compile(request: Request[Any, Any, Any], settlement_id: FromPath[uuid.UUID]) -> Response[Any]:
    """Compile the month again from what is confirmed now."""
    principal = me(request)
    row = await readable_settlement(principal, settlement_id)
    return await act(lambda: service.compile_settlement(principal, project=row["project_id"],
                                                        month=rules.parse_month(row["month"])),
                     _redraw(request, settlement_id), f"/settlements/{settlement_id}?done=compiled")


@post("/settlements/{settlement_id:uuid}/submit", opt={"permission": Perm.SETTLEMENTS_PREPARE},
      include_in_schema=False)
async def settlement_submit(request: Request[Any, Any, Any], settlement_id: FromPath[uuid.UUID]) -> Response[Any]:
    """Compile once more and send the month round the countersign chain."""
    principal = me(request)
    await readable_settlement(principal, settlement_id)
    return await act(lambda: service.submit_settlement(principal, settlement_id), _redraw(request, settlement_id),
                     f"/settlements/{settlement_id}?done=submitted")


@post("/settlements/{settlement_id:uuid}/withdraw", opt={"permission": Perm.SETTLEMENTS_PREPARE},
      include_in_schema=False)
async def settlement_withdraw(request: Request[Any, Any, Any], settlement_id: FromPath[uuid.UUID]) -> Response[Any]:
    principal = me(request)
    await readable_settlement(principal, settlement_id)
    return await act(lambda: service.withdraw_settlement(principal, settlement_id), _redraw(request, settlement_id),
                     f"/settlements/{settlement_id}?done=withdrawn")


def _redraw(request: Request[Any, Any, Any], settlement_id: uuid.UUID) -> Any:
    return lambda status, errors: _settlement_page(request, settlement_id, status_code=status, errors=errors)


@post("/settlements/{settlement_id:uuid}/adjustments", opt={"permission": Perm.SETTLEMENTS_PREPARE},
      include_in_schema=False)
async def settlement_adjust(request: Request[Any, Any, Any], settlement_id: FromPath[uuid.UUID],
                            data: Form) -> Response[Any]:
    """Correct an approved settlement: the correction (added to or taken off a cost type) goes into the next
    month's settlement; this one stays as approved. The direction is chosen, never typed: a signed amount is
    refused (a minus under "add" would have taken off)."""
    principal = me(request)
    await readable_settlement(principal, settlement_id)
    form = clean(data, *ADJUST_FIELDS)
    errors: dict[str, str] = {}
    typed = form["amount"]
    negative = typed.startswith("-") or typed.startswith("−")
    amount = typed_money(typed.lstrip("-−").strip(), "amount", errors)
    if not typed:
        errors["amount"] = _(FILL_IN)
    elif negative or typed.startswith("+"):
        errors["amount"] = _("Give the amount without a sign: choose whether it is added or taken off.")
    if form["direction"] not in DIRECTION_NAMES:
        errors["direction"] = _("Choose from the list.")
    signed = (amount or 0) * (-1 if form["direction"] == "take" else 1)
    try:
        if errors:
            # the service's own checks too, so every problem shows at once (nothing is written: it refuses first
            # or, should it not, the page's own problems stop the write below)
            await service.add_adjustment(principal, settlement_id, cost_type=form["cost_type"], amount=0,
                                         reason=form["reason"])
        else:
            await service.add_adjustment(principal, settlement_id, cost_type=form["cost_type"], amount=signed,
                                         reason=form["reason"][:2000])
    except AppError as exc:
        errors = {**field_errors(exc, ADJUST_FIELDS), **errors}
        return await _settlement_page(request, settlement_id, status_code=refused_status(exc), form=form,
                                      errors=errors)
    return Redirect(f"/settlements/{settlement_id}?done=adjusted", status_code=303)


@post("/settlements/adjustments/{adjustment_id:uuid}/remove", opt={"permission": Perm.SETTLEMENTS_PREPARE},
      include_in_schema=False)
async def adjustment_remove(request: Request[Any, Any, Any], adjustment_id: FromPath[uuid.UUID]) -> Response[Any]:
    """Take back a correction made by mistake (until a month in approval or approved has taken it)."""
    from careclub.core.error_messages import error_text
    from careclub.settlements.tables import SettlementAdjustment

    principal = me(request)
    found = await SettlementAdjustment.select(SettlementAdjustment.corrects).where(
        SettlementAdjustment.id == adjustment_id).first()
    if found is None:
        raise not_found()
    try:
        await service.remove_adjustment(principal, adjustment_id)
    except AppError as exc:
        if exc.status_code == 404:
            raise
        return await _settlement_page(request, found["corrects"], status_code=refused_status(exc),
                                      errors={"form": error_text(exc)})
    return Redirect(f"/settlements/{found['corrects']}?done=unadjusted", status_code=303)


ROUTES: list[Any] = [month_list, month_compile, settlement_detail, settlement_compile, settlement_submit,
                     settlement_withdraw, settlement_adjust, adjustment_remove]
