"""A fund's annual usage plans (年度使用计划) on a page: the versions with their status, the approved one's
lines with what is used and left, the editor (a fixed number of line rows, more on request, every
problem beside its cell), submitting into the approval core, and a revision beside the version it
revises (修订对照).

Finance over the fund reads them; finance that may run the fund drafts, edits and submits (else 404, as
in the API). Labels the spending pages share (statuses, categories, months) live here too."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from careclub.core import i18n
from careclub.core.error_messages import error_text
from careclub.core.error_messages import form_errors as all_errors
from careclub.core.errors import AppError, Conflict, ValidationFailed, each_error
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.core.money import format_grouped, parse_typed
from careclub.core.principal import Principal
from careclub.funds import service
from careclub.funds.api_spending import deciding
from careclub.funds.views_common import can_manage, funds_page, refused_status, whole
from careclub.platform.permissions import Perm
from careclub.platform.service import list_units
from careclub.platform.views_admin._common import Form, clean, form_errors, me, unit_choices

Filter = Annotated[str | None, QueryParameter(max_length=120)]
POLICY_PAGE = "/approvals/policies"
MORE_ROWS = 5
MAX_ROWS = 300
LINE_FIELDS = ("code", "unit", "category", "item", "month", "amount")
# the service's names for a line's fields -> the form's
SERVICE_FIELD = {"code": "item", "org_unit": "unit", "org_unit_id": "unit", "category": "category", "item": "item",
                 "month": "month", "amount": "amount"}
INDEXED = re.compile(r"^(lines|items)\[(\d+)\]\.(\w+)$")

PLAN_STATUS = {"draft": N_("Draft"), "in_review": N_("In review"), "returned": N_("Returned for revision"),
               "approved": N_("Approved"), "rejected": N_("Rejected"), "superseded": N_("Superseded")}
REQUEST_STATUS = {"in_review": N_("In review"), "returned": N_("Returned for revision"),
                  "approved": N_("Approved (money committed)"),
                  "claimed": N_("Claimed: acceptance and payment to follow"),
                  "reimbursed": N_("Reimbursed"), "rejected": N_("Rejected"), "withdrawn": N_("Withdrawn"),
                  "closed": N_("Closed (commitment released)")}
CLAIM_STATUS = {"submitted": N_("Awaiting acceptance"), "accepted": N_("Accepted"), "refused": N_("Refused"),
                "reimbursed": N_("Reimbursed")}
CATEGORIES = {"customer_care": N_("Customer care"), "quality_improvement": N_("Quality improvement")}
CHANGE_KIND = {"added": N_("Added"), "removed": N_("Removed"), "changed": N_("Changed"), "unchanged": N_("Unchanged")}
MONTHS = (N_("January"), N_("February"), N_("March"), N_("April"), N_("May"), N_("June"), N_("July"),
          N_("August"), N_("September"), N_("October"), N_("November"), N_("December"))
# The service's messages that a page shows beside a field, listed so that extraction keeps them.
SERVICE_MESSAGES = [
    N_("lines[%(i)s].code must be unique and at most 16 characters"),
    N_("lines[%(i)s].item is required (at most 200 characters)"), N_("lines[%(i)s].category is required"),
    N_("lines[%(i)s].month must be 1 to 12"), N_("lines[%(i)s].amount must be more than zero"),
    N_("a plan needs at least one line"), N_("title is required"),
    N_("this fund has a plan version in the making already; finish or withdraw it first"),
    N_("a plan %(status)s cannot be changed"), N_("a plan %(status)s cannot be submitted"), N_("no such plan"),
]


_category = labeller(CATEGORIES)


def category_label(code: str | None) -> str:
    return _category(code or "")


def category_code(typed: str) -> str:
    """A category as typed: its label in either language ("客户关怀", "Customer care") is its code, so one
    category never becomes two rows that read the same; anything else is the company's own category."""
    typed = (typed or "").strip()
    wanted = typed.casefold()
    for code, label in CATEGORIES.items():
        names = {code, label, i18n.translate("zh_CN", label), i18n.translate("en", label)}
        if wanted in {n.casefold() for n in names}:
            return code
    return typed


def month_name(month: int | None) -> str:
    return str(_(MONTHS[month - 1])) if isinstance(month, int) and 1 <= month <= 12 else ""


