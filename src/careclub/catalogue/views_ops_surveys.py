"""Needs surveys (§4.1.2–4.1.3). The staff who run them (`catalogue.manage` or `tickets.dispatch` over the
project; the service refuses anyone else) list them (`/catalogue/surveys`, with its Excel download), open one
(`/catalogue/surveys/new`: the project, a title, an introduction, up to ten proposed services each optionally
naming the item it became, a closing day) — every resident of the project with a sign-in is notified — and
read its tally (`/catalogue/surveys/{id}`: per proposal how many want it, respondents against those asked) and
close it. A resident answers on his phone (`/my/surveys/{id}`, the page the notification opens), once, and may
change his answer while it is open; `/my/surveys` lists the open surveys of his projects."""

from __future__ import annotations

import json
import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from careclub.catalogue import service
from careclub.catalogue.views_ops_common import (
    Filter,
    field_errors,
    ops_page,
    percent,
    refused_status,
    stamp,
    survey_status_label,
    typed_day,
)
from careclub.core.db import fetch
from careclub.core.errors import AppError, Forbidden
from careclub.core.i18n import N_, labeller
from careclub.core.i18n import gettext as _
from careclub.core.principal import Principal
from careclub.platform.permissions import Perm
from careclub.platform.service import company_today, list_units
from careclub.platform.views_admin._common import Form, clean, me
from careclub.web import exports

PROPOSAL_ROWS = 10
SURVEY_FIELDS = ("project", "title", "intro", "closes_on", "proposals")
ROW_FIELDS = tuple(f"{kind}_{i}" for i in range(PROPOSAL_ROWS) for kind in ("name", "item"))
ANSWER_FIELDS = ("wanted", "comment")
DONE = {"created": N_("The survey is open. The project's residents with a sign-in are notified."),
        "closed": N_("The survey is closed.")}
done_text = labeller(DONE)
MY_DONE = {"answered": N_("Thank you: your answer is recorded. You may change it while the survey is open.")}
my_done_text = labeller(MY_DONE)


def may_run(principal: Principal, path: str | None) -> bool:
    return principal.covers(Perm.CATALOGUE_MANAGE, path) or principal.covers(Perm.TICKETS_DISPATCH, path)


async def run_projects(principal: Principal) -> list[tuple[str, str]]:
    """The projects the person may survey: those his `catalogue.manage` or `tickets.dispatch` covers."""
    seen: dict[uuid.UUID, dict[str, Any]] = {}
    for perm in (Perm.CATALOGUE_MANAGE, Perm.TICKETS_DISPATCH):
        if principal.can(perm):
            for u in await list_units(principal, perm):
                if u["kind"] == "project":
                    seen.setdefault(u["id"], u)
    return [(str(u["id"]), u["name"]) for u in sorted(seen.values(), key=lambda u: u["path"])]


def is_open(survey: dict[str, Any], today: Any) -> bool:
    return survey["status"] == "open" and (survey["closes_on"] is None or survey["closes_on"] >= today)


def _shown_status(survey: dict[str, Any], today: Any) -> str:
    return "open" if is_open(survey, today) else "closed"


# ---- the staff's list --------------------------------------------------------------------------

EXPORT_COLUMNS = [
    exports.Column(N_("Title"), lambda r: r["title"], 30),
    exports.Column(N_("Project"), lambda r: r["project_name"], 16),
    exports.Column(N_("Status"), lambda r: survey_status_label(r["shown_status"]), 10),
    exports.Column(N_("Closes on"), lambda r: r["closes_on"], 12),
    exports.Column(N_("Sent to"), lambda r: r["sent_to"], 10),
    exports.Column(N_("Answered"), lambda r: r["respondents"], 10),
    exports.Column(N_("Opened"), lambda r: r["created_at"], 18),
]


@get("/catalogue/surveys", opt={"permission": Perm.DASHBOARD_VIEW}, include_in_schema=False)
async def survey_list(request: Request[Any, Any, Any], done: Filter = None, format: Filter = None) -> Response[Any]:
    """The surveys of the projects the person's rights reach, newest first; `?format=xlsx` downloads them."""
    principal = me(request)
    if principal.kind == "member":
        return Redirect("/my/surveys")
    today = await company_today()
    rows = [{**r, "shown_status": _shown_status(r, today)} for r in await service.list_surveys(principal)]
    if format == "xlsx":
        return await exports.xlsx(f"surveys-{stamp()}.xlsx", str(_("Needs surveys")), EXPORT_COLUMNS,
                                  exports.all_rows(rows))
    return ops_page(request, "catalogue/ops_surveys.html", rows=rows, may_create=bool(await run_projects(principal)),
                    export="?format=xlsx", notice=done_text(done) if done in DONE else None)


