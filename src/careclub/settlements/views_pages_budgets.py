"""Budget forms for the staff: the list (`/settlements/budgets`, its filters, pages and Excel download), a new form
(`/settlements/budgets/new`: the property company's, an addition the developer's) with its lines typed in yuan,
and a form's page (`/settlements/budgets/{id}`, where the approval core links it): its lines with what is
confirmed, pending and left of each, the form while it is a draft or returned, "Send for approval", "Withdraw",
and for the property company a "Record a payment" link on each line of an approved form.

Every problem of a form is shown at once beside its field; "More lines" draws the form again with more rows
(no script: every page works without one)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from careclub.approvals import service as approvals_service
from careclub.core.errors import AppError, Forbidden, NotFound
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.core.money import format_grouped
from careclub.core.principal import Principal
from careclub.platform.permissions import Perm
from careclub.platform.views_admin._common import PER_PAGE, Form, PageNo, as_uuid, clean, me, pager
from careclub.settlements import rules, service
from careclub.settlements.views_pages_common import (
    CHOOSE,
    FILL_IN,
    Filter,
    act,
    approval_view,
    budget_status_label,
    cost_type_choices,
    cost_type_label,
    field_errors,
    kind_choices,
    kind_label,
    may_read,
    month_of,
    projects_for,
    reader,
    refused_status,
    settlements_page,
    stage_label,
    stamp,
    today,
    typed_money,
    typed_month,
)
from careclub.web import exports

BUDGET_STATUSES = ("draft", "in_review", "returned", "approved", "rejected", "withdrawn")
HEAD_FIELDS = ("project", "phase", "kind", "cost_type", "month", "title", "note")
LINE_FIELDS = ("description", "quantity", "amount", "line_type")
START_ROWS = 8
MORE_ROWS = 5
DONE = {"created": N_("The budget is saved as a draft. Send it for approval when it is complete."),
        "saved": N_("The draft is saved."),
        "submitted": N_("The budget is sent for approval."),
        "withdrawn": N_("The budget is withdrawn from approval.")}
done_text = labeller(DONE)


def perm_for(kind: str) -> Perm:
    """Additions are started by the developer's side (§3.2.6); every other form by the property company's."""
    return Perm.SETTLEMENTS_CONFIRM if kind == "addition" else Perm.SETTLEMENTS_PREPARE


# ---- the list -----------------------------------------------------------------------------------

EXPORT_COLUMNS = [
    exports.Column(N_("Number"), lambda r: r["number"], 20),
    exports.Column(N_("Project"), lambda r: f"{r['project_name']} ({r['project']})", 22),
    exports.Column(N_("Kind"), lambda r: kind_label(r["kind"]), 22),
    exports.Column(N_("Cost type"), lambda r: cost_type_label(r["cost_type"]) if r["cost_type"] else "", 18),
    exports.Column(N_("Month"), lambda r: r["month"], 10),
    exports.Column(N_("Title"), lambda r: r["title"], 30),
    exports.Column(N_("Stage"), lambda r: stage_label(r["stage"]), 14),
    exports.Column(N_("Status"), lambda r: budget_status_label(r["status"]), 12),
    exports.Column(N_("Total"), lambda r: exports.Money(r["total"]), 14),
    exports.Column(N_("Written by"), lambda r: r["requested_by_name"], 16),
    exports.Column(N_("Sent for approval"), lambda r: r["submitted_at"], 18),
    exports.Column(N_("Decided"), lambda r: r["decided_at"], 18),
]


def _filters(projects: list[dict[str, Any]], project: str | None, month: str | None, kind: str | None,
             status: str | None) -> dict[str, str]:
    codes = {p["code"] for p in projects}
    return {"project": project if project and project in codes else "",
            "month": rules.month_text(m) if (m := month_of(month)) else "",
            "kind": kind if kind and kind in rules.KINDS else "",
            "status": status if status and status in BUDGET_STATUSES else ""}


@get("/settlements/budgets", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def budget_list(request: Request[Any, Any, Any], project: Filter = None, month: Filter = None,
                      kind: Filter = None, status: Filter = None, page_no: PageNo = 1,
                      format: Filter = None) -> Response[Any]:
    """The budget forms of the projects in reach, newest month first; `?format=xlsx` downloads the same list."""
    principal = me(request)
    reader(principal)
    projects = await projects_for(principal)
    form = _filters(projects, project, month, kind, status)
    filters: dict[str, Any] = {"project": form["project"] or None, "month": month_of(form["month"]),
                               "kind": form["kind"] or None, "status": form["status"] or None}
    if format == "xlsx":
        async def batches() -> AsyncIterator[list[dict[str, Any]]]:
            offset = 0
            while True:
                rows, _total = await service.list_budgets(principal, **filters, limit=500, offset=offset)
                if not rows:
                    return
                yield rows
                offset += len(rows)
                if offset >= 10_000:
                    return

        return await exports.xlsx(f"settlement-budgets-{stamp()}.xlsx", str(_("Budgets")), EXPORT_COLUMNS,
                                  batches())
    offset = min((page_no - 1) * PER_PAGE, 10_000)
    rows, total = await service.list_budgets(principal, **filters, limit=PER_PAGE, offset=offset)
    query = {k: v for k, v in form.items() if v}
    return settlements_page(
        request, "settlements/budgets.html", rows=rows, total=total, form=form,
        projects=[(p["code"], p["name"]) for p in projects], kinds=kind_choices(),
        statuses=[(s, budget_status_label(s)) for s in BUDGET_STATUSES],
        pages=pager(total, page_no, query), export="?" + urlencode({**query, "format": "xlsx"}),
        may_budget=principal.can(Perm.SETTLEMENTS_PREPARE) or principal.can(Perm.SETTLEMENTS_CONFIRM))


# ---- reading the form ---------------------------------------------------------------------------

def read_lines(data: dict[str, str], count: int, kind: str) -> tuple[dict[str, str], list[rules.LineIn],
                                                                     dict[int, int], dict[str, str]]:
    """The rows as typed (kept for the form drawn again), the lines for the service (empty rows left out), which
    row each line came from, and what could not be read at all."""
    form: dict[str, str] = {}
    lines: list[rules.LineIn] = []
    rows: dict[int, int] = {}
    errors: dict[str, str] = {}
    for i in range(count):
        row = {f: (data.get(f"{f}_{i}") or "").strip() for f in LINE_FIELDS}
        form.update({f"{f}_{i}": v for f, v in row.items()})
        if not (row["description"] or row["quantity"] or row["amount"]):
            continue
        amount = typed_money(row["amount"], f"amount_{i}", errors)
        if amount is None and f"amount_{i}" in errors:
            amount = 1  # unreadable: said once, beside the field, not again as "more than zero"
        rows[len(lines)] = i
        lines.append(rules.LineIn(description=row["description"][:300], amount=amount or 0,
                                  cost_type=(row["line_type"] or None) if kind == "annual" else None,
                                  quantity=row["quantity"][:40]))
    return form, lines, rows, errors


def rename_lines(rows: dict[int, int]) -> dict[str, str]:
    """The service's `lines[k].field` as the form's `field_i` of the row the line came from."""
    out = {}
    for k, i in rows.items():
        out.update({f"lines[{k}].description": f"description_{i}", f"lines[{k}].amount": f"amount_{i}",
                    f"lines[{k}].cost_type": f"line_type_{i}", f"lines[{k}].quantity": f"quantity_{i}"})
    return out


def line_fields(count: int) -> tuple[str, ...]:
    return tuple(f"{f}_{i}" for i in range(count) for f in LINE_FIELDS)


def form_problems(kind: str, cost_type: str | None, title: str, lines: list[rules.LineIn],
                  rows: dict[int, int], count: int) -> dict[str, str]:
    """The form's own rules (rules.check_form, check_title), beside the fields they name."""
    found = rules.check_form(kind, cost_type, lines) + rules.check_title(title)
    out: dict[str, str] = {}
    for error in found:
        out.update(field_errors(error, HEAD_FIELDS + line_fields(count), rename_lines(rows)))
    return out


