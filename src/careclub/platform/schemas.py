"""Request and response bodies of the platform API (msgspec; unknown input fields refused).

Request fields take their bounds from the columns they land in (`core.schemas.col`). Response
fields keep the names the API has always answered, including the dotted names of joined columns
(`"org_unit.name"`), which a struct spells as `msgspec.field(name=...)`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar

import msgspec
from piccolo.table import Table

from careclub.core.schemas import Input, col, text
from careclub.platform import rules, tables

# A password is only ever hashed, so it has no column to take a bound from; long enough for any
# passphrase or generated password, short enough that hashing it costs nothing.
PASSWORD_MAX = 256
# An invitation's secret is 32 characters (`new_secret(24)`); anything much longer is not one.
INVITE_TOKEN_MAX = 128
# Roles named in one request (a new person's roles) and permissions in one role: there are 19
# permissions and a tenant's handful of roles, so these only refuse abuse.
ROLES_MAX = 50
PERMISSIONS_MAX = 64
# A named token lives at most a year and a day (the handler's own rule, kept here for the schema).
TOKEN_HOURS_MAX = 24 * 366

Password = Annotated[str, text(PASSWORD_MAX)]
RoleCode = Annotated[str, col(tables.Role.code, pattern=rules.CODE.pattern)]


# ---- requests ---------------------------------------------------------------------------------

class SignupCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.Tenant, tables.OrgUnit, tables.User)

    company: Annotated[str, col(tables.Tenant.name)]
    slug: Annotated[str, col(tables.Tenant.slug, pattern=rules.SLUG.pattern)]
    email: Annotated[str, col(tables.User.email)]
    password: Password
    display_name: Annotated[str, col(tables.User.display_name)] = ""
    locale: Annotated[str, col(tables.User.locale)] = "zh_CN"


class TokenRequest(Input):
    """A password sign-in: its fields are looked up, never stored."""

    __writes__: ClassVar[tuple[type[Table], ...]] = ()

    tenant: Annotated[str, col(tables.Tenant.slug)]
    email: Annotated[str, col(tables.User.email)]
    password: Password


class ApiTokenCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.ApiToken,)

    name: Annotated[str, col(tables.ApiToken.name)]
    user_id: uuid.UUID | None = None
    kind: Annotated[str, col(tables.ApiToken.kind)] = "api"
    hours: Annotated[int, msgspec.Meta(ge=1, le=TOKEN_HOURS_MAX)] | None = None


class OrgUnitCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.OrgUnit,)

    code: Annotated[str, col(tables.OrgUnit.code, pattern=rules.CODE.pattern)]
    name: Annotated[str, col(tables.OrgUnit.name)]
    parent_id: uuid.UUID
    kind: Annotated[str, col(tables.OrgUnit.kind)] = "project"


class OrgUnitUpdate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.OrgUnit,)

    name: Annotated[str, col(tables.OrgUnit.name)] | None = None
    kind: Annotated[str, col(tables.OrgUnit.kind)] | None = None


class StaffCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.User, tables.RoleGrant)

    email: Annotated[str, col(tables.User.email)]
    display_name: Annotated[str, col(tables.User.display_name)]
    org_unit: uuid.UUID
    roles: Annotated[list[RoleCode], msgspec.Meta(max_length=ROLES_MAX)] = []
    password: Password | None = None
    phone: Annotated[str, col(tables.User.phone)] | None = None
    kind: Annotated[str, col(tables.User.kind)] = "staff"
    locale: Annotated[str, col(tables.User.locale)] | None = None


class StaffUpdate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.User,)

    display_name: Annotated[str, col(tables.User.display_name)] | None = None
    phone: Annotated[str, col(tables.User.phone)] | None = None
    org_unit: uuid.UUID | None = None
    is_active: bool | None = None
    locale: Annotated[str, col(tables.User.locale)] | None = None
    password: Password | None = None


class GrantCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.RoleGrant,)

    role: RoleCode
    org_unit: uuid.UUID


Permissions = Annotated[
    list[Annotated[str, col(tables.Role.permissions.base_column)]], msgspec.Meta(max_length=PERMISSIONS_MAX)
]


class RoleCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.Role,)

    code: RoleCode
    name: Annotated[str, col(tables.Role.name)]
    permissions: Permissions
    description: Annotated[str, text()] = ""


class RoleUpdate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.Role,)

    name: Annotated[str, col(tables.Role.name)] | None = None
    permissions: Permissions | None = None
    description: Annotated[str, text()] | None = None


class InviteCreate(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.Invite,)

    email: Annotated[str, col(tables.Invite.email)]
    role: RoleCode
    org_unit: uuid.UUID
    display_name: Annotated[str, col(tables.Invite.display_name)] = ""


class InviteAccept(Input):
    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.User,)

    token: Annotated[str, text(INVITE_TOKEN_MAX)]
    display_name: Annotated[str, col(tables.User.display_name)]
    password: Password


# ---- responses --------------------------------------------------------------------------------

class TenantRef(msgspec.Struct):
    id: uuid.UUID
    slug: str


class SignupResult(msgspec.Struct):
    tenant: TenantRef
    token: str


class TokenResult(msgspec.Struct):
    token: str
    expires_at: datetime | None


class CurrentUser(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    email: str
    display_name: str
    kind: str
    locale: str | None


class CurrentTenant(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    slug: str
    name: str
    currency: str
    timezone: str


class Company(msgspec.Struct, kw_only=True):
    """The company's own settings (the Company settings page and the tenant file set the same)."""

    id: uuid.UUID
    slug: str
    name: str
    timezone: str
    locale: str
    currency: str
    currency_fixed: bool  # money has been recorded in it: it can no longer change


