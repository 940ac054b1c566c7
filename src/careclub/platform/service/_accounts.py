"""Sign-up, sign-in, API tokens and the principal a credential resolves to."""

from __future__ import annotations

import json
import math
import time
import uuid
from datetime import date, timedelta
from typing import Any

import asyncpg

from careclub.core import clock, ratelimit
from careclub.core.db import after_commit, bind_tenant, current_tenant_id, fetch, mark_bound
from careclub.core.errors import AppError, Conflict, NotFound, Problems, RateLimited, Unauthorized
from careclub.core.jobqueue import enqueue
from careclub.core.principal import Actor, Principal, TenantInfo, set_actor
from careclub.core.security import (
    burn_verify,
    check_password_strength,
    digest,
    hash_password,
    new_secret,
    verify_password,
)
from careclub.platform import audit, rules
from careclub.platform.permissions import BUILTIN_ROLES
from careclub.platform.tables import ApiToken, OrgUnit, Role, RoleGrant, Tenant, User
from careclub.settings import Settings

TOKEN_PREFIX = "cc"  # noqa: S105 - a label, not a secret

_tenant_cache: dict[uuid.UUID, tuple[float, TenantInfo]] = {}
_TENANT_CACHE_SECONDS = 30.0


def tenant_info(row: dict[str, Any]) -> TenantInfo:
    return TenantInfo(id=row["id"], slug=row["slug"], name=row["name"], currency=row["currency"],
                      timezone=row["timezone"], locale=row["locale"])


async def get_tenant(tenant_id: uuid.UUID) -> TenantInfo | None:
    """Tenant identity, cached briefly per process: it is read on every request."""
    hit = _tenant_cache.get(tenant_id)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    row = await Tenant.select().where(Tenant.id == tenant_id).first()
    if row is None or row["status"] != "active":
        return None
    info = tenant_info(row)
    _tenant_cache[tenant_id] = (time.monotonic() + _TENANT_CACHE_SECONDS, info)
    return info


async def company_zone() -> str:
    """The time zone of the company in context (its days, its deadlines)."""
    info = await get_tenant(current_tenant_id())
    return info.timezone if info else "UTC"


async def company_today() -> date:
    """The company's date now: its books and its deadlines count its days, not UTC's."""
    local = clock.local(clock.now(), await company_zone())
    assert local is not None
    return local.date()


def forget_tenant(tenant_id: uuid.UUID) -> None:
    _tenant_cache.pop(tenant_id, None)


async def tenant_by_slug(slug: str) -> TenantInfo | None:
    row = await Tenant.select().where(Tenant.slug == slug).first()
    return tenant_info(row) if row and row["status"] == "active" else None


# Money the company has taken, spent or settled: once any is recorded its currency stays (a change would relabel
# every amount already in the books)
_MONEY_TABLES = ("payment", "fund_entry", "service_order", "settlement_payment")


async def money_recorded() -> bool:
    """Whether the company in context has recorded any money (a payment, a ledger entry, an order, a settlement)."""
    tenant_id = current_tenant_id()
    checks = " OR ".join(f"EXISTS (SELECT 1 FROM {t} WHERE tenant_id = $1)" for t in _MONEY_TABLES)
    return bool((await fetch(f"SELECT {checks} AS found", tenant_id))[0]["found"])


# A zone change's recount of the statistics' tallies, in seconds: minutes at a million members
RECOUNT_TIMEOUT = 3600


async def recount_tallies() -> int:
    """Count the company in context's statistics tallies (club and tickets) again from its rows; answers the rows
    made. What a zone change needs: the tallies are kept per company day and month."""
    return int((await fetch("SELECT club_tally_rebuild() + ticket_tally_rebuild() AS made"))[0]["made"])


