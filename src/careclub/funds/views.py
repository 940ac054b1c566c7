"""The funds' pages for finance staff: the funds by year with a form for a new one, and a fund's
overview (balances, monthly flows, the running sums' agreement with the balances and, on request, the trial
balance recounted from every posting, contributions with their evidence, and the forms
that record a contribution or rename the fund). The ledger and its entries are in views_ledger.py, the
accruals in views_accruals.py; ROUTES here gathers all three.

Money is typed in yuan (core.money.parse_typed) and kept in fen; a refused form is drawn again with
every problem beside its field and what was typed kept (any answer of 400 or more rolls the request's
transaction back, so nothing half-done stays)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, QueryParameter
from litestar.response import Redirect, Template

from careclub.clubs.views_staff import whole_number
from careclub.core.errors import AppError, NotFound
from careclub.core.i18n import gettext as _
from careclub.core.money import parse_typed
from careclub.core.principal import Principal
from careclub.funds import rules, service
from careclub.funds.views_accruals import ROUTES as ACCRUAL_ROUTES
from careclub.funds.views_common import (
    can_manage,
    funds_page,
    kind_label,
    refused_status,
    reversals,
    role_choices,
    typed_day,
    whole,
)
from careclub.funds.views_ledger import ROUTES as LEDGER_ROUTES
from careclub.platform import attachments
from careclub.platform.permissions import Perm
from careclub.platform.service import list_units
from careclub.platform.views_admin._common import Form, clean, form_errors, me, unit_choices
from careclub.web.charts import Chart, Series, is_empty, spec

Filter = Annotated[str | None, QueryParameter(max_length=120)]
# A unit id that names no unit: the service then reports "no such org unit" with the form's other problems.
NO_UNIT = uuid.UUID(int=0)
FUND_FIELDS = ("code", "name", "year", "org_unit", "description")
CONTRIBUTION_FIELDS = ("kind", "source", "amount", "received_on", "reference", "note")
EDIT_FIELDS = ("name", "description", "acceptance_roles", "off_plan_cutoff_day")
# The chart shows at most this many months, the latest.
CHART_MONTHS = 24


@dataclass
class EvidenceForm:
    file: UploadFile | None = None


# ---- the funds, by year -----------------------------------------------------------------------

async def _unit_options(principal: Principal) -> list[tuple[str, str]]:
    """The units a new fund may be held by: those the person manages finance for."""
    return unit_choices(await list_units(principal, Perm.FINANCE_MANAGE))


async def _list_page(request: Request[Any, Any, Any], *, status_code: int = 200, errors: dict[str, str] | None = None,
                     form: dict[str, str] | None = None, year: str | None = None) -> Template:
    """One year's funds (a fund is a year of a code: finance works in the current year and looks back a
    year at a time): `year` when the reader sees funds in it, else this year's, else the latest year's."""
    principal = me(request)
    this_year = (await service.today()).year
    years = await service.fund_years(principal)
    asked = int(year) if year and year.isdigit() and len(year) == 4 else None
    shown = asked if asked in years else this_year if this_year in years or not years else years[0]
    funds = await service.list_funds(principal, year=shown) if years else []
    managing = principal.can(Perm.FINANCE_MANAGE)
    return funds_page(request, "funds/list.html", status_code=status_code, years=[(shown, funds)] if funds else [],
                      year=shown, year_links=years,
                      errors=errors or {}, form=form or {"year": str(this_year)},
                      managing=managing, company_wide=principal.covers(Perm.FINANCE_MANAGE, None),
                      units=await _unit_options(principal) if managing else [])


@get("/funds", opt={"permission": Perm.FINANCE_READ}, include_in_schema=False)
async def fund_list(request: Request[Any, Any, Any], year: Filter = None) -> Template:
    """The funds the reader may see (finance rights over their unit), one year at a time (`?year=`; this
    year's by default), with links to the other years."""
    return await _list_page(request, year=year)


@post("/funds", opt={"permission": Perm.FINANCE_MANAGE}, include_in_schema=False)
async def fund_create(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    principal = me(request)
    form = clean(data, *FUND_FIELDS)
    unit_id: uuid.UUID | None = None
    if form["org_unit"]:
        allowed = {value for value, _text in await _unit_options(principal)}
        unit_id = uuid.UUID(form["org_unit"]) if form["org_unit"] in allowed else NO_UNIT
    elif not principal.covers(Perm.FINANCE_MANAGE, None):
        # a company-wide fund is for company-wide finance; others hold theirs by a unit
        unit_id = NO_UNIT
    try:
        row = await service.create_fund(code=form["code"], name=form["name"], year=whole(form["year"], 0),
                                        org_unit_id=unit_id, description=form["description"])
    except AppError as exc:
        errors = form_errors(exc, FUND_FIELDS)
        if unit_id == NO_UNIT and not form["org_unit"]:
            errors["org_unit"] = _("Choose the unit that holds the fund.")
        return await _list_page(request, status_code=refused_status(exc), form=form, errors=errors)
    return Redirect(f"/funds/{row['id']}?done=created", status_code=303)


# ---- one fund ---------------------------------------------------------------------------------

def _months(first: str, last: str) -> list[str]:
    year, month = (int(p) for p in first.split("-"))
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)
    return out[-CHART_MONTHS:]


async def flows_figure(fund_id: uuid.UUID, currency: str) -> dict[str, Any]:
    """Money in, committed and spent, month by month over the fund's ledger (months without movement shown
    as zero, so the bars keep the calendar's rhythm)."""
    flows = {r["month"]: r for r in await service.monthly_flows(fund_id)}
    months = _months(min(flows), max(flows)) if flows else []
    chart = Chart(kind="bar", categories=months, money=currency, series=[
        Series(name=_("Money in"), data=[flows[m]["money_in"] if m in flows else 0 for m in months]),
        Series(name=_("Committed"), data=[flows[m]["committed"] if m in flows else 0 for m in months]),
        Series(name=_("Spent"), data=[flows[m]["spent"] if m in flows else 0 for m in months])])
    return {"id": "flows", "caption": _("Money in, committed and spent by month"), "category": _("Month"),
            "spec": spec(chart), "empty": is_empty(chart), "link": None, "link_text": None, "note": None}


async def _overview(request: Request[Any, Any, Any], fund_id: uuid.UUID, *, status_code: int = 200,
                    errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
                    notice: str | None = None, upload_for: uuid.UUID | None = None,
                    open_form: str | None = None, recount: bool = False) -> Template:
    principal = me(request)
    fund = await service.get_fund(principal, fund_id)
    contributions = await service.list_contributions(fund_id)
    undone = await reversals([c["entry"] for c in contributions if c["entry"]])
    for c in contributions:
        c["files"] = await attachments.list_for("fund_contribution", c["id"])
        c["reversed_by"] = undone.get(c["entry"]) if c["entry"] else None
    # Every view: the running sums against the stored balances (a few hundred rows). The recount from every
    # posting (millions in a big fund) only when asked for (?check=postings), like the API's trial balance.
    tb = await (service.trial_balance(fund_id) if recount else service.running_check(fund_id))
    today = await service.today()
    defaults = {"kind": "reserve", "received_on": today.isoformat(), "name": fund["name"],
                "description": fund["description"], "acceptance_roles": fund["acceptance_roles"],
                "off_plan_cutoff_day": str(fund["off_plan_cutoff_day"])}
    return funds_page(request, "funds/fund.html", status_code=status_code, fund=fund, b=fund["balances"],
                      contributions=contributions, trial=tb, wrong=[a for a in tb["accounts"]
                                                                    if a["balance"] != a["stored"]],
                      figure=await flows_figure(fund_id, principal.tenant.currency),
                      managing=can_manage(principal, fund), errors=errors or {}, form={**defaults, **(form or {})},
                      notice=notice, upload_for=upload_for, open_form=open_form,
                      kinds=[(k, kind_label(k)) for k in rules.CONTRIBUTION_KINDS],
                      roles=await role_choices())


@get("/funds/{fund_id:uuid}", opt={"permission": Perm.FINANCE_READ}, include_in_schema=False)
async def fund_detail(request: Request[Any, Any, Any], fund_id: FromPath[uuid.UUID], done: Filter = None,
                      check: Filter = None) -> Template:
    """The fund's overview; `?check=postings` also recounts every account from the postings themselves."""
    notices = {"created": _("The fund is created; every account starts at zero."),
               "contribution": _("The contribution is recorded and posted to the ledger."),
               "saved": _("Saved."), "attached": _("The file is kept with the contribution.")}
    return await _overview(request, fund_id, notice=notices.get(done or ""), recount=check == "postings")


@post("/funds/{fund_id:uuid}/edit", opt={"permission": Perm.FINANCE_MANAGE}, include_in_schema=False)
async def fund_edit(request: Request[Any, Any, Any], fund_id: FromPath[uuid.UUID]) -> Response[Any]:
    """Name, description, who signs a claim's acceptance (roles), and the off-plan cut-off day: what the
    tenant file and `PATCH /api/v1/funds/{id}` set, with the same checks."""
    await service.get_fund(me(request), fund_id, permission=Perm.FINANCE_MANAGE)
    data = await request.form()
    roles = [r for r in data.getall("acceptance_roles", []) if isinstance(r, str)]
    form = {k: str(data.get(k) or "").strip() for k in ("name", "description", "off_plan_cutoff_day")}
    form["acceptance_roles"] = ",".join(roles)
    try:
        cutoff = whole_number(form["off_plan_cutoff_day"], "off_plan_cutoff_day", default=25)
        await service.update_fund(fund_id, name=form["name"], description=form["description"],
                                  acceptance_roles=roles, off_plan_cutoff_day=cutoff)
    except AppError as exc:
        return await _overview(request, fund_id, status_code=refused_status(exc), form=form, open_form="edit",
                               errors=form_errors(exc, EDIT_FIELDS))
    return Redirect(f"/funds/{fund_id}?done=saved", status_code=303)


@post("/funds/{fund_id:uuid}/contributions", opt={"permission": Perm.FINANCE_MANAGE}, include_in_schema=False)
async def fund_contribute(request: Request[Any, Any, Any], fund_id: FromPath[uuid.UUID], data: Form) -> Response[Any]:
    """Money in from a source: every problem of the form at once (the amount and date read here, the rest
    checked by the service), then one ledger entry."""
    principal = me(request)
    await service.get_fund(principal, fund_id, permission=Perm.FINANCE_MANAGE)
    form = clean(data, *CONTRIBUTION_FIELDS)
    errors: dict[str, str] = {}
    amount = 0
    try:
        amount = parse_typed(form["amount"], field="amount")
    except AppError as exc:
        errors.update(form_errors(exc, CONTRIBUTION_FIELDS))
    received_on = typed_day(form["received_on"], "received_on", errors)
    if received_on is None and "received_on" not in errors:
        errors["received_on"] = _("Choose the day the money arrived.")
    try:
        await service.record_contribution(fund_id, kind=form["kind"], source=form["source"],
                                          amount=amount if amount > 0 else 0, received_on=received_on or
                                          await service.today(), reference=form["reference"], note=form["note"],
                                          recorded_by=principal.user_id)
    except AppError as exc:
        errors = {**form_errors(exc, CONTRIBUTION_FIELDS), **errors}
        status = refused_status(exc)
    else:
        status = 422
    if errors:  # the answer's status rolls back an entry posted meanwhile
        return await _overview(request, fund_id, status_code=status, form=form, errors=errors,
                               open_form="contribution")
    return Redirect(f"/funds/{fund_id}?done=contribution", status_code=303)


@post("/funds/contributions/{contribution_id:uuid}/attachments", opt={"permission": Perm.FINANCE_MANAGE},
      include_in_schema=False, request_max_body_size=attachments.MAX_BYTES + 1024 * 1024)
async def contribution_attach(request: Request[Any, Any, Any], contribution_id: FromPath[uuid.UUID],
                              data: Annotated[EvidenceForm, Body(media_type=RequestEncodingType.MULTI_PART)]
                              ) -> Response[Any]:
    """Keep the evidence with a contribution: the owners' committee decision, the deposit clause."""
    principal = me(request)
    rows = await service.list_contributions_by_id([contribution_id])
    if not rows:
        raise NotFound("no such contribution", code="contribution_not_found")
    fund_id = rows[0]["fund"]
    await service.get_fund(principal, fund_id, permission=Perm.FINANCE_MANAGE)
    try:
        await attachments.attach_upload(principal, "fund_contribution", contribution_id, data.file,
                                        default_name="evidence")
    except AppError as exc:
        return await _overview(request, fund_id, status_code=refused_status(exc), upload_for=contribution_id,
                               errors=form_errors(exc, ("file",)))
    return Redirect(f"/funds/{fund_id}?done=attached#contribution-{contribution_id}", status_code=303)


ROUTES: list[Any] = [fund_list, fund_create, fund_detail, fund_edit, fund_contribute, contribution_attach,
                     *LEDGER_ROUTES, *ACCRUAL_ROUTES]
