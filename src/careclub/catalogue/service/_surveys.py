"""Needs surveys before services are designed (§4.1.2–4.1.3): the customer-service centre asks a project's
residents which proposed services they want; each resident answers once (and may change his answer while
the survey is open); the tally per proposal is shown beside the proposal and the item it became."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date
from typing import Any

from careclub.approvals import service as approvals_service
from careclub.catalogue import rules
from careclub.catalogue.service._items import projects_in_reach, resident_projects, unit_paths
from careclub.catalogue.tables import Survey, SurveyAnswer
from careclub.core import clock
from careclub.core.db import fetch
from careclub.core.errors import AppError, Conflict, FieldErrors, Forbidden, NotFound, ValidationFailed
from careclub.core.i18n import N_
from careclub.core.principal import Principal
from careclub.platform import audit
from careclub.platform.permissions import Perm
from careclub.platform.service import company_today

SURVEY_SENT = N_("Which services would you like? A short survey: {title}")
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def _may_run(principal: Principal, path: str | None) -> bool:
    return principal.covers(Perm.CATALOGUE_MANAGE, path) or principal.covers(Perm.TICKETS_DISPATCH, path)


async def _project_path(project_id: uuid.UUID) -> str:
    units = await unit_paths(project_id)
    if project_id not in units:
        raise FieldErrors([NotFound("no such org unit", code="org_unit_not_found", field="project")])
    return str(units[project_id]["path"])


def _clean_proposals(problems: list[AppError], proposals: list[dict[str, Any]]) -> list[dict[str, str]]:
    clean: list[dict[str, str]] = []
    seen: set[str] = set()
    if not proposals:
        problems.append(ValidationFailed("propose at least one service", field="proposals"))
    if len(proposals) > 30:
        problems.append(ValidationFailed("at most 30 proposals", field="proposals"))
    for i, p in enumerate(proposals[:30]):
        name = str(p.get("name", "")).strip()
        code = str(p.get("code", "") or f"p{i + 1}").strip().lower()
        if not name or len(name) > 120:
            problems.append(ValidationFailed("a proposal needs a name of at most 120 characters",
                                             field=f"proposals[{i}].name"))
        if not _CODE.match(code) or code in seen:
            problems.append(ValidationFailed("a proposal's code is short, unique, lower-case letters and digits",
                                             field=f"proposals[{i}].code"))
        seen.add(code)
        clean.append({"code": code, "name": name, "item": str(p.get("item", "") or "").strip()[:32]})
    return clean


async def create_survey(principal: Principal, *, project_id: uuid.UUID, title: str, intro: str = "",
                        proposals: list[dict[str, Any]], closes_on: date | None = None) -> dict[str, Any]:
    """Open a survey and tell the project's residents who have a sign-in (a notification with its link)."""
    path = await _project_path(project_id)
    if not _may_run(principal, path):
        raise FieldErrors([ValidationFailed("you may survey residents only where your rights reach",
                                            field="project")])
    problems: list[AppError] = []
    title = (title or "").strip()
    if not title or len(title) > 200:
        problems.append(ValidationFailed("a title of at most 200 characters is required", field="title"))
    if len(intro or "") > 2000:
        problems.append(ValidationFailed("%(field)s is at most %(limit)s characters", field="intro",
                                         params={"field": "intro", "limit": 2000}))
    clean = _clean_proposals(problems, proposals)
    if rules.check_day(problems, "closes_on", closes_on) and closes_on is not None \
            and closes_on < await company_today():
        problems.append(ValidationFailed("the survey closes today or later", field="closes_on"))
    if problems:
        raise FieldErrors(problems)
    residents = await residents_of(project_id)
    row = Survey(project_id=project_id, title=title, intro=(intro or "").strip(), proposals=json.dumps(clean),
                 status="open", closes_on=closes_on, created_by=principal.user_id, sent_to=len(residents),
                 updated_at=clock.now())
    await row.save()
    await approvals_service.notify(residents, "catalogue_survey", SURVEY_SENT, params={"title": title},
                                   link=f"/my/surveys/{row.id}")
    await audit.record("catalogue.survey.create", "service_survey", row.id, after={"title": title,
                                                                                   "sent_to": len(residents)})
    return await get_survey(principal, row.id)


async def residents_of(project_id: uuid.UUID) -> list[uuid.UUID]:
    """Residents with a sign-in who live in the project today."""
    today = await company_today()
    rows = await fetch(
        "SELECT DISTINCT p.user_id FROM unit_occupancy o JOIN property_unit u ON u.id = o.unit"
        " JOIN customer p ON p.id = o.person WHERE u.project_id = $1 AND p.user_id IS NOT NULL"
        " AND (o.starts_on IS NULL OR o.starts_on <= $2) AND (o.ends_on IS NULL OR o.ends_on >= $2)",
        project_id, today)
    return [r["user_id"] for r in rows]


