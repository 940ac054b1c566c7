"""Org units, staff, roles and invitations of the tenant in context.

Reads take the principal so every list and lookup is cut to the subtrees where the reader
holds the permission; an id outside them answers exactly like an id that does not exist.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import asyncpg
from piccolo.columns.combination import Or

from careclub.core import clock, sessions
from careclub.core.db import like_escape
from careclub.core.errors import Conflict, Forbidden, NotFound, Problems, ValidationFailed
from careclub.core.principal import Principal
from careclub.core.security import check_password_strength, digest, hash_password, new_secret
from careclub.platform import audit, rules
from careclub.platform.permissions import Perm
from careclub.platform.service._invite_actions import run_on_accept
from careclub.platform.tables import Invite, OrgUnit, Role, RoleGrant, User

UNIT_FIELDS = (OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.kind, OrgUnit.parent, OrgUnit.path)


def _in_scope(column: Any, paths: list[str]) -> Any:
    """A WHERE clause matching rows whose org-unit path lies under one of `paths`."""
    if not paths:
        return column.is_null()  # paths are never null: no row (a NUL in a literal would be refused)
    clauses = [column.like(p + "%") for p in paths]
    combined = clauses[0]
    for c in clauses[1:]:
        combined = Or(combined, c)
    return combined


async def units_in_scope(principal: Principal | None, perm: Perm) -> list[uuid.UUID] | None:
    """The ids of the org units `perm` covers for the principal, or None when it covers the whole
    company. Rows carrying a unit id are then scoped with `unit = ANY(ids)`, which an index serves,
    instead of matching each row's unit path with LIKE."""
    if principal is None or principal.covers(perm, None):
        return None
    rows = await OrgUnit.select(OrgUnit.id).where(_in_scope(OrgUnit.path, principal.scope(perm)))
    return [r["id"] for r in rows]


async def projects_in_reach(principal: Principal, *perms: Perm) -> list[uuid.UUID] | None:
    """The org units where the person holds any of `perms`, as ids, or None when one of them covers the whole
    company: rows are then scoped with `project_id = ANY(ids)` (an index walks, each row checked against a short
    list), as the ticket lists do (the catalogue's, the settlements'), instead of matching every row's unit path."""
    found: set[uuid.UUID] = set()
    for perm in perms:
        if not principal.can(perm):
            continue
        units = await units_in_scope(principal, perm)
        if units is None:
            return None
        found.update(units)
    return sorted(found)


# ---- org units ---------------------------------------------------------------------------

async def list_units(principal: Principal, perm: Perm = Perm.ORG_READ) -> list[dict[str, Any]]:
    return await OrgUnit.select(*UNIT_FIELDS).where(_in_scope(OrgUnit.path, principal.scope(perm))).order_by(
        OrgUnit.path)


async def get_unit(principal: Principal, unit_id: uuid.UUID, perm: Perm = Perm.ORG_READ) -> dict[str, Any]:
    row = await OrgUnit.select(*UNIT_FIELDS).where(OrgUnit.id == unit_id).first()
    if row is None or not principal.covers(perm, row["path"]):
        raise NotFound("no such org unit", code="org_unit_not_found")
    return row


async def unit_by_code(code: str) -> dict[str, Any] | None:
    return await OrgUnit.select(*UNIT_FIELDS).where(OrgUnit.code == code).first()


async def root_unit() -> dict[str, Any]:
    row = await OrgUnit.select(*UNIT_FIELDS).where(OrgUnit.parent.is_null()).order_by(OrgUnit.created_at).first()
    assert row is not None, "every tenant has a root unit"
    return row


async def create_unit(principal: Principal | None, *, code: str, name: str, kind: str,
                      parent_id: uuid.UUID) -> dict[str, Any]:
    problems = Problems()  # every field's problem at once
    code, name, kind = (problems.check(rules.check_code, code), problems.check(rules.check_text, name, "name"),
                        problems.check(rules.check_unit_kind, kind))
    problems.done()
    parent = (await get_unit(principal, parent_id, Perm.ORG_MANAGE) if principal
              else await OrgUnit.select(*UNIT_FIELDS).where(OrgUnit.id == parent_id).first())
    if parent is None:
        raise NotFound("no such parent unit", code="org_unit_not_found", field="parent_id")
    if kind == "company":
        raise ValidationFailed("only the root unit is a company", field="kind")
    if await OrgUnit.exists().where(OrgUnit.code == code):
        raise Conflict("an org unit with code %(code)r exists already", code="org_unit_code_taken", field="code",
                       params={"code": code})
    unit = OrgUnit(code=code, name=name, kind=kind, parent=parent["id"])
    unit.path = rules.child_path(parent["path"], unit.id)
    try:
        await unit.save()
    except asyncpg.UniqueViolationError as exc:
        raise Conflict("an org unit with code %(code)r exists already", code="org_unit_code_taken",
                       field="code", params={"code": code}) from exc
    after = {"code": code, "name": name, "kind": kind, "parent": parent["id"]}
    await audit.record("org_unit.create", "org_unit", unit.id, after=after)
    return {"id": unit.id, "path": unit.path, **after}


