"""Projects' accounts: their stage (before or after move-in, which decides the developer's reviewer) and
their phases, each moving in on its own."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from careclub.core import clock
from careclub.core.errors import Conflict, FieldErrors, NotFound, Problems, ValidationFailed
from careclub.core.principal import Principal
from careclub.platform import audit
from careclub.platform.permissions import Perm
from careclub.platform.tables import OrgUnit
from careclub.settlements.service._common import check_stage, lock_project, project_unit, reach
from careclub.settlements.tables import SettlementPhase, SettlementProject


async def list_projects(principal: Principal | None, *, only: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """Every project in reach (or the one `only`) with its account's stage and phases (a company has tens of
    projects)."""
    in_reach = await reach(principal)
    query = OrgUnit.select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(OrgUnit.kind == "project")
    if in_reach is not None:
        query = query.where(OrgUnit.id.is_in(in_reach or [uuid.uuid4()]))
    if only is not None:
        query = query.where(OrgUnit.id == only)
    units = await query.order_by(OrgUnit.code)
    ids = [u["id"] for u in units] or [uuid.uuid4()]
    accounts = {r["project_id"]: r for r in await SettlementProject.select().where(
        SettlementProject.project_id.is_in(ids))}
    phases: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for p in await SettlementPhase.select().where(SettlementPhase.project_id.is_in(ids)).order_by(
            SettlementPhase.code):
        phases.setdefault(p["project_id"], []).append(_phase(p))
    out = []
    for u in units:
        account = accounts.get(u["id"])
        out.append({"id": u["id"], "code": u["code"], "name": u["name"],
                    "stage": account["stage"] if account else "pre_move_in",
                    "moved_in_on": account["moved_in_on"] if account else None,
                    "note": account["note"] if account else "",
                    "phases": phases.get(u["id"], [])})
    return out


def _phase(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "code": row["code"], "name": row["name"], "stage": row["stage"],
            "moved_in_on": row["moved_in_on"]}


async def get_project(principal: Principal | None, ref: uuid.UUID | str) -> dict[str, Any]:
    unit = await project_unit(principal, ref)
    return (await list_projects(None, only=unit["id"]))[0]


async def set_project(principal: Principal | None, ref: uuid.UUID | str, *, stage: str, moved_in_on: date | None,
                      note: str = "") -> dict[str, Any]:
    """Set a project's stage: move-in moves the review of its work to the customer-service group."""
    unit = await project_unit(principal, ref, Perm.SETTLEMENTS_MANAGE)
    problems = Problems()
    problems.check(check_stage, stage)
    if stage == "post_move_in" and moved_in_on is None:
        problems.add(ValidationFailed("give the move-in date of a project after move-in", field="moved_in_on",
                                      code="moved_in_on_required"))
    problems.done()
    before = await lock_project(unit["id"])
    await SettlementProject.update({SettlementProject.stage: stage, SettlementProject.moved_in_on: moved_in_on,
                                    SettlementProject.note: note.strip(),
                                    SettlementProject.updated_at: clock.now()}).where(
        SettlementProject.project_id == unit["id"])
    await audit.record("settlements.project.stage", "org_unit", unit["id"],
                       before={"stage": before["stage"]}, after={"stage": stage, "moved_in_on": moved_in_on})
    return await get_project(None, unit["id"])


async def set_phase(principal: Principal | None, ref: uuid.UUID | str, *, code: str, name: str, stage: str,
                    moved_in_on: date | None) -> dict[str, Any]:
    """Add or change a phase of a phased project (matched by its code)."""
    unit = await project_unit(principal, ref, Perm.SETTLEMENTS_MANAGE)
    code, name = code.strip(), name.strip()
    problems: list[Any] = []
    if not code or len(code) > 32:
        problems.append(ValidationFailed("code is required (at most 32 characters)", field="code",
                                         code="invalid_code"))
    if not name or len(name) > 120:
        problems.append(ValidationFailed("name is required (at most 120 characters)", field="name",
                                         code="invalid_name"))
    try:
        check_stage(stage)
    except ValidationFailed as exc:
        problems.append(exc)
    if stage == "post_move_in" and moved_in_on is None:
        problems.append(ValidationFailed("give the move-in date of a project after move-in", field="moved_in_on",
                                         code="moved_in_on_required"))
    if problems:
        raise FieldErrors(problems)
    await lock_project(unit["id"])
    existing = await SettlementPhase.select(SettlementPhase.id).where(
        SettlementPhase.project_id == unit["id"], SettlementPhase.code == code).first()
    if existing is None:
        await SettlementPhase(project_id=unit["id"], code=code, name=name, stage=stage, moved_in_on=moved_in_on).save()
    else:
        await SettlementPhase.update({SettlementPhase.name: name, SettlementPhase.stage: stage,
                                      SettlementPhase.moved_in_on: moved_in_on}).where(
            SettlementPhase.id == existing["id"])
    await audit.record("settlements.phase", "org_unit", unit["id"], after={"code": code, "stage": stage})
    return await get_project(None, unit["id"])


async def remove_phase(principal: Principal | None, ref: uuid.UUID | str, phase_id: uuid.UUID) -> dict[str, Any]:
    from careclub.settlements.tables import SettlementBudget

    unit = await project_unit(principal, ref, Perm.SETTLEMENTS_MANAGE)
    await lock_project(unit["id"])
    phase = await SettlementPhase.select().where(SettlementPhase.id == phase_id,
                                                SettlementPhase.project_id == unit["id"]).first()
    if phase is None:
        raise NotFound("no such phase of this project", code="phase_not_found", field="phase")
    if await SettlementBudget.exists().where(SettlementBudget.phase_id == phase_id):
        raise Conflict("budgets name this phase: it stays", code="phase_in_use")
    await SettlementPhase.delete().where(SettlementPhase.id == phase_id)
    await audit.record("settlements.phase.remove", "org_unit", unit["id"], before={"code": phase["code"]})
    return await get_project(None, unit["id"])


async def setup_status() -> dict[str, Any]:
    """What a company still has to set up before its first settlement (a new company has none of it): projects
    (org units of kind project), an approval policy for each decision, and people on both sides (a tenant
    admin holds every permission, but the two sides are other people)."""
    from careclub.approvals.tables import ApprovalPolicy
    from careclub.core.db import fetch
    from careclub.settlements import rules

    projects = await OrgUnit.count().where(OrgUnit.kind == "project")
    current = {r["subject_type"] for r in await ApprovalPolicy.select(ApprovalPolicy.subject_type).where(
        ApprovalPolicy.is_current.eq(True))}
    held = {r["p"] for r in await fetch("SELECT DISTINCT unnest(r.permissions) AS p FROM role_grant g "
                                        "JOIN role r ON r.id = g.role WHERE r.code <> 'tenant_admin'")}
    subjects = (rules.SUBJECT_BUDGET, rules.SUBJECT_WORK, rules.SUBJECT_ADDITION, rules.SUBJECT_SETTLEMENT)
    status: dict[str, Any] = {"projects": projects > 0, "policies": {s: s in current for s in subjects},
                              "preparers": Perm.SETTLEMENTS_PREPARE.value in held,
                              "confirmers": Perm.SETTLEMENTS_CONFIRM.value in held}
    status["ready"] = bool(status["projects"] and all(status["policies"].values()) and status["preparers"]
                           and status["confirmers"])
    return status
