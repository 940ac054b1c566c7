"""The settlements' hub (`/settlements`: every project in reach with its stage, this and last month's settlement,
the payments awaiting the developer's confirmation and the budgets in review), a project's account
(`/settlements/projects/{code}`: its stage and phases, kept by `settlements.manage`, its recent budgets, the
payments awaiting confirmation, its settlements with their due dates, and the early-involvement panel), and the
company's terms (`/settlements/terms`: the management fee and the due day)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from careclub.approvals.views_policies import SUBJECT_LABELS
from careclub.core.db import fetch
from careclub.core.errors import AppError, ValidationFailed
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.platform.permissions import Perm
from careclub.platform.views_admin._common import Form, clean, me
from careclub.settlements import rules, service
from careclub.settlements.service import _involvement
from careclub.settlements.tables import Settlement
from careclub.settlements.views_pages_common import (
    Filter,
    attempt,
    field_errors,
    is_overdue,
    reader,
    refused_status,
    settlements_page,
    stage_choices,
    today,
    typed_date,
)

STAGE_FIELDS = ("stage", "moved_in_on", "note")
PHASE_FIELDS = ("code", "name", "stage", "moved_in_on")
TERMS_FIELDS = ("fee_rate", "due_day")
DONE = {"stage": N_("The project's stage is saved: its work is reviewed accordingly."),
        "phase": N_("The phase is saved."),
        "terms": N_("The terms are saved. Settlements compiled from now on use them.")}
done_text = labeller(DONE)


def _months(day: date) -> tuple[date, date]:
    this = rules.month_start(day)
    last = rules.month_start(date.fromordinal(this.toordinal() - 1))
    return this, last


# ---- the hub ------------------------------------------------------------------------------------

@get("/settlements", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def hub(request: Request[Any, Any, Any]) -> Template:
    """Every project in reach at a glance, with links to the budgets, the payments, the months and the terms."""
    principal = me(request)
    reader(principal)
    projects = await service.list_projects(principal)
    ids = [p["id"] for p in projects] or [uuid.uuid4()]
    day = await today()
    this, last = _months(day)
    months: dict[tuple[uuid.UUID, date], dict[str, Any]] = {
        (r["project_id"], r["month"]): r for r in await Settlement.select(
            Settlement.id, Settlement.project_id, Settlement.month, Settlement.status, Settlement.total,
            Settlement.due_on, Settlement.late).where(Settlement.project_id.is_in(ids),
                                                      Settlement.month.is_in([this, last]))}
    # counted per project in SQL: a company's queue may hold thousands of payments
    waiting = {r["project_id"]: int(r["n"]) for r in await fetch(
        "SELECT project_id, count(*) AS n FROM settlement_payment WHERE project_id = ANY($1) AND status = 'recorded' "
        "GROUP BY project_id", ids)}
    reviewing = {r["project_id"]: int(r["n"]) for r in await fetch(
        "SELECT project_id, count(*) AS n FROM settlement_budget WHERE project_id = ANY($1) AND status = 'in_review' "
        "GROUP BY project_id", ids)}
    rows = [{**p, "this": months.get((p["id"], this)), "last": months.get((p["id"], last)),
             "waiting": waiting.get(p["id"], 0), "reviewing": reviewing.get(p["id"], 0)} for p in projects]
    terms = await service.terms()
    setup = await service.setup_status()
    return settlements_page(
        request, "settlements/hub.html", rows=rows, this_month=rules.month_text(this),
        last_month=rules.month_text(last), day=day, terms=terms, waiting_total=sum(waiting.values()),
        reviewing_total=sum(reviewing.values()), setup=setup,
        missing_policies=[_(SUBJECT_LABELS[k]) for k, ok in setup["policies"].items() if not ok],
        may_manage=principal.can(Perm.APPROVALS_MANAGE) or principal.can(Perm.ORG_MANAGE),
        may_prepare=principal.can(Perm.SETTLEMENTS_PREPARE),
        may_budget=principal.can(Perm.SETTLEMENTS_PREPARE) or principal.can(Perm.SETTLEMENTS_CONFIRM),
        may_confirm=principal.can(Perm.SETTLEMENTS_CONFIRM))


# ---- a project's account ------------------------------------------------------------------------

async def _project_page(request: Request[Any, Any, Any], code: str, *, status_code: int = 200,
                        form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                        target: str | None = None, notice: str | None = None) -> Template:
    principal = me(request)
    reader(principal)
    unit = await service.project_unit(principal, code)
    project = await service.get_project(principal, unit["id"])
    budgets, budget_count = await service.list_budgets(principal, project=unit["code"], limit=10)
    waiting = await service.list_payments(principal, project=unit["code"], status="recorded", limit=50)
    settlements = await service.list_settlements(principal, project=unit["code"], limit=24)
    day = await today()
    may_manage = principal.covers(Perm.SETTLEMENTS_MANAGE, unit["path"])
    may_confirm = principal.covers(Perm.SETTLEMENTS_CONFIRM, unit["path"])
    stage_form = {"stage": project["stage"], "moved_in_on": str(project["moved_in_on"] or ""),
                  "note": project["note"]}
    if target == "stage" and form is not None:
        stage_form = form
    phase_form = form if target == "phase" and form is not None else {"stage": "pre_move_in"}
    return settlements_page(
        request, "settlements/project.html", status_code=status_code,
        project={"id": unit["id"], "code": unit["code"], "name": unit["name"], **project},
        involvement=await _involvement.panel(unit["id"]), budgets=budgets, budget_count=budget_count,
        waiting=waiting, settlements=[{**s, "overdue": is_overdue(s, day)} for s in settlements],
        may_manage=may_manage, may_confirm=may_confirm,
        may_prepare=principal.covers(Perm.SETTLEMENTS_PREPARE, unit["path"]),
        stage_form=stage_form, phase_form=phase_form, errors=errors or {}, target=target, notice=notice,
        stages=stage_choices())


@get("/settlements/projects/{code:str}", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def project_page(request: Request[Any, Any, Any], code: FromPath[str], done: Filter = None) -> Template:
    return await _project_page(request, code[:64], notice=done_text(done) if done in DONE else None)


@post("/settlements/projects/{code:str}/stage", opt={"permission": Perm.SETTLEMENTS_MANAGE},
      include_in_schema=False)
async def project_stage(request: Request[Any, Any, Any], code: FromPath[str], data: Form) -> Response[Any]:
    """The project's stage and move-in date: after move-in its work goes to the customer-service group."""
    principal = me(request)
    form = clean(data, *STAGE_FIELDS)
    errors: dict[str, str] = {}
    moved_in_on = typed_date(form["moved_in_on"], "moved_in_on", errors)
    try:
        saved = await attempt(errors, service.set_project(principal, code[:64], stage=form["stage"],
                                                          moved_in_on=moved_in_on, note=form["note"][:2000]))
    except AppError as exc:
        errors = {**field_errors(exc, STAGE_FIELDS), **errors}
        return await _project_page(request, code[:64], status_code=refused_status(exc), form=form, errors=errors,
                                   target="stage")
    if saved is None:
        return await _project_page(request, code[:64], status_code=422, form=form, errors=errors, target="stage")
    return Redirect(f"/settlements/projects/{saved['code']}?done=stage", status_code=303)