async def update_unit(principal: Principal | None, unit_id: uuid.UUID, *, name: str | None = None,
                      kind: str | None = None) -> dict[str, Any]:
    unit = (await get_unit(principal, unit_id, Perm.ORG_MANAGE) if principal
            else await OrgUnit.select(*UNIT_FIELDS).where(OrgUnit.id == unit_id).first())
    if unit is None:
        raise NotFound("no such org unit", code="org_unit_not_found")
    changes: dict[Any, Any] = {}
    if name is not None and name.strip() != unit["name"]:
        changes[OrgUnit.name] = rules.check_text(name, "name")
    if kind is not None and kind != unit["kind"]:
        if unit["parent"] is None or kind == "company":
            raise ValidationFailed("the root unit is always the company", field="kind")
        changes[OrgUnit.kind] = rules.check_unit_kind(kind)
    if changes:
        await OrgUnit.update(changes).where(OrgUnit.id == unit_id)
        await audit.record("org_unit.update", "org_unit", unit_id,
                           before={c._meta.name: unit[c._meta.name] for c in changes},
                           after={c._meta.name: v for c, v in changes.items()})
    return {**unit, **{c._meta.name: v for c, v in changes.items()}}


async def delete_unit(principal: Principal, unit_id: uuid.UUID) -> None:
    unit = await get_unit(principal, unit_id, Perm.ORG_MANAGE)
    if unit["parent"] is None:
        raise ValidationFailed("the company root cannot be deleted", code="org_unit_is_root")
    if await OrgUnit.exists().where(OrgUnit.parent == unit_id):
        raise Conflict("the unit still has child units", code="org_unit_not_empty")
    if await User.exists().where(User.org_unit == unit_id) or await RoleGrant.exists().where(
            RoleGrant.org_unit == unit_id):
        raise Conflict("people or roles are still attached to the unit", code="org_unit_not_empty")
    await OrgUnit.delete().where(OrgUnit.id == unit_id)
    await audit.record("org_unit.delete", "org_unit", unit_id, before=audit.snapshot(unit))


# ---- roles ----------------------------------------------------------------------------------

async def list_roles() -> list[dict[str, Any]]:
    return await Role.select(Role.id, Role.code, Role.name, Role.description, Role.permissions,
                             Role.builtin).order_by(Role.builtin, ascending=False).order_by(Role.code)


async def get_role(role_id: uuid.UUID) -> dict[str, Any]:
    row = await Role.select().where(Role.id == role_id).first()
    if row is None:
        raise NotFound("no such role", code="role_not_found")
    return row


async def role_by_code(code: str) -> dict[str, Any]:
    row = await Role.select().where(Role.code == code).first()
    if row is None:
        raise NotFound("no role with code %(code)r", code="role_not_found", field="role", params={"code": code})
    return row


async def create_role(*, code: str, name: str, permissions: list[str], description: str = "") -> dict[str, Any]:
    problems = Problems()
    code, name = problems.check(rules.check_code, code), problems.check(rules.check_text, name, "name", max_len=120)
    perms = problems.check(rules.check_permissions, permissions)
    problems.done()
    if await Role.exists().where(Role.code == code):
        raise Conflict("a role with code %(code)r exists already", code="role_code_taken", field="code",
                       params={"code": code})
    role = Role(code=code, name=name, description=description, permissions=perms, builtin=False)
    await role.save()
    await audit.record("role.create", "role", role.id, after={"code": code, "name": name, "permissions": perms})
    return await get_role(role.id)


