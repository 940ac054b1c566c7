"""`careclub doctor`: print the configuration in use, then check it.

Every check connects as the *app* role, the one requests use, so it sees what the app sees:
catalog views (pg_class, pg_policies, pg_roles) are readable by any role. Nothing is changed (the
file storage check writes a small probe object and deletes it again).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg

from careclub.core.infra import Infra, dsn_database, dsn_user, redact, resolve
from careclub.settings import Settings

TIMEOUT = 5.0


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def stripe_mode(secret_key: str) -> str:
    if not secret_key:
        return "sandbox (built-in, no STRIPE_SECRET_KEY)"
    for prefix, mode in (("sk_live_", "live"), ("rk_live_", "live"), ("sk_test_", "test"), ("rk_test_", "test")):
        if secret_key.startswith(prefix):
            return mode
    return "unrecognised key (expected sk_live_/sk_test_/rk_live_/rk_test_)"


def database_server(dsn: str) -> str:
    parts = urlsplit(dsn)
    socket_dir = parse_qs(parts.query).get("host", [""])[0]
    if socket_dir:  # the embedded server listens on a unix socket
        return f"unix socket in {socket_dir}"
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}"


def describe(settings: Settings, infra: Infra) -> list[tuple[str, str]]:
    return [
        ("database server", database_server(infra.app_dsn) + (" (embedded)" if infra.embedded_pg else " (external)")),
        ("database", dsn_database(infra.app_dsn)),
        ("owner role", f"{dsn_user(infra.owner_dsn)}  ({redact(infra.owner_dsn)})" if infra.owner_dsn
         else "not known here (DATABASE_URL is the app role; the migrator has DATABASE_OWNER_URL)"),
        ("app role", f"{dsn_user(infra.app_dsn)}  ({redact(infra.app_dsn)})"),
        ("redis", redact(infra.redis_url) + (" (embedded)" if infra.embedded_redis else " (external)")),
        ("data directory", str(settings.data_dir)),
        ("file storage", _storage_description(settings)),
        ("stripe", stripe_mode(settings.stripe_secret_key)),
        ("demo mode", "on" if settings.demo else "off"),
        ("secure cookies", "on" if settings.cookie_secure else "off (turn on behind https: COOKIE_SECURE=1)"),
    ]


@contextmanager
def _engine_on(dsn: str) -> Iterator[None]:
    """Point Piccolo's engine at `dsn` for a moment, away from any pool the process runs."""
    from careclub.core.db import DB

    saved_config, saved_pool = DB.config, DB.pool
    DB.configure(dsn)
    DB.pool = None
    try:
        yield
    finally:
        DB.config, DB.pool = saved_config, saved_pool


async def check_migrations(app_dsn: str) -> Check:
    from careclub.core.migrate import pending_migrations

    with _engine_on(app_dsn):
        pending = await pending_migrations()
    if pending:
        return Check("migrations", False, f"{len(pending)} pending: {', '.join(pending)} (run `careclub migrate`)")
    return Check("migrations", True, "current")


async def check_rls(conn: asyncpg.Connection) -> list[Check]:
    from careclub.core.db import tenant_tables

    checks = []
    for table in sorted({t._meta.tablename for t in tenant_tables()}):
        rel = await conn.fetchrow(
            "SELECT c.relrowsecurity, c.relforcerowsecurity FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relname = $1 AND c.relkind IN ('r', 'p')", table)
        if rel is None:
            checks.append(Check(f"rls {table}", False, "table missing (migrations not run?)"))
            continue
        problems = []
        if not rel["relrowsecurity"]:
            problems.append("row-level security not enabled")
        if not rel["relforcerowsecurity"]:
            problems.append("row-level security not forced")
        policies = await conn.fetch(
            "SELECT policyname, cmd, qual, with_check FROM pg_policies"
            " WHERE schemaname = current_schema() AND tablename = $1", table)
        complete = [p for p in policies if p["cmd"] == "ALL" and p["qual"] and p["with_check"]
                    and "app_current_tenant" in p["qual"] and "app_current_tenant" in p["with_check"]]
        if not complete:
            problems.append("no policy with both USING and WITH CHECK on app_current_tenant()"
                            + (f" (has: {', '.join(p['policyname'] for p in policies)})" if policies else ""))
        checks.append(Check(f"rls {table}", not problems, "; ".join(problems) or "enabled, forced, policy complete"))
    return checks


