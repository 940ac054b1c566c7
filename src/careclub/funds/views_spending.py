"""Spending a fund on a page: finance's list of a fund's requests (with its Excel download), the funds any
staff member may ask to spend, the request form with a preview of its approval chain, and a request's
page — its claims with their items, evidence, acceptance sign-offs (验收), refusal, reimbursement (报销)
and closing an approved request that will not be spent.

Who sees what follows the API (api_spending.py): a request is read by its requester and finance over its
fund, and here also by a holder of one of the fund's acceptance roles (who must reach it to sign);
everyone else gets 404, as if it did not exist."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, QueryParameter
from litestar.response import Redirect, Template

from careclub.approvals import service as approvals_service
from careclub.core import clock
from careclub.core.db import current_tenant_id, fetch
from careclub.core.error_messages import error_text
from careclub.core.error_messages import form_errors as all_errors
from careclub.core.errors import AppError
from careclub.core.i18n import N_
from careclub.core.i18n import gettext as _
from careclub.core.money import format_grouped, parse_typed
from careclub.core.paging import decode_cursor, next_after
from careclub.core.principal import Principal
from careclub.funds import service
from careclub.funds.api_spending import readable_request
from careclub.funds.views_common import can_manage, funds_page, refused_status, role_choices, whole
from careclub.funds.views_plans import (
    CATEGORIES,
    REQUEST_STATUS,
    category_code,
    category_label,
    policy_errors,
    remap,
    spending_labels,
)
from careclub.platform import attachments
from careclub.platform.permissions import Perm
from careclub.platform.views_admin._common import Form, clean, form_errors, keyset_pages, me
from careclub.web import exports

Filter = Annotated[str | None, QueryParameter(max_length=120)]
REQUEST_FIELDS = ("title", "in_plan", "plan_line", "category", "amount", "description")
ITEM_FIELDS = ("description", "spec", "quantity", "unit", "unit_price")
CLAIM_ROWS = 5
MAX_ROWS = 100
PER_PAGE = 50
STAFF = Perm.DASHBOARD_VIEW

EXPORT_COLUMNS = [
    exports.Column(N_("Number"), lambda r: r["number"], 18),
    exports.Column(N_("Title"), lambda r: r["title"], 30),
    exports.Column(N_("Org unit"), lambda r: r["unit_name"] or "", 18),
    exports.Column(N_("Plan"), lambda r: (_("In plan") + (f" {r['plan_line_code']}" if r["plan_line_code"] else ""))
                   if r["in_plan"] else _("Off plan"), 12),
    exports.Column(N_("Batch month"), lambda r: r["batch_month"], 10),
    exports.Column(N_("Amount"), lambda r: exports.Money(r["amount"]), 14),
    exports.Column(N_("Committed"), lambda r: exports.Money(r["committed"]), 14),
    exports.Column(N_("Spent"), lambda r: exports.Money(r["spent"]), 14),
    exports.Column(N_("Status"), lambda r: _(REQUEST_STATUS.get(r["status"], r["status"])), 18),
    exports.Column(N_("Requester"), lambda r: r["requester_name"], 14),
]


@dataclass
class EvidenceForm:
    file: UploadFile | None = None


# ---- finance's list ---------------------------------------------------------------------------

@get("/funds/{fund_id:uuid}/requests", opt={"permission": Perm.FINANCE_READ}, include_in_schema=False)
async def request_list(request: Request[Any, Any, Any], fund_id: FromPath[uuid.UUID], status: Filter = None,
                       plan: Filter = None, batch: Filter = None, after: Filter = None,
                       format: Filter = None) -> Response[Any]:
    """`?status=`, `?plan=in|off`, `?batch=YYYY-MM`; newest first, `PER_PAGE` at a time ("Older" follows the
    last row: `?after=`); `?format=xlsx` downloads the whole filtered list."""
    principal = me(request)
    fund = await service.get_fund(principal, fund_id)
    form = {"status": status if status in REQUEST_STATUS else "", "plan": plan if plan in ("in", "off") else "",
            "batch": (batch or "").strip()[:7]}
    filters: dict[str, Any] = {"status": form["status"] or None, "batch": form["batch"] or None,
                               "in_plan": {"in": True, "off": False}.get(form["plan"])}
    if format == "xlsx":
        stamp = f"{clock.local(clock.now()):%Y%m%d}"
        rows = await service.request_rows(fund_id, **filters)
        return await exports.xlsx(f"requests-{fund['code']}-{fund['year']}-{stamp}.xlsx",
                                  f"{fund['code']} {fund['year']}", EXPORT_COLUMNS, exports.all_rows(rows))
    rows, total, more = await service.request_page(fund_id, **filters, after=decode_cursor(after),
                                                   limit=PER_PAGE + 1)
    rows, cursor = next_after(rows, PER_PAGE)
    pages = keyset_pages(form, after, cursor, total, more)
    pages["export"] = f"/funds/{fund_id}/requests" + pages["export"]
    batches = [r["batch_month"] for r in await fetch(
        "SELECT DISTINCT batch_month FROM fund_request WHERE tenant_id = $1 AND fund = $2 ORDER BY 1 DESC",
        current_tenant_id(), fund_id)]
    return funds_page(request, "funds/requests.html", fund=fund, rows=rows, form=form, batches=batches,
                      statuses=list(REQUEST_STATUS), managing=can_manage(principal, fund), **pages,
                      **spending_labels())


# ---- asking to spend --------------------------------------------------------------------------

@get("/funds/spend", opt={"permission": STAFF}, include_in_schema=False)
async def spend(request: Request[Any, Any, Any]) -> Template:
    """The company's open funds of this year any staff member may ask to spend, with what is left on each line
    of their approved plans (never the funds' balances)."""
    year = (await service.today()).year
    funds = []
    for f in await service.list_funds(None, year=year):
        if f["closed"]:
            continue
        plan = await service.approved_plan(f["id"])
        funds.append({"id": f["id"], "name": f["name"], "year": f["year"], "code": f["code"],
                      "lines": plan["lines"] if plan else []})
    mine = await fetch("SELECT r.id, r.number, r.title, r.amount, r.status, f.name AS fund_name, f.year AS fund_year "
                       "FROM fund_request r JOIN care_fund f ON f.tenant_id = r.tenant_id AND f.id = r.fund "
                       "WHERE r.tenant_id = $1 AND r.requester_id = $2 ORDER BY r.created_at DESC LIMIT 50",
                       current_tenant_id(), me(request).user_id)
    return funds_page(request, "funds/spend.html", funds=funds, mine=mine, year=year, **spending_labels())


def _line_choice(line: dict[str, Any]) -> str:
    left = _("%(left)s left") % {"left": format_grouped(line["remaining"])}
    return f"{line['code']} · {line['item']} · {category_label(line['category'])} · {left}"


async def _request_form(request: Request[Any, Any, Any], fund: dict[str, Any], *, form: dict[str, str],
                        status_code: int = 200, errors: dict[str, str] | None = None,
                        chain: dict[str, Any] | None = None) -> Template:
    plan = await service.approved_plan(fund["id"])
    lines = plan["lines"] if plan else []
    return funds_page(request, "funds/request_new.html", status_code=status_code, fund=fund, plan=plan, form=form,
                      errors=errors or {}, chain=chain, line_options=[(ln["code"], _line_choice(ln)) for ln in lines],
                      categories=[(c, category_label(c)) for c in CATEGORIES],
                      step_kind=lambda k: _(approvals_kind(k)), **spending_labels())


STEP_KINDS = {"single": N_("Single approver"), "any_of": N_("Any one of"), "countersign": N_("Countersign"),
              "meeting": N_("Meeting"), "committee": N_("Committee"), "auto": N_("Automatic")}


def approvals_kind(kind: str) -> str:
    return STEP_KINDS.get(kind, kind)


@get("/funds/{fund_id:uuid}/requests/new", opt={"permission": STAFF}, include_in_schema=False)
async def request_new(request: Request[Any, Any, Any], fund_id: FromPath[uuid.UUID], line: Filter = None
                      ) -> Template:
    fund = await service.get_fund(None, fund_id)
    form = {"in_plan": "1" if line else "0", "plan_line": (line or "")[:16]}
    return await _request_form(request, fund, form=form)


@post("/funds/{fund_id:uuid}/requests/new", opt={"permission": STAFF}, include_in_schema=False)
async def request_create(request: Request[Any, Any, Any], fund_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    """File the request (every problem at once), or with `op=preview` show the approval chain it would get."""
    principal = me(request)
    fund = await service.get_fund(None, fund_id)
    form = clean(data, *REQUEST_FIELDS)
    in_plan = form["in_plan"] == "1"
    errors: dict[str, str] = {}
    amount = 0
    try:
        amount = parse_typed(form["amount"], field="amount")
    except AppError as exc:
        errors.update(form_errors(exc, REQUEST_FIELDS))
    if (data.get("op") or "") == "preview":
        return await _preview(request, fund, form, errors, amount, in_plan, principal)
    status = 422
    try:
        req = await service.submit_request(principal, fund_id, title=form["title"], amount=amount if amount > 0 else 0,
                                           in_plan=in_plan, category=category_code(form["category"]),
                                           description=form["description"], plan_line=form["plan_line"] or None)
    except AppError as exc:
        errors = policy_errors(exc, {**form_errors(exc, REQUEST_FIELDS), **errors}, service.REQUEST_SUBJECT)
        status = refused_status(exc)
    else:
        if not errors:
            done = "pushed" if req["pushed_to_next_batch"] else "filed"
            return Redirect(f"/funds/requests/{req['id']}?done={done}", status_code=303)
    return await _request_form(request, fund, form=form, status_code=status, errors=errors)


async def _preview(request: Request[Any, Any, Any], fund: dict[str, Any], form: dict[str, str],
                   errors: dict[str, str], amount: int, in_plan: bool, principal: Principal) -> Template:
    """The chain the tenant's `fund_request` policy would give: the unit and category the service would use."""
    category, unit = category_code(form["category"]), None
    if in_plan and form["plan_line"]:
        plan = await service.approved_plan(fund["id"])
        line = next((ln for ln in (plan["lines"] if plan else []) if ln["code"] == form["plan_line"]), None)
        if line is not None:
            category, unit = category or line["category"], line["org_unit_id"]
            if amount > line["remaining"]:  # the preview says now what submitting would refuse
                errors.setdefault("amount", _("The plan line %(code)s has %(left)s left.") % {
                    "code": line["code"], "left": format_grouped(line["remaining"])})
    unit = unit or await service.home_unit(principal.user_id) or fund["org_unit_id"]
    chain = None
    try:
        chain = await approvals_service.preview(subject_type=service.REQUEST_SUBJECT, amount=max(amount, 0),
                                                category=category or None, in_plan=in_plan, org_unit=unit)
    except AppError as exc:
        errors = policy_errors(exc, errors, service.REQUEST_SUBJECT)
        errors.setdefault("form", error_text(exc))
    return await _request_form(request, fund, form=form, errors=errors, chain=chain,
                               status_code=422 if errors else 200)


# ---- one request ------------------------------------------------------------------------------

def _signers(fund: dict[str, Any], principal: Principal) -> set[str]:
    return set(service.required_roles(fund)) & principal.roles


async def _readable(principal: Principal, request_id: uuid.UUID) -> tuple[dict[str, Any], dict[str, Any]]:
    """The request and its fund, for whom the API lets read it (api_spending.readable_request)."""
    req = await readable_request(principal, request_id)
    return req, await service.get_fund(None, req["fund"])


def _to_sign(fund: dict[str, Any], claim: dict[str, Any], principal: Principal) -> list[str]:
    """The roles this person could still sign the claim for (the service decides; this only shows the button)."""
    needed = service.required_roles(fund) or ["finance"]
    signed = {s["role"] for s in claim["signoffs"]}
    return [r for r in needed if r not in signed and (r in principal.roles or (
        r == "finance" and principal.can(Perm.FINANCE_MANAGE)))]


async def _request_page(request: Request[Any, Any, Any], request_id: uuid.UUID, *, status_code: int = 200,
                        errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
                        notice: str | None = None, rows: int = CLAIM_ROWS, target: str | None = None) -> Template:
    principal = me(request)
    req, fund = await _readable(principal, request_id)
    claims = req["claims"]
    requester = req["requester_id"] == principal.user_id
    managing = can_manage(principal, fund)
    for c in claims:
        c["to_sign"] = _to_sign(fund, c, principal) if c["submitted_by"] != principal.user_id else []
    roles = {r["code"]: r["name"] for r in await role_choices()}
    needed = service.required_roles(fund) or ["finance"]
    return funds_page(request, "funds/request.html", status_code=status_code, req=req, fund=fund, claims=claims,
                      requester=requester, managing=managing, writer=requester or managing,
                      signer=bool(_signers(fund, principal)), needed=needed,
                      needed_names=[roles.get(r, r) for r in needed], role_names=roles, errors=errors or {},
                      form=form or {}, notice=notice, rows=rows, target=target, **spending_labels())


@get("/funds/requests/{request_id:uuid}", opt={"permission": STAFF}, include_in_schema=False)
async def request_detail(request: Request[Any, Any, Any], request_id: FromPath[uuid.UUID], done: Filter = None
                         ) -> Template:
    notice = None
    if done == "pushed":
        req = await service.get_request(request_id)
        fund = await service.get_fund(None, req["fund"])
        notice = _("Filed after the fund's cut-off day (day %(day)s of the month): it joins the batch of "
                   "%(month)s.") % {"day": fund["off_plan_cutoff_day"],
                                    "month": spending_labels()["batch_label"](req["batch_month"])}
    else:
        notice = {"filed": _("The request is filed and sent for approval."),
                  "claimed": _("The claim is filed. Keep the photos and receipts with it."),
                  "attached": _("The file is kept with the claim."), "signed": _("Your acceptance is signed."),
                  "refused": _("The claim is refused; the requester may claim again, corrected."),
                  "reimbursed": _("The claim is reimbursed: the spend is posted and the rest released."),
                  "closed": _("The request is closed and its commitment released.")}.get(done or "")
    return await _request_page(request, request_id, notice=notice)


def _read_items(data: dict[str, str], count: int) -> tuple[dict[str, str], list[dict[str, Any]], dict[int, int],
                                                           dict[str, str]]:
    form: dict[str, str] = {}
    items: list[dict[str, Any]] = []
    rows: dict[int, int] = {}
    errors: dict[str, str] = {}
    for i in range(count):
        row = {f: (data.get(f"{f}_{i}") or "").strip() for f in ITEM_FIELDS}
        form.update({f"{f}_{i}": v for f, v in row.items()})
        if not any(row.values()):
            continue
        price = 0
        try:
            price = parse_typed(row["unit_price"], field="amount") if row["unit_price"] else -1
        except AppError as exc:
            errors[f"unit_price_{i}"] = error_text(exc)
        rows[len(items)] = i
        items.append({"description": row["description"], "spec": row["spec"], "unit": row["unit"],
                      "quantity": whole(row["quantity"], 0), "unit_price": price})
    return form, items, rows, errors


@post("/funds/requests/{request_id:uuid}/claims", opt={"permission": STAFF}, include_in_schema=False)
async def claim_create(request: Request[Any, Any, Any], request_id: FromPath[uuid.UUID], data: Form
                       ) -> Response[Any]:
    """The costs after the work, item by item; `op=more` draws the form again with more rows."""
    principal = me(request)
    req, _fund = await _readable(principal, request_id)
    if req["requester_id"] != principal.user_id:
        await service.writable_fund(principal, req["fund"])
    count = min(max(whole(data.get("rows", ""), 0), 1), MAX_ROWS)
    if (data.get("op") or "") == "more":
        count = min(count + CLAIM_ROWS, MAX_ROWS)
    form, items, rows, errors = _read_items(data, count)
    form["note"] = (data.get("note") or "").strip()
    if (data.get("op") or "") == "more":
        return await _request_page(request, request_id, form=form, rows=count, target="claim")
    status = 422
    try:
        await service.submit_claim(principal, request_id, items=items, note=form["note"])
    except AppError as exc:
        errors = {**remap(all_errors(exc, None), rows), **errors}
        status = refused_status(exc)
    if errors:
        return await _request_page(request, request_id, status_code=status, errors=errors, form=form, rows=count,
                                   target="claim")
    return Redirect(f"/funds/requests/{request_id}?done=claimed", status_code=303)


async def _claim_of(principal: Principal, claim_id: uuid.UUID) -> tuple[dict[str, Any], dict[str, Any],
                                                                         dict[str, Any]]:
    claim = await service.get_claim(claim_id)
    req, fund = await _readable(principal, claim["request"])
    return claim, req, fund


@post("/funds/claims/{claim_id:uuid}/attachments", opt={"permission": STAFF}, include_in_schema=False,
      request_max_body_size=attachments.MAX_BYTES + 1024 * 1024)
async def claim_attach(request: Request[Any, Any, Any], claim_id: FromPath[uuid.UUID],
                       data: Annotated[EvidenceForm, Body(media_type=RequestEncodingType.MULTI_PART)]) -> Response[Any]:
    """Evidence (site photos, receipts): by the requester or finance over the fund, as in the API."""
    principal = me(request)
    claim = await service.get_claim(claim_id)
    req = await readable_request(principal, claim["request"])
    try:
        await attachments.attach_upload(principal, "fund_claim", claim_id, data.file, default_name="evidence")
    except AppError as exc:
        return await _request_page(request, req["id"], status_code=refused_status(exc), target=f"file-{claim_id}",
                                   errors=form_errors(exc, ("file",)))
    return Redirect(f"/funds/requests/{req['id']}?done=attached#claim-{claim_id}", status_code=303)


@post("/funds/claims/{claim_id:uuid}/signoff", opt={"permission": STAFF}, include_in_schema=False)
async def claim_sign(request: Request[Any, Any, Any], claim_id: FromPath[uuid.UUID]) -> Response[Any]:
    principal = me(request)
    _claim, req, _fund = await _claim_of(principal, claim_id)
    try:
        await service.sign_off(principal, claim_id)
    except AppError as exc:
        return await _request_page(request, req["id"], status_code=refused_status(exc), target=f"sign-{claim_id}",
                                   errors={"form": error_text(exc)})
    return Redirect(f"/funds/requests/{req['id']}?done=signed#claim-{claim_id}", status_code=303)


@post("/funds/claims/{claim_id:uuid}/refusal", opt={"permission": STAFF}, include_in_schema=False)
async def claim_refuse(request: Request[Any, Any, Any], claim_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    """Refuse a claim that does not match what was approved, with the reason (a signer or finance)."""
    principal = me(request)
    _claim, req, fund = await _claim_of(principal, claim_id)
    if not _signers(fund, principal):
        await service.writable_fund(principal, req["fund"])
    form = clean(data, "reason")
    try:
        await service.refuse_claim(principal, claim_id, reason=form["reason"])
    except AppError as exc:
        return await _request_page(request, req["id"], status_code=refused_status(exc), form=form,
                                   target=f"refuse-{claim_id}", errors=form_errors(exc, ("reason",)))
    return Redirect(f"/funds/requests/{req['id']}?done=refused#claim-{claim_id}", status_code=303)


@post("/funds/claims/{claim_id:uuid}/reimbursement", opt={"permission": Perm.FINANCE_MANAGE}, include_in_schema=False)
async def claim_reimburse(request: Request[Any, Any, Any], claim_id: FromPath[uuid.UUID]) -> Response[Any]:
    principal = me(request)
    _claim, req, _fund = await _claim_of(principal, claim_id)
    await service.writable_fund(principal, req["fund"])
    try:
        await service.reimburse_claim(claim_id)
    except AppError as exc:
        return await _request_page(request, req["id"], status_code=refused_status(exc),
                                   errors={"form": error_text(exc)})
    return Redirect(f"/funds/requests/{req['id']}?done=reimbursed", status_code=303)


@post("/funds/requests/{request_id:uuid}/close", opt={"permission": Perm.FINANCE_MANAGE}, include_in_schema=False)
async def request_close(request: Request[Any, Any, Any], request_id: FromPath[uuid.UUID], data: Form
                        ) -> Response[Any]:
    """An approved request that will not be spent: closed with the reason, its commitment released."""
    principal = me(request)
    req, _fund = await _readable(principal, request_id)
    await service.writable_fund(principal, req["fund"])
    form = clean(data, "close_reason")
    try:
        await service.close_request(request_id, reason=form["close_reason"])
    except AppError as exc:
        return await _request_page(request, request_id, status_code=refused_status(exc), form=form, target="close",
                                   errors=all_errors(exc, ("close_reason",), {"reason": "close_reason"}))
    return Redirect(f"/funds/requests/{request_id}?done=closed", status_code=303)


ROUTES: list[Any] = [request_list, spend, request_new, request_create, request_detail, claim_create, claim_attach,
                     claim_sign, claim_refuse, claim_reimburse, request_close]