async def update_role(role_id: uuid.UUID, *, name: str | None = None, permissions: list[str] | None = None,
                      description: str | None = None) -> dict[str, Any]:
    role = await get_role(role_id)
    if role["builtin"] and permissions is not None and sorted(permissions) != sorted(role["permissions"]):
        raise Forbidden("built-in roles keep their permissions; create a role of your own instead",
                        code="role_is_builtin")
    changes: dict[Any, Any] = {}
    if name is not None:
        changes[Role.name] = rules.check_text(name, "name", max_len=120)
    if description is not None:
        changes[Role.description] = description.strip()
    if permissions is not None:
        changes[Role.permissions] = rules.check_permissions(permissions)
    if changes:
        await Role.update(changes).where(Role.id == role_id)
        await audit.record("role.update", "role", role_id,
                           before={c._meta.name: role[c._meta.name] for c in changes},
                           after={c._meta.name: v for c, v in changes.items()})
    return await get_role(role_id)


async def delete_role(role_id: uuid.UUID) -> None:
    role = await get_role(role_id)
    if role["builtin"]:
        raise Forbidden("built-in roles cannot be deleted", code="role_is_builtin")
    if await RoleGrant.exists().where(RoleGrant.role == role_id):
        raise Conflict("people still hold this role", code="role_in_use")
    await Role.delete().where(Role.id == role_id)
    await audit.record("role.delete", "role", role_id, before=audit.snapshot(role))


# ---- staff ----------------------------------------------------------------------------------

USER_FIELDS = (User.id, User.email, User.display_name, User.phone, User.kind, User.org_unit,
               User.org_unit.name, User.org_unit.path, User.locale, User.is_active, User.last_login_at,
               User.created_at)


async def list_staff(principal: Principal, *, kind: str | None = None, q: str | None = None,
                     unit_id: uuid.UUID | None = None, limit: int = 50, offset: int = 0
                     ) -> tuple[list[dict[str, Any]], int]:
    where: list[Any] = [_in_scope(User.org_unit.path, principal.scope(Perm.STAFF_READ))]
    if kind:
        where.append(User.kind == kind)
    if q:
        pattern = "%" + like_escape(q) + "%"
        where.append(Or(User.email.ilike(pattern), User.display_name.ilike(pattern)))
    if unit_id:
        where.append(User.org_unit == unit_id)
    rows = await User.select(*USER_FIELDS).where(*where).order_by(User.display_name).limit(limit).offset(offset)
    total = await User.count().where(*where)
    return rows, total


async def get_staff(principal: Principal | None, user_id: uuid.UUID, perm: Perm = Perm.STAFF_READ) -> dict[str, Any]:
    row = await User.select(*USER_FIELDS).where(User.id == user_id).first()
    if row is None or (principal is not None and not principal.covers(perm, row["org_unit.path"])):
        raise NotFound("no such person", code="user_not_found")
    row["roles"] = await grants_of(user_id)
    return row


async def grants_of(user_id: uuid.UUID) -> list[dict[str, Any]]:
    return await RoleGrant.select(RoleGrant.id, RoleGrant.role, RoleGrant.role.code, RoleGrant.role.name,
                                  RoleGrant.org_unit, RoleGrant.org_unit.name).where(RoleGrant.user == user_id)


async def create_staff(principal: Principal | None, *, email: str, display_name: str, unit_id: uuid.UUID,
                       roles: list[str], password: str | None = None, phone: str | None = None,
                       kind: str = "staff", locale: str | None = None, demo: bool = False) -> dict[str, Any]:
    problems = Problems()  # every field's problem at once
    email = problems.check(rules.check_email, email)
    display_name = problems.check(rules.check_text, display_name, "display_name", max_len=120)
    if kind not in rules.USER_KINDS:
        problems.add(ValidationFailed("kind must be one of %(choices)s", field="kind",
                                      params={"choices": ', '.join(rules.USER_KINDS)}))
    if password is not None:
        problems.check(check_password_strength, password)
    if email and await User.exists().where(User.email == email):
        problems.add(Conflict("someone with the email %(email)s exists already", code="email_taken", field="email",
                              params={"email": email}))
    problems.done()
    unit = (await get_unit(principal, unit_id, Perm.STAFF_MANAGE) if principal
            else await OrgUnit.select(*UNIT_FIELDS).where(OrgUnit.id == unit_id).first())
    if unit is None:
        raise NotFound("no such org unit", code="org_unit_not_found", field="org_unit")
    user = User(email=email, display_name=display_name, phone=phone, kind=kind, org_unit=unit["id"],
                locale=rules.check_locale(locale), demo=demo,
                password_hash=hash_password(password) if password else None)
    try:
        await user.save()
    except asyncpg.UniqueViolationError as exc:
        raise Conflict("someone with the email %(email)s exists already", code="email_taken", field="email",
                       params={"email": email}) from exc
    await audit.record("user.create", "user", user.id,
                       after={"email": email, "display_name": display_name, "kind": kind, "org_unit": unit["id"]})
    for code in roles:
        await grant_role(principal, user.id, code, unit["id"])
    return await get_staff(None, user.id)