def row_count(data: dict[str, str]) -> int:
    text = (data.get("rows") or "").strip()
    count = int(text) if text.isdigit() and len(text) < 4 else START_ROWS
    count = min(max(count, 1), rules.MAX_LINES)
    if (data.get("op") or "") == "more":
        count = min(count + MORE_ROWS, rules.MAX_LINES)
    return count


async def _phases(projects: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(str(ph["id"]), f"{p['name']} · {ph['name']} ({ph['code']})") for p in projects for ph in p["phases"]]


# ---- a new form ---------------------------------------------------------------------------------

async def _writable_projects(principal: Principal) -> list[dict[str, Any]]:
    return await projects_for(principal, Perm.SETTLEMENTS_PREPARE, Perm.SETTLEMENTS_CONFIRM)


def _kinds(principal: Principal) -> list[tuple[str, str]]:
    kinds = [k for k in rules.KINDS if principal.can(perm_for(k))]
    return kind_choices(tuple(kinds))


async def _new_page(request: Request[Any, Any, Any], form: dict[str, str], *, rows: int = START_ROWS,
                    errors: dict[str, str] | None = None, status_code: int = 200) -> Template:
    principal = me(request)
    projects = await _writable_projects(principal)
    return settlements_page(request, "settlements/budget_new.html", status_code=status_code, form=form,
                            errors=errors or {}, rows=rows, projects=[(p["code"], f"{p['name']} ({p['code']})")
                                                                       for p in projects],
                            phases=await _phases(projects), kinds=_kinds(principal), cost_types=cost_type_choices())