def batch_label(batch: str | None) -> str:
    """A batch month "2026-07" as people say it: July 2026, 2026年7月."""
    try:
        year, month = (int(p) for p in (batch or "").split("-"))
    except ValueError:
        return batch or ""
    return _("%(month)s %(year)s") % {"month": month_name(month), "year": year}


def spending_labels() -> dict[str, Any]:
    return {"plan_status": labeller(PLAN_STATUS), "request_status": labeller(REQUEST_STATUS),
            "claim_status": labeller(CLAIM_STATUS), "category_label": category_label,
            "change_kind": labeller(CHANGE_KIND), "month_name": month_name, "batch_label": batch_label}


# Beside a cell the row is plain to see: wording without the service's `lines[i].` prefix.
CELL_WORDING = {
    "code": N_("Each line needs its own code (at most 16 characters)."),
    "item": N_("Type the item (at most 200 characters)."), "category": N_("Type the category."),
    "month": N_("Choose the month."), "amount": N_("Type an amount above zero."),
    "description": N_("Type what the cost is for."), "quantity": N_("Type a whole number above zero."),
    "unit_price": N_("Type the unit price in yuan."),
}


def remap(errors: dict[str, str], rows: dict[int, int], names: dict[str, str] | None = None) -> dict[str, str]:
    """The service's `lines[j].field` (its j-th line sent) as the form's `field_i` (row i on the page)."""
    out: dict[str, str] = {}
    for key, text in errors.items():
        m = INDEXED.match(key)
        if m:
            name = (names or {}).get(m.group(3), m.group(3))
            text = str(_(CELL_WORDING[m.group(3)])) if m.group(3) in CELL_WORDING else text
            key = f"{name}_{rows.get(int(m.group(2)), int(m.group(2)))}"
        elif key in ("lines", "items"):
            key = "form"
        out[key] = f"{out[key]} {text}" if key in out else text
    return out


def policy_errors(exc: AppError, errors: dict[str, str], subject: str) -> dict[str, str]:
    """No approval policy for plans (or requests): a clear word, and the page that sets one up."""
    if any(e.code in ("approval_policy_not_found", "approval_policy_missing") for e in each_error(exc)):
        errors["form"] = (_("There is no approval policy for annual plans yet, so the plan cannot be submitted.")
                          if subject == service.PLAN_SUBJECT else
                          _("There is no approval policy for fund requests yet, so nothing can be routed."))
        errors["policy_link"] = POLICY_PAGE
    return errors


async def _unit_options(principal: Principal, fund: dict[str, Any]) -> list[tuple[str, str]]:
    """The units a line may be for: those under the fund's unit the person runs finance for."""
    units = await list_units(principal, Perm.FINANCE_MANAGE)
    top = fund["unit_path"]
    return unit_choices([u for u in units if top is None or u["path"] == top or u["path"].startswith(top + "/")])


def _line_form(lines: list[dict[str, Any]]) -> dict[str, str]:
    form: dict[str, str] = {}
    for i, line in enumerate(lines):
        form.update({f"code_{i}": line["code"], f"unit_{i}": str(line["org_unit_id"] or ""),
                     f"category_{i}": category_label(line["category"]), f"item_{i}": line["item"],
                     f"month_{i}": str(line["month"]),
                     f"amount_{i}": format_grouped(line["amount"])})
    return form


def _read_lines(data: dict[str, str], count: int, units: set[str], reserved: set[str]
                ) -> tuple[dict[str, str], list[dict[str, Any]], dict[int, int], dict[str, str]]:
    """The rows typed: what to keep on the form, the lines for the service (blank rows dropped, new rows
    given the next code no version has used: a removed line's code is never given to another), which row
    each line came from, and the problems read here."""
    form: dict[str, str] = {}
    lines: list[dict[str, Any]] = []
    rows: dict[int, int] = {}
    errors: dict[str, str] = {}
    for i in range(count):
        row = {f: (data.get(f"{f}_{i}") or "").strip() for f in LINE_FIELDS}
        form.update({f"{f}_{i}": v for f, v in row.items()})
        if not any(row[f] for f in ("category", "item", "month", "amount")):
            continue
        amount = 0
        try:
            amount = parse_typed(row["amount"], field="amount")
        except AppError as exc:
            errors[f"amount_{i}"] = error_text(exc)
        if row["unit"] and row["unit"] not in units:
            errors[f"unit_{i}"] = _("Choose a unit from the list.")
        rows[len(lines)] = i
        lines.append({"code": row["code"], "org_unit_id": uuid.UUID(row["unit"]) if row["unit"] in units else None,
                      "category": category_code(row["category"]), "item": row["item"],
                      "month": whole(row["month"], 0),
                      "amount": amount if amount > 0 else 0})
    taken = reserved | {form[f"code_{i}"] for i in range(count) if form[f"code_{i}"]}
    n = 0
    for ln in lines:
        if not ln["code"]:
            n += 1
            while f"L{n}" in taken:
                n += 1
            ln["code"] = f"L{n}"
            taken.add(ln["code"])
    return form, lines, rows, errors