async def update_staff(principal: Principal | None, user_id: uuid.UUID, *, display_name: str | None = None,
                       phone: str | None = None, unit_id: uuid.UUID | None = None, is_active: bool | None = None,
                       locale: str | None = None, password: str | None = None) -> dict[str, Any]:
    user = await get_staff(principal, user_id, Perm.STAFF_MANAGE)
    changes: dict[Any, Any] = {}
    if display_name is not None and display_name.strip() != user["display_name"]:
        changes[User.display_name] = rules.check_text(display_name, "display_name", max_len=120)
    if phone is not None and phone != user["phone"]:
        changes[User.phone] = rules.check_text(phone, "phone", max_len=32, required=False) or None
    if unit_id is not None and unit_id != user["org_unit"]:
        unit = await get_unit(principal, unit_id, Perm.STAFF_MANAGE) if principal else await OrgUnit.select(
            *UNIT_FIELDS).where(OrgUnit.id == unit_id).first()
        if unit is None:
            raise NotFound("no such org unit", code="org_unit_not_found", field="org_unit")
        changes[User.org_unit] = unit_id
    if locale is not None and locale != user["locale"]:
        changes[User.locale] = rules.check_locale(locale)
    if is_active is not None and is_active != user["is_active"]:
        if principal is not None and user_id == principal.user_id and not is_active:
            raise ValidationFailed("you cannot deactivate yourself", field="is_active")
        changes[User.is_active] = is_active
    if password is not None:
        check_password_strength(password)
        changes[User.password_hash] = hash_password(password)
    if changes:
        await User.update(changes).where(User.id == user_id)
        before = {c._meta.name: user.get(c._meta.name) for c in changes if c is not User.password_hash}
        after = {c._meta.name: v for c, v in changes.items() if c is not User.password_hash}
        if User.password_hash in changes:
            after["password"] = "changed"  # noqa: S105 - the audit says a change happened, never the value
        await audit.record("user.update", "user", user_id, before=before, after=after)
        if is_active is False or User.password_hash in changes:
            from careclub.core.db import current_tenant_id

            await sessions.destroy_all_for(current_tenant_id(), user_id)
    return await get_staff(None, user_id)


async def grant_role(principal: Principal | None, user_id: uuid.UUID, role_code: str,
                     unit_id: uuid.UUID) -> dict[str, Any]:
    role = await role_by_code(role_code)
    unit = (await get_unit(principal, unit_id, Perm.STAFF_MANAGE) if principal
            else await OrgUnit.select(*UNIT_FIELDS).where(OrgUnit.id == unit_id).first())
    if unit is None:
        raise NotFound("no such org unit", code="org_unit_not_found", field="org_unit")
    if principal is not None:
        await get_staff(principal, user_id, Perm.STAFF_MANAGE)
        # Nobody hands out more than they hold: every permission of the role must be the
        # granter's at that unit.
        lacking = [p for p in role["permissions"] if not principal.covers(p, unit["path"])]
        if lacking and not principal.covers(Perm.ROLES_MANAGE, unit["path"]):
            raise Forbidden("you cannot grant permissions you do not hold: %(choices)s",
                            params={"choices": ', '.join(lacking)})
    existing = await RoleGrant.select(RoleGrant.id).where(
        RoleGrant.user == user_id, RoleGrant.role == role["id"], RoleGrant.org_unit == unit_id).first()
    if existing:
        return {"id": existing["id"], "role": role_code, "org_unit": unit_id}
    grant = RoleGrant(user=user_id, role=role["id"], org_unit=unit_id)
    await grant.save()
    await audit.record("role_grant.create", "user", user_id, after={"role": role_code, "org_unit": unit_id})
    return {"id": grant.id, "role": role_code, "org_unit": unit_id}


async def revoke_grant(principal: Principal, user_id: uuid.UUID, grant_id: uuid.UUID) -> None:
    await get_staff(principal, user_id, Perm.STAFF_MANAGE)
    grant = await RoleGrant.select(RoleGrant.id, RoleGrant.role.code, RoleGrant.org_unit,
                                   RoleGrant.org_unit.path).where(
        RoleGrant.id == grant_id, RoleGrant.user == user_id).first()
    if grant is None or not principal.covers(Perm.STAFF_MANAGE, grant["org_unit.path"]):
        raise NotFound("no such role grant", code="grant_not_found")
    if user_id == principal.user_id and grant["role.code"] == "tenant_admin":
        raise ValidationFailed("you cannot remove your own admin role", field="grant")
    await RoleGrant.delete().where(RoleGrant.id == grant_id)
    await audit.record("role_grant.delete", "user", user_id,
                       before={"role": grant["role.code"], "org_unit": grant["org_unit"]})