async def check_app_role(conn: asyncpg.Connection, owner_role: str) -> Check:
    role = await conn.fetchrow("SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
    owned = await conn.fetch(
        "SELECT schemaname || '.' || tablename AS t FROM pg_tables WHERE tableowner = current_user"
        " AND schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1")
    # Membership in a role that owns tables (the owner role, say) would let it act as that owner.
    owners = await conn.fetch(
        "SELECT DISTINCT pg_get_userbyid(c.relowner) AS r FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
        " AND pg_get_userbyid(c.relowner) <> current_user AND pg_has_role(current_user, c.relowner, 'MEMBER')"
        " ORDER BY 1")
    problems = []
    if role["rolsuper"]:
        problems.append("is a superuser")
    if role["rolbypassrls"]:
        problems.append("has BYPASSRLS")
    if owned:
        names = [r["t"] for r in owned]
        problems.append(f"owns {len(names)} table(s): {', '.join(names[:5])}{' …' if len(names) > 5 else ''}")
    if owners:
        problems.append(f"is a member of {', '.join(r['r'] for r in owners)}, which owns tables")
    if role["rolname"] == owner_role:
        problems.append("is the same role as the owner")
    return Check(f"app role {role['rolname']}", not problems,
                 "; ".join(problems) or "not superuser, no BYPASSRLS, owns no table, no member of a table owner")


async def check_redis(url: str) -> Check:
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT)
    try:
        await client.ping()
        version = (await client.info("server")).get("redis_version", "?")
        return Check("redis", True, f"reachable (version {version})")
    except Exception as exc:  # any failure is the finding
        return Check("redis", False, f"unreachable: {type(exc).__name__}: {exc}")
    finally:
        await client.aclose()


def _storage_description(settings: Settings) -> str:
    from careclub.core.storage import StorageUrlError, describe

    try:
        return describe(settings.storage_url, settings.data_dir / "attachments")
    except StorageUrlError as exc:
        return str(exc)


def _storage_secrets(settings: Settings) -> set[str]:
    """The storage's secret key as written in STORAGE_URL and as sent (decoded, or from the environment)."""
    from careclub.core.storage import parse_url

    found: set[str] = set()
    if settings.storage_url.strip():
        try:
            found.add(urlsplit(settings.storage_url).password or "")
            found.add(parse_url(settings.storage_url).secret_key)
        except ValueError:  # a malformed one: its check fails without echoing it
            pass
    return found - {""}


async def check_storage(settings: Settings) -> Check:
    """Put, read back and delete a probe object where attachments are kept (STORAGE_URL)."""
    from careclub.core.storage import from_url

    storage = from_url(settings.storage_url, settings.data_dir / "attachments")
    key = f"careclub-doctor-probe-{uuid.uuid4().hex}"
    probe = b"careclub doctor probe " + key.encode()
    try:
        await storage.put(key, probe)
        try:
            if await storage.get(key) != probe:
                return Check("file storage", False, "a probe object read back differs from what was written")
        finally:
            await storage.delete(key)
    except Exception as exc:  # any failure is the finding
        return Check("file storage", False, f"cannot put, get and delete a probe object: {type(exc).__name__}: {exc}")
    return Check("file storage", True, "a probe object was written, read back and deleted")


async def _guarded(name: str, check: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await asyncio.wait_for(check(), timeout=TIMEOUT * 4)
    except Exception as exc:  # a crashing check is a failing check, named
        return Check(name, False, f"{type(exc).__name__}: {exc}")


async def collect_checks(infra: Infra, settings: Settings) -> list[Check]:
    checks: list[Check] = []
    try:
        conn = await asyncpg.connect(infra.app_dsn, timeout=TIMEOUT)
    except Exception as exc:  # nothing else about the database can be checked then
        checks.append(Check("database", False, f"cannot connect as {dsn_user(infra.app_dsn)}: "
                                               f"{type(exc).__name__}: {exc}"))
    else:
        try:
            version = await conn.fetchval("SHOW server_version")
            checks.append(Check("database", True, f"reachable as {dsn_user(infra.app_dsn)} (PostgreSQL {version})"))
            checks.append(await _guarded("migrations", lambda: check_migrations(infra.app_dsn)))
            rls = await _guarded("rls", lambda: check_rls(conn))
            checks.extend(rls if isinstance(rls, list) else [rls])
            checks.append(await _guarded("app role", lambda: check_app_role(conn, dsn_user(infra.owner_dsn))))
        finally:
            await conn.close()
    checks.append(await check_redis(infra.redis_url))
    checks.append(await _guarded("file storage", lambda: check_storage(settings)))
    return checks


async def run_doctor(settings: Settings, *, database: str | None = None) -> int:
    """Print configuration and checks; 0 when every check passes, 1 otherwise."""
    infra = await resolve(settings, database=database, provision_roles=False)
    print("careclub doctor\n\nconfiguration")
    for key, value in describe(settings, infra):
        print(f"  {key:16s} {value}")
    print("\nchecks")
    checks = await collect_checks(infra, settings)
    # Error texts come from drivers; make sure none of them echoes a password back.
    passwords = {urlsplit(u).password for u in (infra.app_dsn, infra.owner_dsn, infra.redis_url)} - {None, ""}
    passwords |= _storage_secrets(settings)
    for check in checks:
        detail = check.detail
        for password in passwords:
            detail = detail.replace(str(password), "***")
        print(f"  {'ok  ' if check.ok else 'FAIL'}  {check.name}: {detail}")
    failed = [c.name for c in checks if not c.ok]
    if failed:
        print(f"\ndoctor: {len(failed)} check(s) failed: {', '.join(failed)}")
        return 1
    print(f"\ndoctor: all {len(checks)} checks passed")
    return 0