async def get_survey(principal: Principal | None, survey_id: uuid.UUID) -> dict[str, Any]:
    """The survey with its tally (per proposal: how many residents want it) for staff in scope; for a
    resident of the project, the survey and his own answer."""
    row = await Survey.select().where(Survey.id == survey_id).first()
    if row is None:
        raise NotFound("no such survey", code="survey_not_found")
    survey = dict(row)
    survey["proposals"] = json.loads(survey["proposals"]) if isinstance(survey["proposals"], str) \
        else survey["proposals"]
    if principal is not None:
        if principal.kind == "member":
            if survey["project_id"] not in await resident_projects(principal):
                raise NotFound("no such survey", code="survey_not_found")
            mine = await SurveyAnswer.select().where(SurveyAnswer.survey == survey_id,
                                                     SurveyAnswer.user_id == principal.user_id).first()
            survey["mine"] = mine
            return survey
        path = await _project_path(survey["project_id"])
        if not (principal.covers(Perm.CATALOGUE_READ, path) or _may_run(principal, path)):
            raise NotFound("no such survey", code="survey_not_found")
    survey["tally"] = await tally(survey_id)
    return survey


async def tally(survey_id: uuid.UUID) -> dict[str, Any]:
    """Answers counted in SQL: the number of respondents and, per proposal code, how many want it."""
    total = (await fetch("SELECT count(*) AS n FROM service_survey_answer WHERE survey = $1", survey_id))[0]["n"]
    rows = await fetch("SELECT w.code, count(*) AS n FROM service_survey_answer a,"
                       " jsonb_array_elements_text(a.wanted) AS w(code) WHERE a.survey = $1 GROUP BY w.code",
                       survey_id)
    return {"respondents": total, "wanted": {r["code"]: r["n"] for r in rows}}


async def answer(principal: Principal, survey_id: uuid.UUID, *, wanted: list[str], comment: str = "") -> dict[str, Any]:
    survey = await get_survey(principal, survey_id)
    if principal.kind != "member":
        raise Forbidden("residents answer surveys", code="forbidden")
    if survey["status"] != "open" or (survey["closes_on"] is not None and survey["closes_on"] < await company_today()):
        raise Conflict("this survey is closed", code="survey_closed")
    codes = {p["code"] for p in survey["proposals"]}
    problems: list[AppError] = []
    unknown = [c for c in wanted if c not in codes]
    if unknown:
        problems.append(ValidationFailed("choose among the proposed services", field="wanted"))
    if len(comment or "") > 2000:
        problems.append(ValidationFailed("%(field)s is at most %(limit)s characters", field="comment",
                                         params={"field": "comment", "limit": 2000}))
    if problems:
        raise FieldErrors(problems)
    chosen = json.dumps(sorted(set(wanted)))
    await fetch(
        "INSERT INTO service_survey_answer (id, tenant_id, survey, user_id, wanted, comment, created_at, updated_at)"
        " VALUES (gen_random_uuid(), app_current_tenant(), $1, $2, $3::jsonb, $4, now(), now())"
        " ON CONFLICT (tenant_id, survey, user_id) DO UPDATE SET wanted = EXCLUDED.wanted,"
        " comment = EXCLUDED.comment, updated_at = now()", survey_id, principal.user_id, chosen,
        (comment or "").strip())
    return await get_survey(principal, survey_id)


async def close_survey(principal: Principal, survey_id: uuid.UUID) -> dict[str, Any]:
    survey = await get_survey(principal, survey_id)
    if not _may_run(principal, await _project_path(survey["project_id"])):
        raise Forbidden("only those who run the survey close it", code="forbidden")
    await Survey.update({Survey.status: "closed", Survey.updated_at: clock.now()}).where(Survey.id == survey_id)
    return await get_survey(principal, survey_id)


async def list_surveys(principal: Principal) -> list[dict[str, Any]]:
    """Staff: surveys in their projects with respondents counted; a resident: the open ones of his projects."""
    if principal.kind == "member":
        projects = list(await resident_projects(principal))
        return await fetch("SELECT s.id, s.title, s.status, s.closes_on, s.created_at, EXISTS (SELECT 1 FROM"
                           " service_survey_answer a WHERE a.survey = s.id AND a.user_id = $2) AS answered"
                           " FROM service_survey s WHERE s.project_id = ANY($1::uuid[]) AND s.status = 'open'"
                           " ORDER BY s.created_at DESC", projects, principal.user_id)
    reach = await projects_in_reach(principal, Perm.CATALOGUE_READ, Perm.CATALOGUE_MANAGE, Perm.TICKETS_DISPATCH)
    return await fetch(
        "SELECT s.id, s.title, s.status, s.closes_on, s.created_at, s.sent_to, o.name AS project_name,"
        " (SELECT count(*) FROM service_survey_answer a WHERE a.survey = s.id) AS respondents"
        " FROM service_survey s JOIN org_unit o ON o.id = s.project_id"
        " WHERE $1::uuid[] IS NULL OR s.project_id = ANY($1::uuid[])"
        " ORDER BY s.created_at DESC LIMIT 200", reach)


async def tallies_for_item(item_code: str) -> list[dict[str, Any]]:
    """Surveys whose proposal became this item, with how many wanted it: shown beside the proposal."""
    rows = await fetch("SELECT s.id, s.title, s.status, p->>'code' AS code FROM service_survey s,"
                       " jsonb_array_elements(s.proposals) p WHERE p->>'item' = $1 ORDER BY s.created_at DESC",
                       item_code)
    out = []
    for r in rows:
        t = await tally(r["id"])
        out.append({"survey": r["id"], "title": r["title"], "status": r["status"],
                    "wanted": t["wanted"].get(r["code"], 0), "respondents": t["respondents"]})
    return out