def _may_write(principal: Principal) -> None:
    if principal.kind != "staff" or not (principal.can(Perm.SETTLEMENTS_PREPARE) or
                                         principal.can(Perm.SETTLEMENTS_CONFIRM)):
        raise Forbidden("your roles do not include the permission %(needed)s", code="forbidden",
                        params={"needed": Perm.SETTLEMENTS_PREPARE})


@get("/settlements/budgets/new", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def budget_new(request: Request[Any, Any, Any], project: Filter = None, kind: Filter = None) -> Template:
    principal = me(request)
    _may_write(principal)
    projects = await _writable_projects(principal)
    kinds = [k for k, _label in _kinds(principal)]
    chosen = project if project in {p["code"] for p in projects} else (projects[0]["code"] if len(projects) == 1
                                                                          else "")
    form = {"project": chosen or "", "kind": kind if kind in kinds else ("monthly" if "monthly" in kinds else
                                                                         (kinds[0] if kinds else "")),
            "month": rules.month_text(await today())}
    return await _new_page(request, form)


@post("/settlements/budgets/new", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def budget_create(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    """A draft form with its lines (every problem at once, beside its field); `op=more` draws it with more rows."""
    principal = me(request)
    _may_write(principal)
    count = row_count(data)
    form = clean(data, *HEAD_FIELDS)
    kind = form["kind"]
    lines_form, lines, rows, errors = read_lines(data, count, kind)
    form.update(lines_form)
    if (data.get("op") or "") == "more":
        return await _new_page(request, form, rows=count)
    projects = await _writable_projects(principal)
    chosen = next((p for p in projects if p["code"] == form["project"]), None)
    if not form["project"]:
        errors["project"] = _(FILL_IN)
    elif chosen is None:
        errors["project"] = _(CHOOSE)
    phase = as_uuid(form["phase"])
    if form["phase"] and (phase is None or (chosen is not None and phase not in {ph["id"] for ph in
                                                                                   chosen["phases"]})):
        errors["phase"] = _("Choose a phase of the chosen project.")
    month = typed_month(form["month"], "month", errors)
    if not form["month"]:
        errors["month"] = _(FILL_IN)
    cost_type = form["cost_type"] or None
    errors = {**form_problems(kind, cost_type, form["title"], lines, rows, count), **errors}
    if errors:
        return await _new_page(request, form, rows=count, errors=errors, status_code=422)
    assert month is not None and chosen is not None
    try:
        budget = await service.create_budget(principal, project=chosen["id"], phase=phase, kind=kind,
                                             cost_type=cost_type, month=month, title=form["title"],
                                             note=form["note"][:4000], lines=lines)
    except AppError as exc:
        errors = field_errors(exc, HEAD_FIELDS + line_fields(count), rename_lines(rows))
        return await _new_page(request, form, rows=count, errors=errors, status_code=refused_status(exc))
    return Redirect(f"/settlements/budgets/{budget['id']}?done=created", status_code=303)


# ---- a form's page ------------------------------------------------------------------------------

async def deciding(principal: Principal, request_id: uuid.UUID | None) -> bool:
    """Whether the person may see the approval request (an approver, a delegate, an approvals manager)."""
    if request_id is None:
        return False
    try:
        await approvals_service.visible_request(request_id, principal.user_id,
                                                manage_scope=principal.scope(Perm.APPROVALS_MANAGE))
    except NotFound:
        return False
    return True


async def readable_budget(principal: Principal, budget_id: uuid.UUID) -> dict[str, Any]:
    """The form for those whose settlements rights reach its project, and for those deciding its approval."""
    if principal.kind == "staff":
        if may_read(principal):
            try:
                return await service.get_budget(principal, budget_id)
            except NotFound:
                pass
        budget = await service.get_budget(None, budget_id)
        if await deciding(principal, budget["approval_request"]):
            return budget
    raise NotFound("no such budget", code="budget_not_found")


def budget_form(budget: dict[str, Any]) -> dict[str, str]:
    form = {"title": budget["title"], "note": budget["note"], "cost_type": budget["cost_type"] or ""}
    for i, ln in enumerate(budget["lines"]):
        form.update({f"description_{i}": ln["description"], f"quantity_{i}": ln["quantity"],
                     f"amount_{i}": format_grouped(ln["amount"]), f"line_type_{i}": ln["cost_type"]})
    return form


async def _budget_page(request: Request[Any, Any, Any], budget_id: uuid.UUID, *, status_code: int = 200,
                       form: dict[str, str] | None = None, rows: int | None = None,
                       errors: dict[str, str] | None = None, notice: str | None = None) -> Template:
    principal = me(request)
    budget = await readable_budget(principal, budget_id)
    unit = await service.project_unit(None, budget["project_id"])
    may_act = principal.kind == "staff" and principal.covers(perm_for(budget["kind"]), unit["path"])
    may_pay = principal.kind == "staff" and principal.covers(Perm.SETTLEMENTS_PREPARE, unit["path"])
    editable = budget["status"] in rules.BUDGET_EDITABLE
    payments = await service.list_payments(None, budget=budget_id, limit=200)
    phase = None
    if budget["phase_id"] is not None:
        project = await service.get_project(None, budget["project_id"])
        phase = next((ph for ph in project["phases"] if ph["id"] == budget["phase_id"]), None)
    return settlements_page(
        request, "settlements/budget.html", status_code=status_code,
        approval=await approval_view(principal, budget["approval_request"]), budget=budget, phase=phase,
        payments=payments,
        may_act=may_act, may_pay=may_pay and budget["status"] == "approved", editable=editable,
        may_withdraw=may_act and budget["status"] in ("in_review", "returned") and bool(budget["approval_request"]),
        form=form if form is not None else budget_form(budget),
        rows=rows or max(len(budget["lines"]) + 3, START_ROWS), errors=errors or {}, notice=notice,
        cost_types=cost_type_choices(), confirmed=sum(ln["confirmed"] for ln in budget["lines"]),
        pending=sum(ln["pending"] for ln in budget["lines"]),
        remaining=sum(ln["remaining"] for ln in budget["lines"]))


@get("/settlements/budgets/{budget_id:uuid}", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def budget_detail(request: Request[Any, Any, Any], budget_id: FromPath[uuid.UUID],
                        done: Filter = None) -> Template:
    return await _budget_page(request, budget_id, notice=done_text(done) if done in DONE else None)


@post("/settlements/budgets/{budget_id:uuid}", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def budget_save(request: Request[Any, Any, Any], budget_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    """Change a draft or a returned form (every problem at once); `op=more` draws it again with more rows."""
    principal = me(request)
    budget = await readable_budget(principal, budget_id)
    count = row_count(data)
    form = clean(data, "title", "note", "cost_type")
    lines_form, lines, rows, errors = read_lines(data, count, budget["kind"])
    form.update(lines_form)
    if (data.get("op") or "") == "more":
        return await _budget_page(request, budget_id, form=form, rows=count)
    cost_type = (form["cost_type"] or None) if budget["kind"] != "annual" else None
    errors = {**form_problems(budget["kind"], cost_type if cost_type else budget["cost_type"], form["title"], lines,
                              rows, count), **errors}
    if errors:
        return await _budget_page(request, budget_id, status_code=422, form=form, rows=count, errors=errors)
    try:
        await service.update_budget(principal, budget_id, title=form["title"], note=form["note"][:4000],
                                    lines=lines, cost_type=cost_type)
    except AppError as exc:
        errors = field_errors(exc, ("title", "note", "cost_type", *line_fields(count)), rename_lines(rows))
        return await _budget_page(request, budget_id, status_code=refused_status(exc), form=form, rows=count,
                                  errors=errors)
    return Redirect(f"/settlements/budgets/{budget_id}?done=saved", status_code=303)


@post("/settlements/budgets/{budget_id:uuid}/submit", opt={"permission": Perm.AUTHENTICATED},
      include_in_schema=False)
async def budget_submit(request: Request[Any, Any, Any], budget_id: FromPath[uuid.UUID]) -> Response[Any]:
    """Send the form to the reviewer its kind and the work's stage call for."""
    principal = me(request)
    await readable_budget(principal, budget_id)
    return await act(lambda: service.submit_budget(principal, budget_id), _redraw(request, budget_id),
                     f"/settlements/budgets/{budget_id}?done=submitted")


@post("/settlements/budgets/{budget_id:uuid}/withdraw", opt={"permission": Perm.AUTHENTICATED},
      include_in_schema=False)
async def budget_withdraw(request: Request[Any, Any, Any], budget_id: FromPath[uuid.UUID]) -> Response[Any]:
    principal = me(request)
    await readable_budget(principal, budget_id)
    return await act(lambda: service.withdraw_budget(principal, budget_id), _redraw(request, budget_id),
                     f"/settlements/budgets/{budget_id}?done=withdrawn")


def _redraw(request: Request[Any, Any, Any], budget_id: uuid.UUID) -> Any:
    return lambda status, errors: _budget_page(request, budget_id, status_code=status, errors=errors)


ROUTES: list[Any] = [budget_list, budget_new, budget_create, budget_detail, budget_save, budget_submit,
                     budget_withdraw]