async def update_company(*, name: str, timezone: str, locale: str, currency: str,
                         recount_now: bool = False) -> tuple[TenantInfo, list[str]]:
    """The company's name, time zone, language and currency as its admin (a page, the API) or its tenant file sets
    them; every field's problem at once. Answers the company now and the fields that changed. A new zone counts the
    statistics' tallies again (kept per company day and month, which begin at other moments there): in a job
    queued once this commits (177 s at a million members and ten million check-ins, too long for a request), or
    here when `recount_now` (the tenant file's command, which has no worker to wait for)."""
    tenant_id = current_tenant_id()
    # locked first: two saves at once run one after the other, each comparing with what the other left
    rows = await fetch("SELECT * FROM tenant WHERE id = $1 FOR UPDATE", tenant_id)
    if not rows:
        raise NotFound("no such company", code="tenant_not_found")
    row = rows[0]
    problems = Problems()
    wanted = {"name": problems.check(rules.check_text, name, "name"),
              "timezone": problems.check(rules.check_timezone, timezone),
              "locale": problems.check(rules.check_locale, (locale or "").strip(), "locale"),
              "currency": problems.check(rules.check_currency, currency)}
    problems.done()
    current = {k: row[k] for k in wanted}
    if wanted["currency"] != current["currency"] and await money_recorded():
        raise Conflict("the currency cannot change once money has been recorded in %(currency)s", field="currency",
                       code="currency_in_use", params={"currency": current["currency"]})
    changed = [k for k in wanted if wanted[k] != current[k]]
    if changed:
        await Tenant.update({getattr(Tenant, k): wanted[k] for k in changed}).where(Tenant.id == tenant_id)
        if "name" in changed:
            await OrgUnit.update({OrgUnit.name: wanted["name"]}).where(OrgUnit.parent.is_null())
        await audit.record("tenant.update", "tenant", tenant_id, before={k: current[k] for k in changed},
                           after={k: wanted[k] for k in changed})
        if "timezone" in changed and recount_now:
            await recount_tallies()
        elif "timezone" in changed:
            # a key of its own each time: a second change while the first recount runs gets a recount after it
            key = f"tallies_recount:{tenant_id}:{uuid.uuid4().hex}"

            async def recount() -> None:
                await enqueue("tallies_recount", key=key, timeout=RECOUNT_TIMEOUT, tenant_id=str(tenant_id))

            after_commit(recount)
        forget_tenant(tenant_id)
    return tenant_info({**row, **wanted}), changed


async def ensure_builtin_roles() -> dict[str, uuid.UUID]:
    """Create or refresh the built-in roles of the tenant in context; returns code -> id."""
    existing = {r["code"]: r for r in await Role.select().where(Role.builtin.eq(True))}
    ids: dict[str, uuid.UUID] = {}
    for code, (name, description, perms) in BUILTIN_ROLES.items():
        wanted = sorted(p.value for p in perms)
        row = existing.get(code)
        if row is None:
            role = Role(code=code, name=name, description=description, permissions=wanted, builtin=True)
            await role.save()
            ids[code] = role.id
            await audit.record("role.create", "role", role.id, after={"code": code, "permissions": wanted})
        else:
            ids[code] = row["id"]
            if sorted(row["permissions"]) != wanted:
                await Role.update({Role.permissions: wanted}).where(Role.id == row["id"])
                await audit.record("role.update", "role", row["id"],
                                   before={"permissions": row["permissions"]}, after={"permissions": wanted})
    return ids


def _slug_taken(slug: str) -> Conflict:
    return Conflict("the slug %(slug)r is already taken", code="slug_taken", field="slug", params={"slug": slug})


async def _free_slug(slug: str | None) -> str | None:
    if slug is not None and await Tenant.exists().where(Tenant.slug == slug):
        raise _slug_taken(slug)
    return slug


