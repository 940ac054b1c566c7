"""The platform's JSON API: sign-up, tokens, org units, staff, roles, invites, audit log."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, cast

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from careclub.core.db import current_tenant_id
from careclub.core.errors import Forbidden, NotFound, ValidationFailed
from careclub.core.money import Money, from_money
from careclub.core.paging import CAP, After, BoundedOffset, capped, decode_cursor, next_after
from careclub.core.principal import Principal, TenantInfo, principal_in
from careclub.core.schemas import INT32, out, out_list
from careclub.platform import audit, schemas, service, tables
from careclub.platform.permissions import Perm
from careclub.settings import Settings


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    principal = principal_in(request.scope)
    assert principal is not None, "the guard lets no anonymous request reach here"
    return principal


def provide_settings(request: Request[Any, Any, Any]) -> Settings:
    return cast(Settings, request.app.state.settings)


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


PrincipalDep = NamedDependency[Principal]
SettingsDep = NamedDependency[Settings]

Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Offset = Annotated[int, QueryParameter(ge=0, le=INT32[1])]

# Optional text filters in the query string, no longer than the columns they are compared with.
FilterText = Annotated[str | None, QueryParameter(max_length=tables.User.email.length)]
FilterKind = Annotated[str | None, QueryParameter(max_length=tables.User.kind.length)]
FilterCode = Annotated[str | None, QueryParameter(max_length=tables.AuditEntry.action.length)]
FilterName = Annotated[str | None, QueryParameter(max_length=tables.AuditEntry.actor_name.length)]
# A time in the query string, as RFC 3339 text only: Litestar reads query values leniently and would
# take a bare number ("0.5") as seconds since 1970, which no client means and the document does not say.
TimeText = Annotated[str | None, QueryParameter(max_length=64, format="date-time")]


def time_param(value: str | None, field: str) -> datetime | None:
    """A `TimeText` parameter as a datetime; anything but RFC 3339 text is refused naming the field."""
    if value is None:
        return None
    try:
        return msgspec.convert(value, datetime)
    except msgspec.ValidationError as exc:
        raise ValidationFailed("invalid input: %(field)s: %(exc)s", field=field,
                               params={"field": field, "exc": exc}) from None


def minor_units(principal: Principal, value: Money | None, field: str) -> int | None:
    """Money from a request body, in the tenant's currency, as integer minor units (None stays None)."""
    return None if value is None else from_money(value, currency=principal.tenant.currency, field=field)


def staff_member(row: Mapping[str, Any]) -> schemas.StaffMemberDetail:
    """One person as `service.get_staff` answers them, with the roles they hold."""
    roles = [out(schemas.HeldRole, grant) for grant in row["roles"]]
    return out(schemas.StaffMemberDetail, {**row, "roles": roles})


class AuthController(Controller):
    path = "/api/v1"
    tags = ["auth"]
    dependencies = {"settings": Provide(provide_settings, sync_to_thread=False)}

    @post("/signup", opt={"public": True, "statuses": (409,)}, status_code=201)
    async def signup(self, data: JSONBody[schemas.SignupCreate], settings: SettingsDep) -> schemas.SignupResult:
        """Create a company (tenant) with its first admin; answers a bearer token."""
        info, token, _ = await service.signup(
            settings,
            company=data.company,
            slug=data.slug,
            email=data.email,
            password=data.password,
            display_name=data.display_name,
            locale=data.locale,
        )
        return schemas.SignupResult(tenant=schemas.TenantRef(id=info.id, slug=info.slug), token=token)

    @post("/auth/token", opt={"public": True, "rate_limited": True, "statuses": (401,)}, status_code=200)
    async def token(
        self, request: Request[Any, Any, Any], data: JSONBody[schemas.TokenRequest], settings: SettingsDep
    ) -> schemas.TokenResult:
        """Exchange a password for a bearer token (rate-limited per account and address)."""
        _tenant, user_id = await service.authenticate(
            settings, tenant_slug=data.tenant, email=data.email, password=data.password, address=client_address(request)
        )
        token, row = await service.issue_token(user_id, kind="login", hours=settings.api_token_hours)
        return schemas.TokenResult(token=token, expires_at=row.expires_at)

    @post(
        "/auth/logout",
        opt={"permission": Perm.AUTHENTICATED},
        status_code=204,
        dependencies={"principal": Provide(provide_principal, sync_to_thread=False)},
    )
    async def logout(self, principal: PrincipalDep) -> None:
        """Revoke the token this request carries."""
        if principal.token_id:
            await service.revoke_token(principal.token_id)

    @get(
        "/me",
        opt={"permission": Perm.AUTHENTICATED},
        dependencies={"principal": Provide(provide_principal, sync_to_thread=False)},
    )
    async def me(self, principal: PrincipalDep) -> schemas.Me:
        """Who this token belongs to, in which tenant, with which permissions."""
        return schemas.Me(
            user=schemas.CurrentUser(
                id=principal.user_id,
                email=principal.email,
                display_name=principal.display_name,
                kind=principal.kind,
                locale=principal.locale,
            ),
            tenant=schemas.CurrentTenant(
                id=principal.tenant.id,
                slug=principal.tenant.slug,
                name=principal.tenant.name,
                currency=principal.tenant.currency,
                timezone=principal.tenant.timezone,
            ),
            roles=sorted(principal.roles),
            permissions=sorted(principal.grants),
        )