# ---- invitations ----------------------------------------------------------------------------

async def create_invite(principal: Principal, *, email: str, role_code: str, unit_id: uuid.UUID,
                        hours: int, display_name: str = "", on_accept: dict[str, Any] | None = None,
                        ) -> tuple[str, dict[str, Any]]:
    """`on_accept`: what accepting also does (`on_accept_value(...)`, service/_invite_actions.py)."""
    email = rules.check_email(email)
    role = await role_by_code(role_code)
    unit = await get_unit(principal, unit_id, Perm.STAFF_MANAGE)
    if await User.exists().where(User.email == email):
        raise Conflict("someone with the email %(email)s exists already", code="email_taken", field="email",
                       params={"email": email})
    secret = new_secret(24)
    invite = Invite(email=email, display_name=display_name.strip(), role=role["id"], org_unit=unit["id"],
                    token_hash=digest(secret), invited_by=principal.user_id,
                    expires_at=clock.now() + timedelta(hours=hours), on_accept=on_accept)
    await invite.save()
    await audit.record("invite.create", "invite", invite.id,
                       after={"email": email, "role": role_code, "org_unit": unit["id"],
                              **({"on_accept": on_accept} if on_accept else {})})
    return secret, {"id": invite.id, "email": email, "role": role_code, "org_unit": unit["id"],
                    "expires_at": invite.expires_at}


async def list_invites(principal: Principal) -> list[dict[str, Any]]:
    """Invitations to the units where the reader manages staff (members' own are on their pages)."""
    rows = await Invite.select(Invite.id, Invite.email, Invite.role.code, Invite.org_unit, Invite.org_unit.name,
                               Invite.expires_at, Invite.accepted_at, Invite.created_at, Invite.on_accept).where(
        _in_scope(Invite.org_unit.path, principal.scope(Perm.STAFF_MANAGE))).order_by(Invite.created_at,
                                                                                       ascending=False)
    return [{k: v for k, v in row.items() if k != "on_accept"} for row in rows
            if not _is_member_invite(row["on_accept"])]


def _is_member_invite(on_accept: Any) -> bool:
    from careclub.platform.service._member_access import is_member_invite  # that module builds on this one

    return is_member_invite(on_accept)


async def find_invite(secret: str) -> dict[str, Any]:
    row = await Invite.select(Invite.id, Invite.email, Invite.display_name, Invite.role, Invite.role.code,
                              Invite.org_unit, Invite.expires_at, Invite.accepted_at, Invite.on_accept).where(
        Invite.token_hash == digest(secret)).first()
    if row is None or _is_member_invite(row["on_accept"]):  # a member's: accepted on its own page (/welcome)
        raise NotFound("this invitation link is not valid", code="invite_not_found")
    return check_invite_open(row)


def check_invite_open(row: dict[str, Any]) -> dict[str, Any]:
    """The invitation `row` itself while it may still be accepted: not used yet, not expired."""
    if row["accepted_at"] is not None:
        raise Conflict("this invitation has been used already", code="invite_used")
    if row["expires_at"] <= clock.now():
        raise ValidationFailed("this invitation has expired; ask for a new one", code="invite_expired",
                               status_code=410)
    return row


async def accept_invite(secret: str, *, display_name: str, password: str) -> uuid.UUID:
    invite = await find_invite(secret)
    check_password_strength(password)
    # Claim the invitation first: of two concurrent accepts exactly one updates the row.
    claimed = await Invite.update({Invite.accepted_at: clock.now()}).where(
        Invite.id == invite["id"], Invite.accepted_at.is_null()).returning(Invite.id)
    if not claimed:
        raise Conflict("this invitation has been used already", code="invite_used")
    user = await create_staff(None, email=invite["email"], display_name=display_name or invite["display_name"],
                              unit_id=invite["org_unit"], roles=[invite["role.code"]], password=password)
    await run_on_accept(invite["on_accept"], user["id"])  # in this transaction: all or nothing
    await audit.record("invite.accept", "invite", invite["id"], after={"user": user["id"]})
    return user["id"]


