"""Who may see a ticket and who may move it, and who hears about it.

Staff see a ticket through their rights over where it sits: dispatchers (`tickets.dispatch`) over its
project see all of the project's tickets; handlers (`tickets.handle`) see the tickets held by a department
their rights cover — a department clerk sees his department's queue and nothing else; the assignee and the
person who raised it always see it. A resident sees the tickets of the units he lives in, when the type lets
residents see it. Anyone else gets 404, exactly as for a ticket that does not exist."""

from __future__ import annotations

import uuid
from typing import Any

from careclub.core.db import fetch
from careclub.core.principal import Principal
from careclub.platform.permissions import Perm
from careclub.platform.tables import OrgUnit
from careclub.tickets.service._guards import extra_actors
from careclub.tickets.service._residents import resident_units


async def paths(*unit_ids: uuid.UUID | None) -> dict[uuid.UUID, str]:
    ids = [u for u in unit_ids if u is not None]
    if not ids:
        return {}
    rows = await OrgUnit.select(OrgUnit.id, OrgUnit.path).where(OrgUnit.id.is_in(ids))
    return {r["id"]: r["path"] for r in rows}


async def actors(principal: Principal, ticket: dict[str, Any], ticket_type: dict[str, Any]) -> set[str]:
    """The parts the person plays for this ticket: dispatch, handle, resident, and `see` when they may read it."""
    found: set[str] = set()
    if principal.kind == "member":
        if ticket["raised_by"] == principal.user_id or (
                "residents" in ticket_type["visible_to"] and ticket["unit"] is not None
                and ticket["unit"] in await resident_units(principal)):
            found |= {"resident", "see"}
        return found
    where = await paths(ticket["project_id"], ticket["department"])
    project_path = where.get(ticket["project_id"]) if ticket["project_id"] else None
    department_path = where.get(ticket["department"]) if ticket["department"] else None
    if principal.covers(Perm.TICKETS_DISPATCH, project_path) or (
            department_path and principal.covers(Perm.TICKETS_DISPATCH, department_path)):
        found |= {"dispatch", "handle", "see"}
    if principal.can(Perm.TICKETS_HANDLE):
        held = department_path or project_path
        if "department" in ticket_type["visible_to"] and principal.covers(Perm.TICKETS_HANDLE, held):
            found |= {"handle", "see"}
        if ticket["assignee"] == principal.user_id and "assignee" in ticket_type["visible_to"]:
            found |= {"handle", "see"}
    if ticket["raised_by"] == principal.user_id:
        found.add("see")
    return found | await extra_actors(principal, ticket)


async def _grant_holders(condition: str, value: str, path: str | None) -> list[uuid.UUID]:
    """Active people with a grant matching `condition` (on the role `r`, with `$1` = value) at the unit at
    `path` or above it (a grant covers its subtree; None: a grant at the company's root)."""
    rows = await fetch(
        "SELECT DISTINCT u.id FROM role_grant g JOIN role r ON r.id = g.role JOIN org_unit o ON o.id = g.org_unit"
        f" JOIN app_user u ON u.id = g.\"user\" WHERE {condition} AND u.is_active"
        " AND ($2::text IS NULL AND o.parent IS NULL OR $2::text LIKE o.path || '%')", value, path)
    return [r["id"] for r in rows]


async def people_with(permission: str, path: str | None) -> list[uuid.UUID]:
    """Active staff holding `permission` at a unit whose subtree holds `path` (the whole company when None)."""
    return await _grant_holders("$1 = ANY(r.permissions) AND u.kind = 'staff'", permission, path)


async def role_holders(role: str, path: str | None) -> list[uuid.UUID]:
    """Active holders of a role at the unit at `path` or above it (a grant covers its subtree)."""
    return await _grant_holders("r.code = $1", role, path) if role else []