async def _editor(request: Request[Any, Any, Any], fund: dict[str, Any], *, plan: dict[str, Any] | None,
                  form: dict[str, str], count: int, status_code: int = 200,
                  errors: dict[str, str] | None = None) -> Template:
    principal = me(request)
    approved = await service.approved_plan(fund["id"])
    categories = dict(CATEGORIES)
    if approved:
        categories.update({ln["category"]: ln["category"] for ln in approved["lines"] if ln["category"] not in
                           categories})
    return funds_page(request, "funds/plan_edit.html", status_code=status_code, fund=fund, plan=plan,
                      approved=approved, form=form, errors=errors or {}, count=count,
                      units=await _unit_options(principal, fund),
                      months=[(str(m), f"{m} · {month_name(m)}") for m in range(1, 13)],
                      categories=[(c, category_label(c)) for c in categories], **spending_labels())


def _count(data: dict[str, str], op: str) -> int:
    count = min(max(whole(data.get("rows", ""), 0), 1), MAX_ROWS)
    return min(count + MORE_ROWS, MAX_ROWS) if op == "more" else count


# ---- the versions -----------------------------------------------------------------------------

async def plans_page(request: Request[Any, Any, Any], fund_id: uuid.UUID, *, status_code: int = 200,
                     errors: dict[str, str] | None = None, notice: str | None = None) -> Template:
    principal = me(request)
    fund = await service.get_fund(principal, fund_id)
    versions = await service.list_plans(fund_id)
    approved = await service.approved_plan(fund_id)
    totals = {p["id"]: (await service.get_plan(p["id"]))["total"] for p in versions}
    in_progress = any(p["status"] in ("draft", "returned", "in_review") for p in versions)
    return funds_page(request, "funds/plans.html", status_code=status_code, fund=fund, versions=versions,
                      totals=totals, approved=approved, managing=can_manage(principal, fund),
                      in_progress=in_progress, errors=errors or {}, notice=notice, editable=service_editable(),
                      **spending_labels())


def service_editable() -> tuple[str, ...]:
    return ("draft", "returned", "rejected")


@get("/funds/{fund_id:uuid}/plans", opt={"permission": Perm.FINANCE_READ}, include_in_schema=False)
async def plan_list(request: Request[Any, Any, Any], fund_id: FromPath[uuid.UUID], done: Filter = None) -> Template:
    notices = {"saved": _("The plan is saved as a draft."),
               "submitted": _("The plan is submitted for approval.")}
    return await plans_page(request, fund_id, notice=notices.get(done or ""))


@get("/funds/{fund_id:uuid}/plans/new", opt={"permission": Perm.FINANCE_MANAGE}, include_in_schema=False)
async def plan_new(request: Request[Any, Any, Any], fund_id: FromPath[uuid.UUID]) -> Template:
    """The January plan, or (with one approved) its revision, started from the approved lines."""
    fund = await service.writable_fund(me(request), fund_id)
    approved = await service.approved_plan(fund_id)
    lines = approved["lines"] if approved else []
    title = _("Revision of %(title)s") % {"title": approved["title"]} if approved else ""
    form = {"title": title, **_line_form(lines)}
    return await _editor(request, fund, plan=None, form=form, count=len(lines) + MORE_ROWS)