class CompanyUpdate(Input):
    """The settings to change; a field left out stays as it is."""

    __writes__: ClassVar[tuple[type[Table], ...]] = (tables.Tenant, tables.OrgUnit)

    name: Annotated[str, col(tables.Tenant.name)] | None = None
    timezone: Annotated[str, col(tables.Tenant.timezone)] | None = None
    locale: Annotated[str, col(tables.Tenant.locale)] | None = None
    currency: Annotated[str, col(tables.Tenant.currency)] | None = None


class Me(msgspec.Struct, kw_only=True):
    """Who a token belongs to, in which tenant, with which roles and permissions."""

    user: CurrentUser
    tenant: CurrentTenant
    roles: list[str]
    permissions: list[str]


class ApiToken(msgspec.Struct, kw_only=True):
    """A token as listed: never its text, which is shown once when it is issued."""

    id: uuid.UUID
    user: uuid.UUID
    user_email: str = msgspec.field(name="user.email")
    name: str
    kind: str
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    last_used_at: datetime | None


class ApiTokenResult(msgspec.Struct, kw_only=True):
    """A token just issued, with its text (the only time it is shown)."""

    id: uuid.UUID
    token: str
    name: str
    kind: str
    expires_at: datetime | None


class OrgUnit(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    kind: str
    parent: uuid.UUID | None
    path: str


class OrgUnitList(msgspec.Struct, kw_only=True):
    items: list[OrgUnit]
    total: int
    limit: int
    offset: int


class HeldRole(msgspec.Struct, kw_only=True):
    """A role a person holds at an org unit (one role grant)."""

    id: uuid.UUID
    role: uuid.UUID
    role_code: str = msgspec.field(name="role.code")
    role_name: str = msgspec.field(name="role.name")
    org_unit: uuid.UUID
    org_unit_name: str = msgspec.field(name="org_unit.name")


class StaffMember(msgspec.Struct, kw_only=True):
    """Someone who signs in (staff, a member, a merchant operator), as listed."""

    id: uuid.UUID
    email: str
    display_name: str
    phone: str | None
    kind: str
    org_unit: uuid.UUID | None
    org_unit_name: str | None = msgspec.field(name="org_unit.name")
    org_unit_path: str | None = msgspec.field(name="org_unit.path")
    locale: str | None
    is_active: bool
    last_login_at: datetime | None
    created_at: datetime


class StaffMemberDetail(StaffMember, kw_only=True):
    """One person, with the roles they hold."""

    roles: list[HeldRole]


class StaffMemberList(msgspec.Struct, kw_only=True):
    items: list[StaffMember]
    total: int
    limit: int
    offset: int


class GrantResult(msgspec.Struct, kw_only=True):
    """A role granted at a unit; `role` is the role's code here (in `HeldRole` it is the role's id)."""

    id: uuid.UUID
    role: str
    org_unit: uuid.UUID


class Role(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    description: str
    permissions: list[str]
    builtin: bool


class RoleDetail(msgspec.Struct, kw_only=True):
    """One role, as its row (the list leaves out `tenant_id` and `created_at`)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    created_at: datetime
    code: str
    name: str
    description: str
    permissions: list[str]
    builtin: bool


class Invite(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    email: str
    role_code: str = msgspec.field(name="role.code")
    org_unit: uuid.UUID
    org_unit_name: str = msgspec.field(name="org_unit.name")
    expires_at: datetime
    accepted_at: datetime | None
    created_at: datetime


class InviteResult(msgspec.Struct, kw_only=True):
    """An invitation just made, with its one-time link; `role` is the role's code."""

    id: uuid.UUID
    email: str
    role: str
    org_unit: uuid.UUID
    expires_at: datetime
    url: str


class InviteAcceptResult(msgspec.Struct, kw_only=True):
    user_id: uuid.UUID
    tenant: str  # the tenant's slug


class AuditEntry(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    tenant_id: uuid.UUID
    created_at: datetime
    actor_id: uuid.UUID | None
    actor_name: str
    action: str
    entity_type: str
    entity_id: str
    # What changed, as the writing service snapshotted it: any JSON object, by design.
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None


class AuditEntryList(msgspec.Struct, kw_only=True):
    """Newest first. `next_after` is the cursor of the next page (pass it as `after`), null on the last.
    `total` counts at most 10,000 matches (`total_capped` says when there are more)."""

    items: list[AuditEntry]
    total: int
    total_capped: bool
    limit: int
    offset: int
    next_after: str | None