class CompanyController(Controller):
    path = "/api/v1/company"
    tags = ["organisation"]

    @get("/", opt={"permission": Perm.TENANT_MANAGE})
    async def read(self) -> schemas.Company:
        """The company's name, time zone, default language and currency."""
        return await _company_out(await _current_company())

    @patch("/", opt={"permission": Perm.TENANT_MANAGE})
    async def update(self, data: JSONBody[schemas.CompanyUpdate]) -> schemas.Company:
        """Change some of them, with the tenant file's checks (every problem at once, by field); a new time zone
        counts the monthly figures again; the currency is refused (409 `currency_in_use`) once money is recorded."""
        now = await _current_company()
        info, _changed = await service.update_company(
            name=data.name if data.name is not None else now.name,
            timezone=data.timezone if data.timezone is not None else now.timezone,
            locale=data.locale if data.locale is not None else now.locale,
            currency=data.currency if data.currency is not None else now.currency)
        return await _company_out(info)


async def _current_company() -> TenantInfo:
    tenant_id = current_tenant_id()
    service.forget_tenant(tenant_id)  # read fresh: another process may have changed it a moment ago
    info = await service.get_tenant(tenant_id)
    if info is None:
        raise NotFound("no such company", code="tenant_not_found")
    return info


async def _company_out(info: TenantInfo) -> schemas.Company:
    return schemas.Company(id=info.id, slug=info.slug, name=info.name, timezone=info.timezone, locale=info.locale,
                           currency=info.currency, currency_fixed=await service.money_recorded())


class TokenController(Controller):
    path = "/api/v1/tokens"
    tags = ["auth"]
    dependencies = {"principal": Provide(provide_principal, sync_to_thread=False)}

    @get("/", opt={"permission": Perm.AUTHENTICATED})
    async def list_tokens(self, principal: PrincipalDep) -> list[schemas.ApiToken]:
        """Your tokens, or everyone's for an admin who may manage staff."""
        rows = await service.list_tokens(None if principal.can(Perm.STAFF_MANAGE) else principal.user_id)
        return [out(schemas.ApiToken, row) for row in rows]

    @post("/", opt={"permission": Perm.AUTHENTICATED}, status_code=201)
    async def create(
        self, data: JSONBody[schemas.ApiTokenCreate], principal: PrincipalDep
    ) -> schemas.ApiTokenResult:
        """A named long-lived token (integrations, merchant scanners). The text is shown once."""
        user_id = data.user_id or principal.user_id
        if user_id != principal.user_id:
            if not principal.can(Perm.STAFF_MANAGE):
                raise Forbidden("only staff managers may create tokens for someone else")
            await service.get_staff(principal, user_id, Perm.STAFF_MANAGE)
        if data.kind not in ("api", "scanner"):
            raise ValidationFailed("kind must be api or scanner", field="kind")
        if data.hours is not None and not 1 <= data.hours <= 24 * 366:
            raise ValidationFailed("hours must be between 1 and 8784", field="hours")
        token, row = await service.issue_token(user_id, kind=data.kind, hours=data.hours, name=data.name.strip())
        return schemas.ApiTokenResult(
            id=row.id, token=token, name=row.name, kind=row.kind, expires_at=row.expires_at
        )

    @delete("/{token_id:uuid}", opt={"permission": Perm.AUTHENTICATED}, status_code=204)
    async def revoke(self, token_id: FromPath[uuid.UUID], principal: PrincipalDep) -> None:
        await service.revoke_token(token_id, user_id=None if principal.can(Perm.STAFF_MANAGE) else principal.user_id)


