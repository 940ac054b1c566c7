"""Finding people: org units relative to a requester, role holders, bodies' members, delegations."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from piccolo.columns import Boolean

from careclub.approvals.rules import KIND_PLACES, ApproverSpec
from careclub.approvals.tables import ApprovalBody, Delegation
from careclub.core.errors import NotFound
from careclub.platform.tables import OrgUnit, RoleGrant, User


def _active(column: Any) -> Any:
    """`column = true` on a joined Boolean column (typed loosely by Piccolo)."""
    return cast(Boolean, column).eq(True)


@dataclass(frozen=True)
class Unit:
    id: uuid.UUID
    code: str
    name: str
    kind: str
    parent: uuid.UUID | None
    path: str


class Org:
    """The tenant's org tree, loaded once per operation (trees are small)."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.by_id = {r["id"]: Unit(r["id"], r["code"], r["name"], r["kind"], r["parent"], r["path"]) for r in rows}
        self.by_code = {u.code: u for u in self.by_id.values()}
        roots = [u for u in self.by_id.values() if u.parent is None]
        self.root = roots[0]

    @classmethod
    async def load(cls) -> Org:
        rows = await OrgUnit.select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.kind, OrgUnit.parent,
                                    OrgUnit.path)
        return cls(rows)

    def find(self, ref: uuid.UUID | str | None, *, field: str = "org_unit") -> Unit:
        """None is the company itself; otherwise a unit's id (or, for people typing, its code)."""
        if ref is None:
            return self.root
        if isinstance(ref, uuid.UUID):
            unit = self.by_id.get(ref)
        else:
            try:
                unit = self.by_id.get(uuid.UUID(ref))
            except ValueError:
                unit = self.by_code.get(ref)
        if unit is None:
            raise NotFound("no such org unit", code="org_unit_not_found", field=field)
        return unit

    def chain(self, unit: Unit) -> list[Unit]:
        """The unit and its ancestors, nearest first."""
        out = []
        current: Unit | None = unit
        while current is not None:
            out.append(current)
            current = self.by_id.get(current.parent) if current.parent else None
        return out

    def place(self, unit: Unit, at: str | None) -> Unit | None:
        where = at or "unit"
        if where == "unit":
            return unit
        if where == "company":
            return self.root
        if where == "parent":
            return self.by_id.get(unit.parent) if unit.parent else None
        if where in KIND_PLACES:
            return next((u for u in self.chain(unit) if u.kind == where), None)
        return None


@dataclass(frozen=True)
class Person:
    id: uuid.UUID
    name: str
    email: str


async def people(ids: list[uuid.UUID]) -> dict[uuid.UUID, Person]:
    if not ids:
        return {}
    rows = await User.select(User.id, User.display_name, User.email).where(User.id.is_in(list(set(ids))))
    return {r["id"]: Person(r["id"], r["display_name"], r["email"]) for r in rows}


async def holders(role: str, unit_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Person]]:
    if not unit_ids:
        return {}
    rows = await RoleGrant.select(RoleGrant.org_unit, RoleGrant.user.id, RoleGrant.user.display_name,
                                  RoleGrant.user.email).where(
        RoleGrant.role.code == role, RoleGrant.org_unit.is_in(unit_ids), _active(RoleGrant.user.is_active))
    out: dict[uuid.UUID, list[Person]] = {}
    for r in rows:
        out.setdefault(r["org_unit"], []).append(Person(r["user.id"], r["user.display_name"], r["user.email"]))
    for found in out.values():
        found.sort(key=lambda p: (p.name, str(p.id)))
    return out


async def body_by_code(code: str) -> dict[str, Any] | None:
    return await ApprovalBody.select().where(ApprovalBody.code == code).first()


def describe(a: ApproverSpec, org: Org | None = None) -> str:
    if a.body:
        return f"body {a.body}"
    if a.unit:
        return f"role {a.role} at unit {a.unit}"
    return f"role {a.role} at {a.at or 'unit'}"


async def resolve(a: ApproverSpec, org: Org, unit: Unit) -> list[Person]:
    """Who an approver reference means for a request from `unit`. A role is looked up at the
    place it names; when nobody holds it there, at the nearest ancestor holding it (a grant
    covers its subtree)."""
    if a.body:
        body = await body_by_code(a.body)
        if body is None:
            return []
        members = await people(list(body["member_ids"]))
        active = await User.select(User.id).where(User.id.is_in(list(members) or [uuid.uuid4()]),
                                                  User.is_active.eq(True))
        keep = {r["id"] for r in active}
        return sorted((p for p in members.values() if p.id in keep), key=lambda p: (p.name, str(p.id)))
    assert a.role is not None
    if a.unit:
        target: Unit | None = org.by_code.get(a.unit)
    else:
        target = org.place(unit, a.at)
    if target is None:
        return []
    chain = org.chain(target)
    found = await holders(a.role, [u.id for u in chain])
    for u in chain:
        if found.get(u.id):
            return found[u.id]
    return []


async def exists_anywhere(a: ApproverSpec, org: Org) -> bool:
    """Policy validation: can this reference find at least one person in the tenant?"""
    if a.body or a.unit:
        return bool(await resolve(a, org, org.root))
    assert a.role is not None
    return bool(await RoleGrant.exists().where(RoleGrant.role.code == a.role, _active(RoleGrant.user.is_active)))


async def delegators_of(user_id: uuid.UUID, today: date) -> list[dict[str, Any]]:
    """Whom `user_id` stands in for today."""
    return await Delegation.select().where(
        Delegation.delegate == user_id, Delegation.starts_on <= today, Delegation.ends_on >= today,
        Delegation.revoked_at.is_null())