@post("/settlements/projects/{code:str}/phases", opt={"permission": Perm.SETTLEMENTS_MANAGE},
      include_in_schema=False)
async def project_phase(request: Request[Any, Any, Any], code: FromPath[str], data: Form) -> Response[Any]:
    """Add a phase, or change one (matched by its code), with its own stage."""
    principal = me(request)
    form = clean(data, *PHASE_FIELDS)
    errors: dict[str, str] = {}
    moved_in_on = typed_date(form["moved_in_on"], "moved_in_on", errors)
    try:
        saved = await attempt(errors, service.set_phase(principal, code[:64], code=form["code"], name=form["name"],
                                                        stage=form["stage"], moved_in_on=moved_in_on))
    except AppError as exc:
        errors = {**field_errors(exc, PHASE_FIELDS), **errors}
        return await _project_page(request, code[:64], status_code=refused_status(exc), form=form, errors=errors,
                                   target="phase")
    if saved is None:
        return await _project_page(request, code[:64], status_code=422, form=form, errors=errors, target="phase")
    return Redirect(f"/settlements/projects/{saved['code']}?done=phase#phases", status_code=303)


# ---- the company's terms ------------------------------------------------------------------------

def _may_set_terms(principal: Any) -> bool:
    return bool(principal.covers(Perm.SETTLEMENTS_MANAGE, None))


async def _terms_page(request: Request[Any, Any, Any], *, status_code: int = 200, form: dict[str, str] | None = None,
                      errors: dict[str, str] | None = None, notice: str | None = None) -> Template:
    principal = me(request)
    reader(principal)
    terms = await service.terms()
    shown = form if form is not None else {"fee_rate": service.rate_text(terms["fee_rate_bp"]),
                                           "due_day": str(terms["due_day"])}
    return settlements_page(request, "settlements/terms.html", status_code=status_code, terms=terms, form=shown,
                            errors=errors or {}, notice=notice, may_edit=_may_set_terms(principal))


@get("/settlements/terms", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def terms_page(request: Request[Any, Any, Any], done: Filter = None) -> Template:
    return await _terms_page(request, notice=done_text(done) if done in DONE else None)


@post("/settlements/terms", opt={"permission": Perm.SETTLEMENTS_MANAGE}, include_in_schema=False)
async def terms_save(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    """The management fee (per cent of the confirmed cost) and the day of the next month a settlement is approved
    by, checked as the API checks them; every problem at once."""
    principal = me(request)
    form = clean(data, *TERMS_FIELDS)
    if not _may_set_terms(principal):
        return await _terms_page(request, status_code=403, form=form, errors={
            "form": _("The terms are the company's: they are set by someone whose rights cover the company.")})
    errors: dict[str, str] = {}
    rate = None
    try:
        rate = service.parse_rate(form["fee_rate"])
    except ValidationFailed as exc:
        errors.update(field_errors(exc, TERMS_FIELDS))
    day_text = form["due_day"]
    if not day_text.isdigit() or not 1 <= int(day_text) <= 28:
        errors["due_day"] = _("Give the due day as a day of the month from 1 to 28.")
    if errors or rate is None:
        return await _terms_page(request, status_code=422, form=form, errors=errors)
    try:
        await service.set_terms(fee_rate_bp=rate, due_day=int(day_text))
    except AppError as exc:
        return await _terms_page(request, status_code=refused_status(exc), form=form,
                                 errors=field_errors(exc, TERMS_FIELDS))
    return Redirect("/settlements/terms?done=terms", status_code=303)


ROUTES: list[Any] = [hub, project_page, project_stage, project_phase, terms_page, terms_save]