async def create_tenant(*, company: str, slug: str, currency: str = "CNY", timezone: str = "Asia/Shanghai",
                        locale: str = "zh_CN") -> tuple[TenantInfo, uuid.UUID]:
    """A new tenant with its company root unit and built-in roles; binds the transaction to it."""
    problems = Problems()
    company = problems.check(rules.check_text, company, "company")
    slug = problems.check(rules.check_slug, slug)
    problems.done()
    await _free_slug(slug)
    tenant = Tenant(slug=slug, name=company, currency=currency, timezone=timezone, locale=locale)
    try:
        await tenant.save()
    except asyncpg.UniqueViolationError as exc:  # a concurrent sign-up won the slug
        raise _slug_taken(slug) from exc
    await bind_tenant(tenant.id)
    info = TenantInfo(tenant.id, slug, company, currency, timezone, locale)
    root = OrgUnit(code="HQ", name=company, kind="company", parent=None)
    root.path = rules.child_path(None, root.id)
    await root.save()
    await audit.record("tenant.create", "tenant", tenant.id, after={"slug": slug, "name": company})
    await ensure_builtin_roles()
    return info, root.id


async def signup(settings: Settings, *, company: str, slug: str, email: str, password: str,
                 display_name: str = "", locale: str = "zh_CN") -> tuple[TenantInfo, str, uuid.UUID]:
    problems = Problems()  # every field's problem at once, the company's and slug's too
    problems.check(rules.check_text, company, "company")
    slug_ok = problems.check(rules.check_slug, slug)
    email = problems.check(rules.check_email, email)
    problems.check(check_password_strength, password)
    try:
        await _free_slug(slug_ok)
    except AppError as exc:
        problems.add(exc)
    problems.done()
    set_actor(Actor(None, f"sign-up: {email}"))  # the account does not exist yet; the trail still names who
    info, root_id = await create_tenant(company=company, slug=slug, locale=rules.check_locale(locale) or "zh_CN")
    admin_role = await Role.select(Role.id).where(Role.code == "tenant_admin").first()
    assert admin_role is not None, "create_tenant made the built-in roles"
    user = User(email=email, display_name=display_name.strip() or email.split("@")[0],
                password_hash=hash_password(password), kind="staff", org_unit=root_id)
    await user.save()
    set_actor(Actor(user.id, user.display_name))
    await RoleGrant(user=user.id, role=admin_role["id"], org_unit=root_id).save()
    await audit.record("user.create", "user", user.id, after={"email": email, "roles": ["tenant_admin"]})
    token, _ = await issue_token(user.id, kind="login", hours=settings.api_token_hours)
    return info, token, user.id


async def issue_token(user_id: uuid.UUID, *, kind: str, hours: int | None, name: str = "") -> tuple[str, ApiToken]:
    from careclub.core.db import current_tenant_id

    secret = new_secret(32)
    token = f"{TOKEN_PREFIX}_{current_tenant_id().hex}_{secret}"
    row = ApiToken(user=user_id, kind=kind, name=name, token_hash=digest(token),
                   expires_at=clock.now() + timedelta(hours=hours) if hours else None)
    await row.save()
    await audit.record("token.issue", "api_token", row.id, after={"user": user_id, "kind": kind, "name": name})
    return token, row


def token_tenant(token: str) -> uuid.UUID | None:
    """The tenant a token claims; the token is then looked up only inside that tenant."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or len(parts[1]) != 32:
        return None
    try:
        return uuid.UUID(hex=parts[1])
    except ValueError:
        return None


# One round trip from a credential to everything a request needs to know about its caller:
# app_resolve_principal (migrations/platform, 02:50) binds the transaction to the tenant and
# returns the user with each role grant's permissions and the path of the unit it is held at.
_RESOLVE = "SELECT * FROM app_resolve_principal($1, $2, $3)"


def _principal(tenant: TenantInfo, row: dict[str, Any], **extra: Any) -> Principal | None:
    if not row["is_active"]:
        return None
    grants = row["grants"] if isinstance(row["grants"], list) else json.loads(row["grants"])
    by_perm: dict[str, set[str]] = {}
    roles = set()
    for code, permissions, path in grants:
        roles.add(code)
        for perm in permissions:
            by_perm.setdefault(perm, set()).add(path)
    return Principal(tenant=tenant, user_id=row["id"], email=row["email"], display_name=row["display_name"],
                     kind=row["kind"], locale=row["locale"], grants=by_perm, roles=roles, **extra)


async def load_principal(tenant: TenantInfo, user_id: uuid.UUID, **extra: Any) -> Principal | None:
    """The principal of a signed-in user (web sessions); binds the transaction to the tenant."""
    rows = await fetch(_RESOLVE, tenant.id, None, user_id)
    mark_bound(tenant.id)
    return _principal(tenant, rows[0], **extra) if rows else None


async def principal_from_token(token: str) -> Principal | None:
    """Resolve a bearer token, binding the open transaction to the token's tenant."""
    tenant_id = token_tenant(token)
    if tenant_id is None:
        return None
    tenant = await get_tenant(tenant_id)
    if tenant is None:
        return None
    rows = await fetch(_RESOLVE, tenant.id, digest(token), None)
    mark_bound(tenant.id)
    if not rows or rows[0]["token_id"] is None:
        return None
    row = rows[0]
    if row["revoked_at"] is not None or (row["expires_at"] is not None and row["expires_at"] <= clock.now()):
        return None
    return _principal(tenant, row, token_id=row["token_id"])


