"""The register of subcontractors a company hands services to (§4.2.5–4.2.6)."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

from careclub.catalogue import rules
from careclub.catalogue.tables import Subcontractor, SubcontractorUser
from careclub.core import clock
from careclub.core.db import fetch
from careclub.core.errors import AppError, Conflict, FieldErrors, NotFound, ValidationFailed
from careclub.core.principal import Principal
from careclub.platform import audit
from careclub.platform.tables import User

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")


async def list_subcontractors(*, active_only: bool = False) -> list[dict[str, Any]]:
    query = Subcontractor.select().order_by(Subcontractor.code)
    if active_only:
        query = query.where(Subcontractor.active.eq(True))
    return await query


async def get_subcontractor(sub_id: uuid.UUID) -> dict[str, Any]:
    row = await Subcontractor.select().where(Subcontractor.id == sub_id).first()
    if row is None:
        raise NotFound("no such subcontractor", code="subcontractor_not_found")
    return row


def _check(fields: dict[str, Any]) -> list[AppError]:
    problems: list[AppError] = []
    for name, limit, required in (("name", 120, True), ("services", 2000, False), ("contact_name", 120, False),
                                  ("contact_phone", 32, False)):
        value = fields.get(name) or ""
        if required and not value.strip():
            problems.append(ValidationFailed("%(field)s is required", field=name, params={"field": name}))
        elif len(value) > limit:
            problems.append(ValidationFailed("%(field)s is at most %(limit)s characters", field=name,
                                             params={"field": name, "limit": limit}))
    start, end = fields.get("contract_from"), fields.get("contract_until")
    dates_ok = rules.check_day(problems, "contract_from", start) & rules.check_day(problems, "contract_until", end)
    if dates_ok and isinstance(start, date) and isinstance(end, date) and end < start:
        problems.append(ValidationFailed("the contract ends before it starts", field="contract_until"))
    return problems


async def save_subcontractor(*, code: str, name: str, services: str = "", contact_name: str = "",
                             contact_phone: str = "", contract_from: date | None = None,
                             contract_until: date | None = None, active: bool = True,
                             sub_id: uuid.UUID | None = None) -> dict[str, Any]:
    """Create one (sub_id None) or change one; the code names it in tenant files and never changes."""
    fields: dict[str, Any] = {"name": (name or "").strip(), "services": (services or "").strip(),
              "contact_name": (contact_name or "").strip(), "contact_phone": (contact_phone or "").strip(),
              "contract_from": contract_from, "contract_until": contract_until, "active": active}
    problems = _check(fields)
    if sub_id is None:
        code = (code or "").strip()
        if not _CODE.match(code):
            problems.append(ValidationFailed("a code is 1–32 letters, digits, '-' or '_'", field="code"))
        elif await Subcontractor.exists().where(Subcontractor.code == code):
            problems.append(Conflict("a subcontractor with this code already exists", code="subcontractor_exists",
                                     field="code"))
    if problems:
        raise FieldErrors(problems)
    if sub_id is None:
        row = Subcontractor(code=code, updated_at=clock.now(), **fields)
        await row.save()
        sub_id = row.id
        await audit.record("catalogue.subcontractor.create", "service_subcontractor", sub_id, after={"code": code})
    else:
        await get_subcontractor(sub_id)
        await Subcontractor.update({getattr(Subcontractor, k): v for k, v in fields.items()} |
                                   {Subcontractor.updated_at: clock.now()}).where(Subcontractor.id == sub_id)
        await audit.record("catalogue.subcontractor.update", "service_subcontractor", sub_id,
                           after={"name": fields["name"], "active": active})
    return await get_subcontractor(sub_id)


async def by_code(code: str) -> dict[str, Any] | None:
    return await Subcontractor.select().where(Subcontractor.code == code).first()


# ---- a subcontractor's own staff ---------------------------------------------------------------

async def subcontractor_of(user_id: uuid.UUID) -> dict[str, Any] | None:
    """The subcontractor whose staff the user is (None for everyone else)."""
    rows = await fetch("SELECT s.* FROM service_subcontractor_user u JOIN service_subcontractor s"
                       " ON s.id = u.subcontractor WHERE u.user_id = $1", user_id)
    return rows[0] if rows else None


async def link_user(sub_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Make a staff sign-in one of the subcontractor's people: they then see and work only the tickets and
    orders handed to it."""
    await get_subcontractor(sub_id)
    if not await User.exists().where(User.id == user_id, User.kind == "staff"):
        raise FieldErrors([NotFound("no such staff member", code="user_not_found", field="user")])
    await fetch("INSERT INTO service_subcontractor_user (id, tenant_id, subcontractor, user_id, created_at)"
                " VALUES (gen_random_uuid(), app_current_tenant(), $1, $2, now())"
                " ON CONFLICT (tenant_id, user_id) DO UPDATE SET subcontractor = EXCLUDED.subcontractor",
                sub_id, user_id)
    await audit.record("catalogue.subcontractor.user", "service_subcontractor", sub_id, after={"user": str(user_id)})


async def unlink_user(sub_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await SubcontractorUser.delete().where(SubcontractorUser.subcontractor == sub_id,
                                           SubcontractorUser.user_id == user_id)


async def users_of(sub_id: uuid.UUID) -> list[dict[str, Any]]:
    return await fetch("SELECT a.id, a.display_name, a.email FROM service_subcontractor_user u"
                       " JOIN app_user a ON a.id = u.user_id WHERE u.subcontractor = $1 ORDER BY a.display_name",
                       sub_id)


async def subcontractor_actors(principal: Principal, ticket: dict[str, Any]) -> set[str]:
    """The ticket core asks: a subcontractor's people handle what is handed to their company."""
    if principal.kind != "staff" or not ticket.get("subcontractor"):
        return set()
    sub = await subcontractor_of(principal.user_id)
    if sub is not None and sub["name"] == ticket["subcontractor"]:
        return {"handle", "see"}
    return set()
