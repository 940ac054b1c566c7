"""Tenants as code: `careclub tenant apply FILE`.

A tenant file is TOML. The platform owns `[tenant]`, `[[org_units]]`, `[[roles]]`, `[[staff]]`
and `[demo]`; every other top-level key is a section a domain registers with
`register_section` (approvals, clubs, …). The whole file is validated before anything is
written, and applied in one transaction: it lands completely or not at all. Applying the same
file twice writes nothing the second time and says so. Format: docs/tenant-file.md.
"""

from __future__ import annotations

import asyncio
import importlib
import re
import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import msgspec

from careclub.core.db import bind_tenant, transaction
from careclub.core.errors import AppError, ValidationFailed
from careclub.core.principal import Actor, TenantInfo, set_actor
from careclub.core.security import check_password_strength, verify_password
from careclub.platform import rules, service
from careclub.platform.permissions import BUILTIN_ROLES
from careclub.platform.tables import Tenant, User

# Domains whose `tenant_section` module registers a section, imported on first use.
SECTION_MODULES = (
    "careclub.approvals.tenant_section",
    "careclub.clubs.tenant_section",
    "careclub.payments.tenant_section",
    "careclub.funds.tenant_section",
    "careclub.tickets.tenant_section",
    "careclub.catalogue.tenant_section",
    "careclub.settlements.tenant_section",
)


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class TenantIdentity(Strict):
    slug: str
    name: str
    currency: str = "CNY"
    timezone: str = "Asia/Shanghai"
    locale: str = "zh_CN"


class OrgUnitSpec(Strict):
    code: str
    name: str
    kind: str = "project"
    parent: str = "HQ"


class RoleSpec(Strict):
    code: str
    name: str
    permissions: list[str]
    description: str = ""


class GrantSpec(Strict):
    role: str
    unit: str | None = None


class PersonSpec(Strict):
    email: str
    name: str
    unit: str = "HQ"
    roles: list[str | GrantSpec] = []
    phone: str | None = None
    kind: str = "staff"
    locale: str | None = None


class DemoSpec(Strict):
    password: str
    users: list[PersonSpec] = []


class PlatformPart(Strict):
    tenant: TenantIdentity
    org_units: list[OrgUnitSpec] = []
    roles: list[RoleSpec] = []
    staff: list[PersonSpec] = []
    demo: DemoSpec | None = None


@dataclass
class ApplyContext:
    """What a section's apply function gets: the tenant (bound), demo mode, and the report."""

    tenant: TenantInfo
    demo: bool
    changes: list[str] = field(default_factory=list)

    def changed(self, what: str) -> None:
        self.changes.append(what)

    async def unit_id(self, code: str, *, path: str) -> Any:
        row = await service.unit_by_code(code)
        if row is None:
            raise ValidationFailed("%(path)s: no org unit with code %(code)r", field=path,
                                   code="tenant_file_invalid", params={"path": path, "code": code})
        return row["id"]


@dataclass(frozen=True)
class Section:
    name: str
    schema: Any
    apply: Callable[[Any, ApplyContext], Awaitable[None]]
    order: int


_SECTIONS: dict[str, Section] = {}
_PLATFORM_KEYS = frozenset(PlatformPart.__struct_fields__)


async def with_path(path: str, coro: Any) -> Any:
    """A section's service call, its refusal named by where it stands in the file (`clubs[0].plans[1].fee:
    …`), as a 422 `tenant_file_invalid`."""
    try:
        return await coro
    except ValidationFailed as exc:
        where = f"{path}.{exc.field}" if exc.field else path
        raise ValidationFailed("%(field)s: %(message)s", code="tenant_file_invalid", field=where,
                               params={"field": where, "message": exc.message}) from exc
    except AppError as exc:
        raise ValidationFailed("%(path)s: %(message)s", code="tenant_file_invalid", field=path,
                               params={"path": path, "message": exc.message}) from exc


def register_section(name: str, schema: Any, apply: Callable[[Any, ApplyContext], Awaitable[None]],
                     *, order: int = 100) -> None:
    """Let a domain own a top-level key of tenant files. `schema` is a msgspec type (use
    `forbid_unknown_fields=True` structs); `apply` must be idempotent and record what it writes
    with `ctx.changed(...)`. Lower `order` applies first."""
    if name in _PLATFORM_KEYS:
        raise ValueError(f"{name!r} belongs to the platform")
    _SECTIONS[name] = Section(name, schema, apply, order)