class OrgUnitController(Controller):
    path = "/api/v1/org-units"
    tags = ["organisation"]
    dependencies = {"principal": Provide(provide_principal, sync_to_thread=False)}

    @get("/", opt={"permission": Perm.ORG_READ})
    async def list_units(
        self, principal: PrincipalDep, limit: Limit = 50, offset: Offset = 0
    ) -> schemas.OrgUnitList:
        """The org units you can see (your subtrees), in tree order."""
        units = await service.list_units(principal)
        return schemas.OrgUnitList(
            items=out_list(schemas.OrgUnit, units[offset : offset + limit]),
            total=len(units),
            limit=limit,
            offset=offset,
        )

    @get("/{unit_id:uuid}", opt={"permission": Perm.ORG_READ})
    async def get_unit(self, unit_id: FromPath[uuid.UUID], principal: PrincipalDep) -> schemas.OrgUnit:
        return out(schemas.OrgUnit, await service.get_unit(principal, unit_id))

    @post("/", opt={"permission": Perm.ORG_MANAGE}, status_code=201)
    async def create(self, data: JSONBody[schemas.OrgUnitCreate], principal: PrincipalDep) -> schemas.OrgUnit:
        unit = await service.create_unit(
            principal, code=data.code, name=data.name, kind=data.kind, parent_id=data.parent_id
        )
        return out(schemas.OrgUnit, unit)

    @patch("/{unit_id:uuid}", opt={"permission": Perm.ORG_MANAGE})
    async def update(
        self, unit_id: FromPath[uuid.UUID], data: JSONBody[schemas.OrgUnitUpdate], principal: PrincipalDep
    ) -> schemas.OrgUnit:
        return out(schemas.OrgUnit, await service.update_unit(principal, unit_id, name=data.name, kind=data.kind))

    @delete("/{unit_id:uuid}", opt={"permission": Perm.ORG_MANAGE}, status_code=204)
    async def remove(self, unit_id: FromPath[uuid.UUID], principal: PrincipalDep) -> None:
        await service.delete_unit(principal, unit_id)


