"""Who may see and do what on a project's account, the company's settlement terms, and the project
rows every other part locks before it writes."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from careclub.core import clock
from careclub.core.db import fetch
from careclub.core.errors import Forbidden, NotFound, ValidationFailed
from careclub.core.principal import Principal
from careclub.platform.permissions import Perm
from careclub.platform.service import projects_in_reach
from careclub.platform.tables import OrgUnit
from careclub.settlements import rules
from careclub.settlements.tables import SettlementPhase, SettlementProject, SettlementSettings

READERS = (Perm.SETTLEMENTS_READ, Perm.SETTLEMENTS_PREPARE, Perm.SETTLEMENTS_CONFIRM, Perm.SETTLEMENTS_MANAGE)


def may_read(principal: Principal) -> bool:
    """Any settlements right (the developer's readers and confirmers, the property company's preparers, the
    managers), staff only: what is shown is then cut to the projects it reaches."""
    return principal.kind == "staff" and any(principal.can(p) for p in READERS)


def reader(principal: Principal) -> None:
    """The gate of every settlements read, API and pages alike."""
    if not may_read(principal):
        raise Forbidden("your roles do not include the permission %(needed)s", code="forbidden",
                        params={"needed": Perm.SETTLEMENTS_READ})


async def reach(principal: Principal | None) -> list[uuid.UUID] | None:
    """The projects whose accounts the person sees (None: every project). The developer's designated
    people hold a settlements permission at the company and see every account at any time (§3.2.1);
    the property company's people hold theirs at their projects and see those only."""
    if principal is None:
        return None
    return await projects_in_reach(principal, *READERS)


async def project_unit(principal: Principal | None, ref: uuid.UUID | str, perm: Perm | None = None, *,
                       field: str = "project") -> dict[str, Any]:
    """A project (org unit of kind project) by id or code that the person may see, and, with `perm`, act
    on; anything else answers 404 exactly as a project that does not exist."""
    query = OrgUnit.select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.path, OrgUnit.kind)
    if isinstance(ref, uuid.UUID):
        row = await query.where(OrgUnit.id == ref).first()
    else:
        try:
            row = await query.where(OrgUnit.id == uuid.UUID(ref)).first()
        except ValueError:
            row = await query.where(OrgUnit.code == ref).first()
    if row is None or row["kind"] != "project":
        raise NotFound("no such project", code="project_not_found", field=field)
    if principal is not None:
        if not any(principal.covers(p, row["path"]) for p in READERS):
            raise NotFound("no such project", code="project_not_found", field=field)
        if perm is not None and not principal.covers(perm, row["path"]):
            raise Forbidden("your roles do not include the permission %(needed)s for this project",
                            code="forbidden", params={"needed": perm})
    return row


async def lock_project(project_id: uuid.UUID) -> dict[str, Any]:
    """The project's account row, created on first use and locked: budget numbers, payments against a
    line and the month's settlement are written one at a time per project."""
    await fetch("INSERT INTO settlement_project (id, tenant_id, created_at, project_id, stage, moved_in_on, active, "
                "note, updated_at) VALUES ($1, app_current_tenant(), now(), $2, 'pre_move_in', NULL, true, '', now()) "
                "ON CONFLICT (tenant_id, project_id) DO NOTHING", uuid.uuid4(), project_id)
    rows = await fetch("SELECT * FROM settlement_project WHERE project_id = $1 FOR UPDATE", project_id)
    return dict(rows[0])


async def stage_of(project_id: uuid.UUID, phase_id: uuid.UUID | None) -> str:
    """The stage the work belongs to: its phase's, or the project's (before move-in when not yet set)."""
    if phase_id is not None:
        phase = await SettlementPhase.select(SettlementPhase.stage).where(
            SettlementPhase.id == phase_id, SettlementPhase.project_id == project_id).first()
        if phase is None:
            raise NotFound("no such phase of this project", code="phase_not_found", field="phase")
        return str(phase["stage"])
    row = await SettlementProject.select(SettlementProject.stage).where(
        SettlementProject.project_id == project_id).first()
    return str(row["stage"]) if row else "pre_move_in"


async def terms() -> dict[str, Any]:
    """The company's settlement terms (the guide's defaults until an admin changes them)."""
    row = await SettlementSettings.select().first()
    if row is None:
        return {"fee_rate_bp": 1000, "due_day": 22, "updated_at": None}
    return {"fee_rate_bp": row["fee_rate_bp"], "due_day": row["due_day"], "updated_at": row["updated_at"]}


def parse_rate(text: str, *, field: str = "fee_rate") -> int:
    """'10' or '10.00' (per cent) -> 1000 basis points; 0–100 with at most two places."""
    cleaned = (text or "").strip().removesuffix("%").strip()
    whole, _, frac = cleaned.partition(".")
    if not whole.isdigit() or (frac and (not frac.isdigit() or len(frac) > 2)):
        raise ValidationFailed("%(field)s must be a percentage with at most two places, like 10 or 8.5",
                               field=field, code="invalid_rate", params={"field": field})
    bp = int(whole) * 100 + int((frac + "00")[:2])
    if bp > 10000:
        raise ValidationFailed("%(field)s must be a percentage with at most two places, like 10 or 8.5",
                               field=field, code="invalid_rate", params={"field": field})
    return bp


def rate_text(bp: int) -> str:
    return f"{bp // 100}.{bp % 100:02d}"


async def set_terms(*, fee_rate_bp: int, due_day: int) -> dict[str, Any]:
    if not 1 <= due_day <= 28:
        raise ValidationFailed("due_day must be a day from 1 to 28", field="due_day", code="invalid_due_day")
    if not 0 <= fee_rate_bp <= 10000:
        raise ValidationFailed("fee_rate must be from 0 to 100 per cent", field="fee_rate", code="invalid_rate")
    await fetch("INSERT INTO settlement_settings (id, tenant_id, created_at, fee_rate_bp, due_day, updated_at) "
                "VALUES ($1, app_current_tenant(), now(), $2, $3, $4) ON CONFLICT (tenant_id) DO UPDATE "
                "SET fee_rate_bp = EXCLUDED.fee_rate_bp, due_day = EXCLUDED.due_day, updated_at = EXCLUDED.updated_at",
                uuid.uuid4(), fee_rate_bp, due_day, clock.now())
    return await terms()


def check_stage(stage: str, field: str = "stage") -> str:
    if stage not in rules.STAGES:
        raise ValidationFailed("%(field)s must be one of %(choices)s", field=field, code="invalid_choice",
                               params={"field": field, "choices": ", ".join(rules.STAGES)})
    return stage


async def may_read_record(get: Callable[[Principal, uuid.UUID], Awaitable[Any]], principal: Any,
                          subject_id: str) -> bool:
    """Whether the person reads a record of the accounts (a budget, a month) through its own getter, which answers
    404 outside his reach: the approval core then shows the record's request to him, read-only."""
    if not isinstance(principal, Principal) or principal.kind != "staff":
        return False
    try:
        await get(principal, uuid.UUID(subject_id))
    except (NotFound, Forbidden, ValueError):
        return False
    return True