def _load_sections() -> None:
    for module in SECTION_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module and not module.startswith(str(exc.name)):
                raise


@dataclass
class ApplyReport:
    slug: str
    created: bool
    changes: list[str]

    def summary(self) -> str:
        if not self.changes:
            return f"{self.slug}: unchanged (nothing to apply)"
        verb = "created" if self.created else "updated"
        lines = [f"{self.slug}: {verb}, {len(self.changes)} change(s)"]
        lines += [f"  - {c}" for c in self.changes]
        return "\n".join(lines)


@dataclass
class ParsedFile:
    platform: PlatformPart
    sections: list[tuple[Section, Any]]


_FIELD_IN_MESSAGE = re.compile(r"^Object (contains unknown|missing required) field `([^`]+)`$")


def _describe(exc: msgspec.ValidationError, prefix: str = "") -> tuple[str, str]:
    """(why, key path) of a msgspec error. msgspec says "Object contains unknown field `nme` - at
    `$.org_units[1]`"; people read "unknown key `nme` at `org_units[1].nme`"."""
    why, _, where = str(exc).partition(" - at `$")
    sub = where.rstrip("`")
    m = _FIELD_IN_MESSAGE.match(why)
    if m:
        sub += "." + m.group(2)
        why = ("unknown key" if m.group(1) == "contains unknown" else "missing required key") + f" `{m.group(2)}`"
    return why, (prefix + sub).lstrip(".")


def _invalid(source: str, why: str, path: str | None) -> ValidationFailed:
    if path:
        return ValidationFailed("%(source)s: %(why)s at `%(path)s`", code="tenant_file_invalid", field=path,
                                params={"source": source, "why": why, "path": path})
    return ValidationFailed("%(source)s: %(why)s", code="tenant_file_invalid", params={"source": source, "why": why})


def parse(text: str, *, source: str = "tenant file") -> ParsedFile:
    """Validate a whole file without touching the database. Errors name the key path."""
    _load_sections()
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _invalid(source, f"not valid TOML: {exc}", None) from exc
    platform_raw = {k: v for k, v in raw.items() if k in _PLATFORM_KEYS}
    sections: list[tuple[Section, Any]] = []
    for key in raw:
        if key in _PLATFORM_KEYS:
            continue
        if key not in _SECTIONS:
            known = ", ".join(sorted(_PLATFORM_KEYS | set(_SECTIONS)))
            raise _invalid(source, f"unknown key `{key}` (known keys: {known})", key)
        section = _SECTIONS[key]
        try:
            sections.append((section, msgspec.convert(raw[key], section.schema)))
        except msgspec.ValidationError as exc:
            why, path = _describe(exc, prefix=key)
            raise _invalid(source, why, path) from exc
    try:
        platform = msgspec.convert(platform_raw, PlatformPart)
    except msgspec.ValidationError as exc:
        why, path = _describe(exc)
        raise _invalid(source, why, path) from exc
    _check_platform(platform, source)
    sections.sort(key=lambda s: s[0].order)
    return ParsedFile(platform, sections)