def _limit_keys(tenant_slug: str, email: str, address: str) -> tuple[str, str]:
    return f"rl:login:acct:{digest(tenant_slug + '|' + email)}", f"rl:login:addr:{address}"


async def authenticate(settings: Settings, *, tenant_slug: str, email: str, password: str,
                       address: str) -> tuple[TenantInfo, uuid.UUID]:
    """Check a password login, rate-limited per account and per address (atomic Redis counters)."""
    email = (email or "").strip().lower()
    acct_key, addr_key = _limit_keys(tenant_slug, email, address)
    for key, limit in ((acct_key, settings.login_failures_per_account),
                       (addr_key, settings.login_failures_per_address)):
        count, ttl = await ratelimit.peek(key)
        if count >= limit:
            raise RateLimited("too many failed sign-in attempts; try again in %(minutes)s minute(s)", retry_after=ttl,
                              params={"minutes": max(1, math.ceil(ttl / 60))})
    tenant = await tenant_by_slug(tenant_slug) if tenant_slug else None
    user = None
    if tenant is not None:
        await bind_tenant(tenant.id)
        user = await User.select(User.id, User.password_hash, User.is_active).where(
            User.email == email).first()
    if user is None or not user["password_hash"]:
        burn_verify()
        ok = False
    else:
        ok = verify_password(user["password_hash"], password) and user["is_active"]
    if not ok or tenant is None or user is None:
        await ratelimit.hit(acct_key, settings.login_window_seconds)
        await ratelimit.hit(addr_key, settings.login_window_seconds)
        raise Unauthorized("the company, email or password is not right", code="invalid_credentials")
    await ratelimit.clear(acct_key)
    await User.update({User.last_login_at: clock.now()}).where(User.id == user["id"])
    set_actor(Actor(user["id"], email))
    await audit.record("auth.login", "user", user["id"])
    return tenant, user["id"]


async def revoke_token(token_id: uuid.UUID, *, user_id: uuid.UUID | None = None) -> None:
    query = ApiToken.select(ApiToken.id, ApiToken.revoked_at).where(ApiToken.id == token_id)
    if user_id is not None:
        query = query.where(ApiToken.user == user_id)
    row = await query.first()
    if row is None:
        raise NotFound("no such token", code="token_not_found")
    if row["revoked_at"] is None:
        await ApiToken.update({ApiToken.revoked_at: clock.now()}).where(ApiToken.id == token_id)
        await audit.record("token.revoke", "api_token", token_id)


async def list_tokens(user_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    query = ApiToken.select(ApiToken.id, ApiToken.user, ApiToken.user.email, ApiToken.name, ApiToken.kind,
                            ApiToken.expires_at, ApiToken.revoked_at, ApiToken.created_at,
                            ApiToken.last_used_at).order_by(ApiToken.created_at, ascending=False)
    if user_id is not None:
        query = query.where(ApiToken.user == user_id)
    return await query