class StaffController(Controller):
    path = "/api/v1/staff"
    tags = ["organisation"]
    dependencies = {"principal": Provide(provide_principal, sync_to_thread=False)}

    @get("/", opt={"permission": Perm.STAFF_READ})
    async def list_staff(
        self,
        principal: PrincipalDep,
        q: FilterText = None,
        kind: FilterKind = None,
        org_unit: FromQuery[uuid.UUID | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> schemas.StaffMemberList:
        """People in your subtrees; filter by text, kind or unit."""
        rows, total = await service.list_staff(principal, q=q, kind=kind, unit_id=org_unit, limit=limit, offset=offset)
        return schemas.StaffMemberList(
            items=[out(schemas.StaffMember, row) for row in rows], total=total, limit=limit, offset=offset
        )

    @get("/{user_id:uuid}", opt={"permission": Perm.STAFF_READ})
    async def get_person(
        self, user_id: FromPath[uuid.UUID], principal: PrincipalDep
    ) -> schemas.StaffMemberDetail:
        return staff_member(await service.get_staff(principal, user_id))

    @post("/", opt={"permission": Perm.STAFF_MANAGE}, status_code=201)
    async def create(
        self, data: JSONBody[schemas.StaffCreate], principal: PrincipalDep
    ) -> schemas.StaffMemberDetail:
        row = await service.create_staff(
            principal,
            email=data.email,
            display_name=data.display_name,
            unit_id=data.org_unit,
            roles=data.roles,
            password=data.password,
            phone=data.phone,
            kind=data.kind,
            locale=data.locale,
        )
        return staff_member(row)

    @patch("/{user_id:uuid}", opt={"permission": Perm.STAFF_MANAGE})
    async def update(
        self, user_id: FromPath[uuid.UUID], data: JSONBody[schemas.StaffUpdate], principal: PrincipalDep
    ) -> schemas.StaffMemberDetail:
        row = await service.update_staff(
            principal,
            user_id,
            display_name=data.display_name,
            phone=data.phone,
            unit_id=data.org_unit,
            is_active=data.is_active,
            locale=data.locale,
            password=data.password,
        )
        return staff_member(row)

    @post("/{user_id:uuid}/grants", opt={"permission": Perm.STAFF_MANAGE}, status_code=201)
    async def grant(
        self, user_id: FromPath[uuid.UUID], data: JSONBody[schemas.GrantCreate], principal: PrincipalDep
    ) -> schemas.GrantResult:
        return out(schemas.GrantResult, await service.grant_role(principal, user_id, data.role, data.org_unit))

    @delete("/{user_id:uuid}/grants/{grant_id:uuid}", opt={"permission": Perm.STAFF_MANAGE}, status_code=204)
    async def revoke(
        self, user_id: FromPath[uuid.UUID], grant_id: FromPath[uuid.UUID], principal: PrincipalDep
    ) -> None:
        await service.revoke_grant(principal, user_id, grant_id)


class RoleController(Controller):
    path = "/api/v1/roles"
    tags = ["organisation"]

    @get("/", opt={"permission": Perm.STAFF_READ})
    async def list_roles(self) -> list[schemas.Role]:
        return out_list(schemas.Role, await service.list_roles())

    @get("/{role_id:uuid}", opt={"permission": Perm.STAFF_READ})
    async def get_role(self, role_id: FromPath[uuid.UUID]) -> schemas.RoleDetail:
        return out(schemas.RoleDetail, await service.get_role(role_id))

    @post("/", opt={"permission": Perm.ROLES_MANAGE}, status_code=201)
    async def create(self, data: JSONBody[schemas.RoleCreate]) -> schemas.RoleDetail:
        role = await service.create_role(
            code=data.code, name=data.name, permissions=data.permissions, description=data.description
        )
        return out(schemas.RoleDetail, role)

    @patch("/{role_id:uuid}", opt={"permission": Perm.ROLES_MANAGE})
    async def update(self, role_id: FromPath[uuid.UUID], data: JSONBody[schemas.RoleUpdate]) -> schemas.RoleDetail:
        role = await service.update_role(
            role_id, name=data.name, permissions=data.permissions, description=data.description
        )
        return out(schemas.RoleDetail, role)

    @delete("/{role_id:uuid}", opt={"permission": Perm.ROLES_MANAGE}, status_code=204)
    async def remove(self, role_id: FromPath[uuid.UUID]) -> None:
        await service.delete_role(role_id)

    @get("/permissions", opt={"permission": Perm.STAFF_READ})
    async def permissions(self) -> list[str]:
        """Every permission a role may hold."""
        return sorted(p.value for p in Perm if p is not Perm.AUTHENTICATED)


class InviteController(Controller):
    path = "/api/v1/invites"
    tags = ["organisation"]
    dependencies = {
        "principal": Provide(provide_principal, sync_to_thread=False),
        "settings": Provide(provide_settings, sync_to_thread=False),
    }

    @get("/", opt={"permission": Perm.STAFF_MANAGE})
    async def list_invites(self, principal: PrincipalDep) -> list[schemas.Invite]:
        return [out(schemas.Invite, row) for row in await service.list_invites(principal)]

    @post("/", opt={"permission": Perm.STAFF_MANAGE}, status_code=201)
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[schemas.InviteCreate],
        principal: PrincipalDep,
        settings: SettingsDep,
    ) -> schemas.InviteResult:
        """Invite someone by email to a role at a unit; answers the one-time link."""
        secret, invite = await service.create_invite(
            principal,
            email=data.email,
            role_code=data.role,
            unit_id=data.org_unit,
            hours=settings.invite_hours,
            display_name=data.display_name,
        )
        base = str(request.base_url).rstrip("/")
        return out(schemas.InviteResult, {**invite, "url": f"{base}/invite/{principal.tenant.slug}/{secret}"})


class InviteAcceptController(Controller):
    path = "/api/v1/invites/accept"
    tags = ["organisation"]

    @post("/{tenant_slug:str}", opt={"public": True, "statuses": (409, 410)}, status_code=201)
    async def accept(
        self, tenant_slug: FromPath[str], data: JSONBody[schemas.InviteAccept]
    ) -> schemas.InviteAcceptResult:
        """Accept an invitation: sets the name and password of the new account."""
        from careclub.core.db import bind_tenant
        from careclub.core.errors import NotFound

        tenant = await service.tenant_by_slug(tenant_slug)
        if tenant is None:
            raise NotFound("this invitation link is not valid", code="invite_not_found")
        await bind_tenant(tenant.id)
        user_id = await service.accept_invite(data.token, display_name=data.display_name, password=data.password)
        return schemas.InviteAcceptResult(user_id=user_id, tenant=tenant.slug)


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]

    @get("/", opt={"permission": Perm.AUDIT_READ})
    async def browse(
        self,
        action: FilterCode = None,
        entity_type: FilterCode = None,
        entity_id: FilterCode = None,
        actor: FilterName = None,
        since: TimeText = None,
        until: TimeText = None,
        after: After = None,
        limit: Limit = 50,
        offset: BoundedOffset = 0,
    ) -> schemas.AuditEntryList:
        """The audit trail, newest first, a keyset page at a time (`after` = the previous page's
        `next_after`); filter by action prefix, entity, actor or time. `total` counts at most 10,000."""
        filters: dict[str, Any] = {"action": action, "entity_type": entity_type, "entity_id": entity_id,
                                   "actor": actor, "since": time_param(since, "since"),
                                   "until": time_param(until, "until")}
        rows = await audit.browse(**filters, after=decode_cursor(after), limit=limit + 1, offset=offset)
        rows, cursor = next_after(rows, limit)
        total, more = capped(await audit.count(**filters, cap=CAP + 1))
        return schemas.AuditEntryList(items=out_list(schemas.AuditEntry, rows), total=total, total_capped=more,
                                      limit=limit, offset=offset, next_after=cursor)


ROUTES = [
    AuthController,
    CompanyController,
    TokenController,
    OrgUnitController,
    StaffController,
    RoleController,
    InviteController,
    InviteAcceptController,
    AuditController,
]
