"""Request and response bodies of the platform API (msgspec; unknown input fields refused)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class SignupCreate(Input):
    company: str
    slug: str
    email: str
    password: str
    display_name: str = ""
    locale: str = "zh_CN"


class TenantRef(msgspec.Struct):
    id: uuid.UUID
    slug: str


class SignupResult(msgspec.Struct):
    tenant: TenantRef
    token: str


class TokenRequest(Input):
    tenant: str
    email: str
    password: str


class TokenResult(msgspec.Struct):
    token: str
    expires_at: datetime | None


class ApiTokenCreate(Input):
    name: str
    user_id: uuid.UUID | None = None
    kind: str = "api"
    hours: int | None = None


class OrgUnitCreate(Input):
    code: str
    name: str
    parent_id: uuid.UUID
    kind: str = "project"


class OrgUnitUpdate(Input):
    name: str | None = None
    kind: str | None = None


class StaffCreate(Input):
    email: str
    display_name: str
    org_unit: uuid.UUID
    roles: list[str] = []
    password: str | None = None
    phone: str | None = None
    kind: str = "staff"
    locale: str | None = None


class StaffUpdate(Input):
    display_name: str | None = None
    phone: str | None = None
    org_unit: uuid.UUID | None = None
    is_active: bool | None = None
    locale: str | None = None
    password: str | None = None


class GrantCreate(Input):
    role: str
    org_unit: uuid.UUID


class RoleCreate(Input):
    code: str
    name: str
    permissions: list[str]
    description: str = ""


class RoleUpdate(Input):
    name: str | None = None
    permissions: list[str] | None = None
    description: str | None = None


class InviteCreate(Input):
    email: str
    role: str
    org_unit: uuid.UUID
    display_name: str = ""


class InviteAccept(Input):
    token: str
    display_name: str
    password: str


class Page(msgspec.Struct):
    items: list[Any]
    total: int
    limit: int
    offset: int