def _check_platform(p: PlatformPart, source: str) -> None:
    def fail(path: str, why: str) -> NoReturn:
        raise _invalid(source, why, path)

    def check(path: str, checker: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        try:
            checker(*args, **kwargs)
        except ValidationFailed as exc:
            fail(path, exc.message)

    check("tenant.slug", rules.check_slug, p.tenant.slug)
    check("tenant.name", rules.check_text, p.tenant.name, "name")
    # the same checks as the company settings page
    check("tenant.locale", rules.check_locale, p.tenant.locale)
    check("tenant.timezone", rules.check_timezone, p.tenant.timezone)
    check("tenant.currency", rules.check_currency, p.tenant.currency)
    codes = {"HQ"}
    for i, u in enumerate(p.org_units):
        check(f"org_units[{i}].code", rules.check_code, u.code)
        check(f"org_units[{i}].name", rules.check_text, u.name, "name")
        if u.code in codes:
            fail(f"org_units[{i}].code", f"duplicate org unit code {u.code!r}")
        if u.parent not in codes:
            fail(f"org_units[{i}].parent", f"parent {u.parent!r} is not HQ or an org unit listed before it")
        if u.kind not in rules.UNIT_KINDS or u.kind == "company":
            kinds = ", ".join(k for k in rules.UNIT_KINDS if k != "company")
            fail(f"org_units[{i}].kind", f"kind must be one of {kinds}")
        codes.add(u.code)
    builtin = set(BUILTIN_ROLES)
    role_codes = set(builtin)
    for i, r in enumerate(p.roles):
        check(f"roles[{i}].code", rules.check_code, r.code)
        if r.code in builtin:
            fail(f"roles[{i}].code", f"{r.code!r} is a built-in role; choose another code")
        if r.code in role_codes:
            fail(f"roles[{i}].code", f"duplicate role code {r.code!r}")
        check(f"roles[{i}].name", rules.check_text, r.name, "name", max_len=120)
        check(f"roles[{i}].permissions", rules.check_permissions, r.permissions)
        role_codes.add(r.code)
    people: list[tuple[str, PersonSpec]] = [(f"staff[{i}]", s) for i, s in enumerate(p.staff)]
    if p.demo:
        check("demo.password", check_password_strength, p.demo.password)
        people += [(f"demo.users[{i}]", s) for i, s in enumerate(p.demo.users)]
    emails: set[str] = set()
    for path, person in people:
        try:
            email = rules.check_email(person.email)
        except ValidationFailed:
            fail(f"{path}.email", f"{person.email!r} is not a valid email address")
        if email in emails:
            fail(f"{path}.email", f"{email} is listed twice")
        emails.add(email)
        check(f"{path}.name", rules.check_text, person.name, "name", max_len=120)
        check(f"{path}.locale", rules.check_locale, person.locale)
        if person.unit not in codes:
            fail(f"{path}.unit", f"no org unit with code {person.unit!r}")
        if person.kind not in rules.USER_KINDS:
            fail(f"{path}.kind", f"kind must be one of {', '.join(rules.USER_KINDS)}")
        for j, g in enumerate(person.roles):
            code, unit = (g, None) if isinstance(g, str) else (g.role, g.unit)
            if code not in role_codes:
                fail(f"{path}.roles[{j}]", f"no role with code {code!r}")
            if unit is not None and unit not in codes:
                fail(f"{path}.roles[{j}].unit", f"no org unit with code {unit!r}")


async def _apply_identity(t: TenantIdentity, ctx_changes: list[str]) -> tuple[TenantInfo, bool]:
    existing = await service.tenant_by_slug(t.slug)
    if existing is None:
        if await Tenant.exists().where(Tenant.slug == t.slug):
            raise ValidationFailed("tenant %(slug)r exists but is not active", field="tenant.slug",
                                   code="tenant_file_invalid", params={"slug": t.slug})
        info, _root = await service.create_tenant(company=t.name, slug=t.slug, currency=t.currency,
                                                  timezone=t.timezone, locale=t.locale)
        ctx_changes.append(f"tenant {t.slug} created")
        return info, True
    await bind_tenant(existing.id)
    info, changed = await service.update_company(name=t.name, timezone=t.timezone, locale=t.locale,
                                                 currency=t.currency, recount_now=True)
    if changed:
        ctx_changes.append("tenant identity updated: " + ", ".join(changed))
    return info, False


async def _apply_units(units: list[OrgUnitSpec], ctx: ApplyContext) -> None:
    for i, u in enumerate(units):
        parent_id = await ctx.unit_id(u.parent, path=f"org_units[{i}].parent")
        row = await service.unit_by_code(u.code)
        if row is None:
            await service.create_unit(None, code=u.code, name=u.name, kind=u.kind, parent_id=parent_id)
            ctx.changed(f"org unit {u.code} created")
            continue
        if row["parent"] != parent_id:
            raise ValidationFailed("org_units[%(i)s].parent: moving unit %(code)r to another parent is not "
                                   "supported by tenant files; move it on the Organisation page",
                                   field=f"org_units[{i}].parent", code="tenant_file_invalid",
                                   params={"i": i, "code": u.code})
        if row["name"] != u.name or row["kind"] != u.kind:
            await service.update_unit(None, row["id"], name=u.name, kind=u.kind)
            ctx.changed(f"org unit {u.code} updated")


async def _apply_roles(roles: list[RoleSpec], ctx: ApplyContext) -> None:
    existing = {r["code"]: r for r in await service.list_roles()}
    for r in roles:
        row = existing.get(r.code)
        if row is None:
            await service.create_role(code=r.code, name=r.name, permissions=r.permissions, description=r.description)
            ctx.changed(f"role {r.code} created")
        elif row["builtin"]:
            raise ValidationFailed("roles: %(code)r is a built-in role; choose another code", field="roles",
                                   code="tenant_file_invalid", params={"code": r.code})
        elif (row["name"], sorted(row["permissions"]), row["description"]) != (
                r.name, sorted(set(r.permissions)), r.description):
            await service.update_role(row["id"], name=r.name, permissions=r.permissions, description=r.description)
            ctx.changed(f"role {r.code} updated")


async def _apply_people(people: list[PersonSpec], ctx: ApplyContext, *, password: str | None, label: str) -> None:
    for person in people:
        email = rules.check_email(person.email)
        unit_id = await ctx.unit_id(person.unit, path=f"{label}.unit")
        row = await User.select(User.id, User.display_name, User.org_unit, User.phone, User.kind, User.locale,
                                User.password_hash).where(User.email == email).first()
        grants = [(g, person.unit) if isinstance(g, str) else (g.role, g.unit or person.unit) for g in person.roles]
        if row is None:
            await service.create_staff(None, email=email, display_name=person.name, unit_id=unit_id, roles=[],
                                       password=password, phone=person.phone, kind=person.kind,
                                       locale=person.locale, demo=password is not None)
            ctx.changed(f"{label} {email} created")
            row = await User.select(User.id).where(User.email == email).first()
            assert row is not None
        else:
            changes: dict[str, Any] = {}
            if row["display_name"] != person.name:
                changes["display_name"] = person.name
            if row["org_unit"] != unit_id:
                changes["unit_id"] = unit_id
            if (person.phone or None) != row["phone"]:
                changes["phone"] = person.phone or ""
            if person.locale != row["locale"] and person.locale is not None:
                changes["locale"] = person.locale
            if password is not None and not (row["password_hash"] and verify_password(row["password_hash"], password)):
                changes["password"] = password
            if changes:
                await service.update_staff(None, row["id"], **changes)
                ctx.changed(f"{label} {email} updated")
        held = {(g["role.code"], g["org_unit"]) for g in await service.grants_of(row["id"])}
        for role_code, unit_code in grants:
            grant_unit = await ctx.unit_id(unit_code, path=f"{label}.roles")
            if (role_code, grant_unit) not in held:
                await service.grant_role(None, row["id"], role_code, grant_unit)
                ctx.changed(f"{label} {email} granted {role_code} at {unit_code}")


async def apply_text(text: str, *, demo: bool, source: str = "tenant file") -> ApplyReport:
    parsed = parse(text, source=source)
    # A task of its own runs in a copy of the caller's context, so the tenant and actor the
    # apply binds do not stay behind in the caller (a CLI loop or a test applying many files).
    return await asyncio.create_task(_apply_parsed(parsed, demo=demo))


async def _apply_parsed(parsed: ParsedFile, *, demo: bool) -> ApplyReport:
    p = parsed.platform
    set_actor(Actor(None, f"tenant-file:{p.tenant.slug}"))
    changes: list[str] = []
    async with transaction():
        info, created = await _apply_identity(p.tenant, changes)
        ctx = ApplyContext(tenant=info, demo=demo, changes=changes)
        await service.ensure_builtin_roles()
        await _apply_units(p.org_units, ctx)
        await _apply_roles(p.roles, ctx)
        await _apply_people(p.staff, ctx, password=None, label="staff")
        if demo and p.demo is not None:
            await _apply_people(p.demo.users, ctx, password=p.demo.password, label="demo user")
        for section, value in parsed.sections:
            await section.apply(value, ctx)
    return ApplyReport(slug=p.tenant.slug, created=created, changes=changes)


async def apply_file(path: Path, *, demo: bool) -> ApplyReport:
    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    except OSError as exc:
        raise ValidationFailed("%(path)s: cannot read the file: %(strerror)s", code="tenant_file_invalid",
                               params={"path": path, "strerror": exc.strerror}) from exc
    return await apply_text(text, demo=demo, source=str(path))