# ---- opening one -------------------------------------------------------------------------------

async def _new_page(request: Request[Any, Any, Any], *, form: dict[str, str], errors: dict[str, str] | None = None,
                    status_code: int = 200) -> Template:
    projects = await run_projects(me(request))
    if not projects:
        raise Forbidden("you may survey residents only where your rights reach", code="forbidden")
    return ops_page(request, "catalogue/ops_survey_new.html", status_code=status_code, form=form,
                    errors=errors or {}, projects=projects, rows=list(range(PROPOSAL_ROWS)))


@get("/catalogue/surveys/new", opt={"permission": Perm.DASHBOARD_VIEW}, include_in_schema=False)
async def survey_new(request: Request[Any, Any, Any]) -> Template:
    return await _new_page(request, form={})


@post("/catalogue/surveys/new", opt={"permission": Perm.DASHBOARD_VIEW}, include_in_schema=False)
async def survey_create(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    """Open the survey and notify the project's residents (every problem at once, beside its field)."""
    principal = me(request)
    if principal.kind != "staff":
        raise Forbidden("staff run surveys", code="forbidden")
    form = clean(data, *SURVEY_FIELDS, *ROW_FIELDS)
    errors: dict[str, str] = {}
    project_id = None
    try:
        project_id = uuid.UUID(form["project"])
    except ValueError:
        errors["project"] = _("Choose from the list.")
    closes_on = typed_day(form["closes_on"], "closes_on", errors)
    # the rows someone filled in, each remembering its place on the form (the service numbers them from 0)
    places: list[int] = []
    proposals: list[dict[str, str]] = []
    for i in range(PROPOSAL_ROWS):
        name, item = form[f"name_{i}"], form[f"item_{i}"]
        if not name and not item:
            continue
        places.append(i)
        proposals.append({"name": name, "item": item})
        if len(item) > 32:
            errors[f"item_{i}"] = _("An item code is at most 32 characters.")
    rename = {f"proposals[{n}].name": f"name_{i}" for n, i in enumerate(places)}
    rename |= {f"proposals[{n}].code": f"name_{i}" for n, i in enumerate(places)}
    if project_id is None:
        return await _new_page(request, form=form, errors=errors, status_code=422)
    try:
        survey = await service.create_survey(principal, project_id=project_id, title=form["title"],
                                             intro=form["intro"], proposals=proposals, closes_on=closes_on)
    except AppError as exc:
        errors = {**field_errors(exc, (*SURVEY_FIELDS, *ROW_FIELDS), rename), **errors}
        return await _new_page(request, form=form, errors=errors, status_code=refused_status(exc))
    if errors:
        return await _new_page(request, form=form, errors=errors, status_code=422)
    return Redirect(f"/catalogue/surveys/{survey['id']}?done=created", status_code=303)


# ---- the tally ---------------------------------------------------------------------------------

async def _project(project_id: uuid.UUID) -> dict[str, Any] | None:
    return (await service.unit_paths(project_id)).get(project_id)


@get("/catalogue/surveys/{survey_id:uuid}", opt={"permission": Perm.DASHBOARD_VIEW}, include_in_schema=False)
async def survey_detail(request: Request[Any, Any, Any], survey_id: FromPath[uuid.UUID],
                        done: Filter = None) -> Response[Any]:
    """Per proposal how many residents want it (counted in SQL), respondents against those asked."""
    principal = me(request)
    if principal.kind == "member":
        return Redirect(f"/my/surveys/{survey_id}")
    survey = await service.get_survey(principal, survey_id)
    project = await _project(survey["project_id"])
    tally = survey["tally"]
    respondents = tally["respondents"]
    proposals = [{**p, "wanted": tally["wanted"].get(p["code"], 0),
                  "share": percent(tally["wanted"].get(p["code"], 0), respondents)} for p in survey["proposals"]]
    today = await company_today()
    return ops_page(request, "catalogue/ops_survey.html", survey=survey, proposals=proposals,
                    respondents=respondents, response_rate=percent(respondents, survey["sent_to"]),
                    project_name=project["name"] if project else "", open_now=is_open(survey, today),
                    may_close=survey["status"] == "open" and may_run(principal, project["path"] if project else None),
                    notice=done_text(done) if done in DONE else None)


@post("/catalogue/surveys/{survey_id:uuid}/close", opt={"permission": Perm.DASHBOARD_VIEW}, include_in_schema=False)
async def survey_close(request: Request[Any, Any, Any], survey_id: FromPath[uuid.UUID]) -> Response[Any]:
    await service.close_survey(me(request), survey_id)
    return Redirect(f"/catalogue/surveys/{survey_id}?done=closed", status_code=303)


# ---- the resident's pages ----------------------------------------------------------------------

def _codes(value: Any) -> list[str]:
    """An answer's ticked codes, as the JSONB column reads back (text or a list)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [str(c) for c in value] if isinstance(value, list) else []


@get("/my/surveys", opt={"permission": Perm.SELF_SERVICE}, include_in_schema=False)
async def my_surveys(request: Request[Any, Any, Any]) -> Response[Any]:
    """The open surveys of the resident's projects, those he answered marked."""
    principal = me(request)
    if principal.kind != "member":
        return Redirect("/catalogue/surveys")
    today = await company_today()
    rows = [r for r in await service.list_surveys(principal) if r["closes_on"] is None or r["closes_on"] >= today]
    answered = {r["survey"] for r in await fetch("SELECT survey FROM service_survey_answer WHERE user_id = $1",
                                                 principal.user_id)}
    return ops_page(request, "catalogue/my_surveys.html", rows=[{**r, "answered": r["id"] in answered} for r in rows])


async def _my_page(request: Request[Any, Any, Any], survey_id: uuid.UUID, *, status_code: int = 200,
                   form: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                   notice: str | None = None) -> Template:
    survey = await service.get_survey(me(request), survey_id)
    mine = survey.get("mine")
    given = _codes(mine["wanted"]) if mine else []
    shown = form if form is not None else {"wanted": given, "comment": mine["comment"] if mine else ""}
    return ops_page(request, "catalogue/my_survey.html", status_code=status_code, survey=survey,
                    open_now=is_open(survey, await company_today()), mine=mine, given=given,
                    given_names=[p["name"] for p in survey["proposals"] if p["code"] in given],
                    form=shown, errors=errors or {}, notice=notice)


@get("/my/surveys/{survey_id:uuid}", opt={"permission": Perm.SELF_SERVICE}, include_in_schema=False)
async def my_survey(request: Request[Any, Any, Any], survey_id: FromPath[uuid.UUID],
                    done: Filter = None) -> Response[Any]:
    if me(request).kind != "member":
        return Redirect(f"/catalogue/surveys/{survey_id}")
    return await _my_page(request, survey_id, notice=my_done_text(done) if done in MY_DONE else None)


@post("/my/surveys/{survey_id:uuid}", opt={"permission": Perm.SELF_SERVICE}, include_in_schema=False)
async def my_answer(request: Request[Any, Any, Any], survey_id: FromPath[uuid.UUID]) -> Response[Any]:
    """The resident's answer: the ticked proposals and a comment; answering again while it is open replaces it."""
    principal = me(request)
    if principal.kind != "member":
        raise Forbidden("residents answer surveys", code="forbidden")
    data = await request.form()  # a multi-dict: the ticked boxes share one name
    wanted = [str(v) for v in data.getall("wanted", []) if isinstance(v, str)][:30]
    form: dict[str, Any] = {"wanted": wanted, "comment": str(data.get("comment") or "").strip()}
    try:
        await service.answer(principal, survey_id, wanted=wanted, comment=form["comment"])
    except AppError as exc:
        return await _my_page(request, survey_id, status_code=refused_status(exc), form=form,
                              errors=field_errors(exc, ANSWER_FIELDS))
    return Redirect(f"/my/surveys/{survey_id}?done=answered", status_code=303)


ROUTES: list[Any] = [survey_list, survey_new, survey_create, survey_detail, survey_close, my_surveys, my_survey,
                     my_answer]