@post("/funds/{fund_id:uuid}/plans/new", opt={"permission": Perm.FINANCE_MANAGE}, include_in_schema=False)
async def plan_create(request: Request[Any, Any, Any], fund_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    principal = me(request)
    fund = await service.writable_fund(principal, fund_id)
    return await _save(request, fund, None, data, principal)


@get("/funds/plans/{plan_id:uuid}/edit", opt={"permission": Perm.FINANCE_MANAGE}, include_in_schema=False)
async def plan_edit(request: Request[Any, Any, Any], plan_id: FromPath[uuid.UUID]) -> Template:
    plan = await service.get_plan(plan_id)
    fund = await service.writable_fund(me(request), plan["fund"])
    if plan["status"] not in service_editable():
        raise Conflict("a plan %(status)s cannot be changed", code="plan_not_editable",
                       params={"status": plan["status"]})
    form = {"title": plan["title"], "note": plan["note"], **_line_form(plan["lines"])}
    return await _editor(request, fund, plan=plan, form=form, count=len(plan["lines"]) + MORE_ROWS)


@post("/funds/plans/{plan_id:uuid}/edit", opt={"permission": Perm.FINANCE_MANAGE}, include_in_schema=False)
async def plan_update(request: Request[Any, Any, Any], plan_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    principal = me(request)
    plan = await service.get_plan(plan_id)
    fund = await service.writable_fund(principal, plan["fund"])
    return await _save(request, fund, plan, data, principal)


async def _save(request: Request[Any, Any, Any], fund: dict[str, Any], plan: dict[str, Any] | None,
                data: dict[str, str], principal: Principal) -> Response[Any]:
    """Save the editor: "more" draws it again with more empty rows; otherwise every problem of the title
    and of each row at once (the answer's status undoes anything saved meanwhile)."""
    op = (data.get("op") or "").strip()
    count = _count(data, op)
    head = clean(data, "title", "note")
    units = {value for value, _text in await _unit_options(principal, fund)}
    reserved = {ln["code"] for p in await service.list_plans(fund["id"])
                for ln in (await service.get_plan(p["id"]))["lines"]}
    form, lines, rows, errors = _read_lines(data, count, units, reserved)
    form.update(head)
    if op == "more":
        return await _editor(request, fund, plan=plan, form=form, count=count)
    if not head["title"]:
        errors["title"] = error_text(ValidationFailed("title is required", field="title"))
    status = 422
    saved: dict[str, Any] | None = None
    try:
        if plan is None:
            saved = await service.draft_plan(fund["id"], title=head["title"] or "-", note=head["note"], lines=lines,
                                             created_by=principal.user_id)
        else:
            saved = await service.update_plan(plan["id"], title=head["title"] or "-", note=head["note"], lines=lines)
    except AppError as exc:
        errors = {**remap(all_errors(exc, None), rows, SERVICE_FIELD), **errors}
        status = refused_status(exc)
    if errors or saved is None:
        return await _editor(request, fund, plan=plan, form=form, count=count, status_code=status, errors=errors)
    return Redirect(f"/funds/{fund['id']}/plans?done=saved#plan-{saved['id']}", status_code=303)


@post("/funds/plans/{plan_id:uuid}/submit", opt={"permission": Perm.FINANCE_MANAGE}, include_in_schema=False)
async def plan_submit(request: Request[Any, Any, Any], plan_id: FromPath[uuid.UUID]) -> Response[Any]:
    """Into the approval core on the company's `annual_plan` policy."""
    principal = me(request)
    plan = await service.get_plan(plan_id)
    await service.writable_fund(principal, plan["fund"])
    try:
        await service.submit_plan(plan_id, requester_id=principal.user_id)
    except AppError as exc:
        errors = policy_errors(exc, form_errors(exc, ()), service.PLAN_SUBJECT)
        return await plans_page(request, plan["fund"], status_code=refused_status(exc), errors=errors)
    return Redirect(f"/funds/{plan['fund']}/plans?done=submitted", status_code=303)


@get("/funds/plans/{plan_id:uuid}/compare", opt={"permission": Perm.DASHBOARD_VIEW}, include_in_schema=False)
async def plan_compare(request: Request[Any, Any, Any], plan_id: FromPath[uuid.UUID]) -> Template:
    """A version beside the one it revises: each line added, removed, changed or unchanged, with the money.
    Finance over the fund sees it, and so do those asked to approve the version (the approval links here)."""
    principal = me(request)
    plan = await service.get_plan(plan_id)
    if await deciding(principal, plan["approval_request"]):
        fund = await service.get_fund(None, plan["fund"])
    else:
        fund = await service.get_fund(principal, plan["fund"])
    cmp = await service.compare(plan_id)
    counts = {k: sum(1 for r in cmp["lines"] if r["kind"] == k) for k in CHANGE_KIND}
    return funds_page(request, "funds/plan_compare.html", fund=fund, cmp=cmp, counts=counts, **spending_labels())


ROUTES: list[Any] = [plan_list, plan_new, plan_create, plan_edit, plan_update, plan_submit, plan_compare]
