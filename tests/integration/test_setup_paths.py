"""Every documented way of setting the database up (docs/deployment.md, "Three ways to set the
database up") against the real server the suite runs on:

1. a fresh server: `DATABASE_URL` names a superuser, or an administrator with CREATEROLE and
   CREATEDB (as on managed servers), and a database that does not exist yet;
2. a database that exists and another role owns: the bundled compose file's migrator (superuser,
   `POSTGRES_DB` made the database) and a managed server's administrator that made the database;
   an administrator that may not grant on it is refused with the statement to run;
3. the DBA path: roles (other names, with passwords) and database made by the SQL that
   docs/deployment.md gives, run verbatim with psql as a non-superuser administrator; the migrator
   gets DATABASE_OWNER_URL + DATABASE_URL, the app and the worker DATABASE_URL alone.

Each test makes its own database (and roles where it can) and runs `careclub migrate` as a
subprocess with the environment a deployment would give it, then once more in-process (the body
of `cli.cmd_migrate`), comparing the catalog: the second run may change nothing. It checks the
result as the app role (not superuser, no BYPASSRLS, owns nothing, RLS forced and failing closed,
a tenant from a small tenant file visible only in its own context), runs `careclub doctor`'s
checks with the app's environment, and serves the app from that environment (health, sign-in, a
tenant-scoped answer). It drops what it made at the end.

They need a superuser DATABASE_URL (the embedded server is one) and skip otherwise.

The roles `careclub_owner` and `careclub_app` of ways 1 and 2 are cluster-wide and shared with the
rest of the suite (its own set-up made them) and with other runs of it on the same server, so those
tests leave them in place and give them no password but the suite's own (CARECLUB_*_PASSWORD, what
the suite's set-up gives them anyway); way 3 makes roles of its own, with passwords.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import os
import re
import secrets
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from careclub.core.doctor import run_doctor
from careclub.core.infra import APP_ROLE, OWNER_ROLE, Infra, dsn_user, dsn_with, resolve
from careclub.core.migrate import migrate
from careclub.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "careclub-demo-2026"
SLUG = "setup-check"
ADMIN_EMAIL = f"admin@{SLUG}.example"
TENANT_FILE = f"""\
[tenant]
slug = "{SLUG}"
name = "安装检查物业"

[[org_units]]
code = "R1"
name = "一区"
kind = "region"

[demo]
password = "{DEMO_PASSWORD}"

[[demo.users]]
email = "{ADMIN_EMAIL}"
name = "管理员"
roles = ["tenant_admin"]
"""
# Never inherited from the suite's environment: each test gives the subprocess exactly its own.
DB_VARIABLES = ("DATABASE_URL", "DATABASE_OWNER_URL", "CARECLUB_OWNER_PASSWORD", "CARECLUB_APP_PASSWORD")


@dataclass
class Server:
    admin: str  # a superuser, to set things up and look behind careclub's back
    redis_url: str
    version: int  # major
    settings: Settings


@dataclass
class Made:
    """What one test created on the shared server, dropped at the end."""

    databases: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)  # dropped in reverse order


@pytest.fixture(scope="module")
async def server(settings: Settings, infra: Infra) -> Server:
    if settings.database_owner_url:
        pytest.skip("the set-up paths need a superuser DATABASE_URL (DATABASE_OWNER_URL is set)")
    admin = settings.database_url or infra.handles[0].get_uri()  # the embedded server is ours
    conn = await asyncpg.connect(dsn_with(admin, database="postgres"))
    try:
        superuser = await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        version = conn.get_server_version().major
    finally:
        await conn.close()
    if not superuser:
        pytest.skip(f"the set-up paths need a superuser DATABASE_URL ({dsn_user(admin)} is not one)")
    return Server(admin=admin, redis_url=infra.redis_url, version=version, settings=settings)


@pytest.fixture
async def made(server: Server) -> AsyncIterator[Made]:
    m = Made()
    yield m
    conn = await asyncpg.connect(dsn_with(server.admin, database="postgres"))
    try:
        for database in m.databases:
            await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        for role in reversed(m.roles):
            await conn.execute(f'DROP ROLE IF EXISTS "{role}"')
    finally:
        await conn.close()


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


async def admin_execute(server: Server, *statements: str, database: str = "postgres") -> None:
    conn = await asyncpg.connect(dsn_with(server.admin, database=database))
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


async def managed_admin(server: Server, made: Made) -> str:
    """A managed server's administrator: may create roles and databases, is not a superuser."""
    name = unique("cc_admin")
    await admin_execute(server, f"CREATE ROLE {name} LOGIN NOSUPERUSER CREATEROLE CREATEDB")
    made.roles.insert(0, name)  # dropped last
    if server.version >= 16:
        # PostgreSQL 16+ lets an administrator manage only roles it holds WITH ADMIN OPTION, which it
        # does for the roles it created. The shared careclub_owner and careclub_app were made by the
        # suite's superuser, so give this administrator what creating them would have given it.
        await admin_execute(server, f"GRANT {OWNER_ROLE}, {APP_ROLE} TO {name}"
                                    " WITH ADMIN TRUE, INHERIT FALSE, SET FALSE")
    return name


async def careclub(server: Server, tmp_path: Path, *args: str, env: dict[str, str], expect: int = 0) -> str:
    """Run the `careclub` command as a deployment would, with `env` as its database set-up."""
    full = {k: v for k, v in os.environ.items() if k not in DB_VARIABLES}
    full.update({"REDIS_URL": server.redis_url, "SECRET_KEY": "setup-paths-test-" + "x" * 40,
                 "DATA_DIR": str(tmp_path / "data"), "LOG_JSON": "0", "LOG_LEVEL": "WARNING", **env})
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "careclub.cli", *args, env=full, cwd=str(ROOT),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=300)
    text = out.decode()
    assert proc.returncode == expect, f"careclub {' '.join(args)} exited {proc.returncode}, not {expect}:\n{text}"
    return text


SNAPSHOT = {
    "database": "SELECT datname, pg_get_userbyid(datdba), datacl::text FROM pg_database"
                " WHERE datname = current_database()",
    "schemas": "SELECT nspname, pg_get_userbyid(nspowner), nspacl::text FROM pg_namespace"
               " WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' ORDER BY 1",
    "relations": "SELECT n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner), c.relacl::text,"
                 " c.relrowsecurity, c.relforcerowsecurity"
                 " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                 " WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' ORDER BY 1, 2",
    "policies": "SELECT schemaname, tablename, policyname, cmd, roles::text, qual, with_check FROM pg_policies"
                " ORDER BY 1, 2, 3",
    "functions": "SELECT p.proname, pg_get_userbyid(p.proowner), p.proacl::text, p.prosecdef, md5(p.prosrc)"
                 " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' ORDER BY 1",
    "migrations": "SELECT app_name, name FROM migration ORDER BY 1, 2",
}


async def snapshot(server: Server, database: str, roles: tuple[str, str]) -> dict[str, Any]:
    """The catalog state a migration or a grant could change, read as the superuser."""
    conn = await asyncpg.connect(dsn_with(server.admin, database=database))
    try:
        state: dict[str, Any] = {k: [tuple(r) for r in await conn.fetch(sql)] for k, sql in SNAPSHOT.items()}
        state["roles"] = [tuple(r) for r in await conn.fetch(
            "SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolbypassrls"
            " FROM pg_roles WHERE rolname = ANY($1::text[]) ORDER BY 1", list(roles))]
        state["app memberships"] = [tuple(r) for r in await conn.fetch(
            "SELECT pg_get_userbyid(roleid) FROM pg_auth_members"
            " WHERE member = (SELECT oid FROM pg_roles WHERE rolname = $1) ORDER BY 1", roles[1])]
    finally:
        await conn.close()
    assert state["migrations"], "nothing was migrated"
    return state


@contextmanager
def environment(server: Server, env: dict[str, str]) -> Iterator[Settings]:
    """This process as if started with `env`: the settings `Settings.from_env()` would give, and the
    password variables the set-up reads from the environment."""
    saved = {k: os.environ.pop(k, None) for k in DB_VARIABLES}
    os.environ.update({k: v for k, v in env.items() if k in DB_VARIABLES})
    try:
        yield dataclasses.replace(server.settings, database_url=env.get("DATABASE_URL"),
                                  database_owner_url=env.get("DATABASE_OWNER_URL"), redis_url=server.redis_url)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


async def migrate_twice(server: Server, tmp_path: Path, env: dict[str, str], database: str,
                        roles: tuple[str, str] = (OWNER_ROLE, APP_ROLE)) -> dict[str, Any]:
    """`careclub migrate` migrates; run again (here in-process: the body of `cli.cmd_migrate`), it
    finds nothing to do and changes nothing."""
    first = await careclub(server, tmp_path, "migrate", env=env)
    assert "Running" in first and "2026-11-23T02:40:00:000000" in first, first  # the migration that made schemas
    before = await snapshot(server, database, roles)
    with environment(server, env) as settings:
        infra = await resolve(settings)
        second = await migrate(infra.owner_dsn, infra.app_dsn)
    assert "Running" not in second and "No migrations need to be run" in second, second
    after = await snapshot(server, database, roles)
    for key in before:
        assert after[key] == before[key], f"a second `careclub migrate` changed {key}"
    return after


async def check_as_app_role(app_dsn: str, app_role: str, *, tenant_applied: bool) -> None:
    """What the app role is and may do, seen from a connection as the app role itself."""
    conn = await asyncpg.connect(app_dsn)
    try:
        role = await conn.fetchrow("SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert role["rolname"] == app_role
        assert not role["rolsuper"] and not role["rolbypassrls"]
        assert await conn.fetchval(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
            " AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'") == 0
        # Forced RLS, failing closed: no tenant in context is an error, not an empty answer.
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="no tenant in context"):
            await conn.fetchval("SELECT count(*) FROM org_unit")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE setup_probe (x int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetchval("SELECT count(*) FROM club_checkin_parts.club_checkin_default")
        if not tenant_applied:
            return
        tenant_id = await conn.fetchval("SELECT id FROM tenant WHERE slug = $1", SLUG)
        assert tenant_id is not None
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant_id))
            assert {r["code"] for r in await conn.fetch("SELECT code FROM org_unit")} == {"HQ", "R1"}
            assert await conn.fetchval("SELECT email FROM app_user") == ADMIN_EMAIL
            with pytest.raises(asyncpg.InsufficientPrivilegeError):  # the audit trail is append-only
                await conn.execute("DELETE FROM audit_entry")
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(uuid.uuid4()))
            assert await conn.fetchval("SELECT count(*) FROM org_unit") == 0
    finally:
        await conn.close()


@asynccontextmanager
async def served(server: Server, env: dict[str, str]) -> AsyncIterator[tuple[httpx.AsyncClient, Infra]]:
    """The app as `uvicorn --factory careclub.app:create_app_from_env` builds it from the app's
    environment (it resolves its own infra at start-up), served in this event loop; the suite's
    pool and Redis client are set aside meanwhile."""
    from careclub.app import create_app
    from tests.live import app_state_set_aside

    with app_state_set_aside():
        with environment(server, env) as settings:
            app = create_app(settings)
            for hook in app.on_startup:
                await hook(app)
        try:
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("127.0.0.1", 50001))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
                yield client, app.state.infra
        finally:
            for hook in app.on_shutdown:
                await hook(app)


async def check_serves(server: Server, env: dict[str, str], app_role: str, *, owner_known: bool,
                       tmp_path: Path | None = None) -> None:
    """The app serves as the app role: health, sign-in and a tenant-scoped answer. With `tmp_path`
    the tenant file is applied first, on the app's own pool (what `careclub tenant apply` does
    after its set-up: `cli.apply_tenant_files` runs `apply_file` as the app role)."""
    from careclub.platform.tenant_file import apply_file

    async with served(server, env) as (client, infra):
        assert dsn_user(infra.app_dsn) == app_role
        assert bool(infra.owner_dsn) is owner_known
        if tmp_path is not None:
            path = tmp_path / f"{SLUG}.toml"
            path.write_text(TENANT_FILE, encoding="utf-8")
            assert (await apply_file(path, demo=True)).created
        r = await client.get("/health")
        assert r.status_code == 200, r.text
        r = await client.post("/api/v1/auth/token", json={"tenant": SLUG, "email": ADMIN_EMAIL,
                                                          "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.text
        r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['token']}"})
        assert r.status_code == 200, r.text
        assert r.json()["tenant"]["slug"] == SLUG


async def apply_tenant(server: Server, tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / f"{SLUG}.toml"
    path.write_text(TENANT_FILE, encoding="utf-8")
    out = await careclub(server, tmp_path, "tenant", "apply", str(path), "--demo", env=env)
    assert f"{SLUG}: created" in out, out


async def doctor(server: Server, env: dict[str, str], app_role: str) -> str:
    """`careclub doctor` (the body of `cli.cmd_doctor`, in-process) with a deployment's environment."""
    out = io.StringIO()
    with environment(server, env) as settings, contextlib.redirect_stdout(out):
        code = await run_doctor(settings)
    text = out.getvalue()
    assert code == 0 and "FAIL" not in text and "checks passed" in text, text
    assert f"ok    app role {app_role}:" in text, text
    return text


async def database_facts(server: Server, database: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn_with(server.admin, database=database))
    try:
        row = await conn.fetchrow(
            "SELECT pg_get_userbyid(d.datdba) AS db_owner,"
            " (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public') AS public_owner,"
            " has_database_privilege($1, current_database(), 'CREATE') AS owner_may_create"
            " FROM pg_database d WHERE d.datname = current_database()", OWNER_ROLE)
        return dict(row)
    finally:
        await conn.close()


async def snapshot_tables(server: Server, database: str) -> int:
    conn = await asyncpg.connect(dsn_with(server.admin, database=database))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"))
    finally:
        await conn.close()


# ---- 1. a fresh server ----------------------------------------------------------------------------

async def test_fresh_server_with_a_superuser(server: Server, made: Made, tmp_path: Path) -> None:
    """CI, `make run` with DATABASE_URL, a development server: everything is created."""
    database = unique("careclub_setup_fresh")
    made.databases.append(database)
    env = {"DATABASE_URL": dsn_with(server.admin, database=database)}
    await migrate_twice(server, tmp_path, env, database)
    assert await database_facts(server, database) == {
        "db_owner": OWNER_ROLE, "public_owner": OWNER_ROLE, "owner_may_create": True}
    await doctor(server, env, APP_ROLE)
    # The app started from the same DATABASE_URL derives the app role and serves as it.
    await check_serves(server, env, APP_ROLE, owner_known=True, tmp_path=tmp_path)
    await check_as_app_role(dsn_with(server.admin, user=APP_ROLE, password="", database=database), APP_ROLE,
                            tenant_applied=True)


async def test_fresh_server_with_a_managed_administrator(server: Server, made: Made, tmp_path: Path) -> None:
    """CREATEROLE and CREATEDB but no superuser: it may only give the database to a role it can act as."""
    admin = await managed_admin(server, made)
    database = unique("careclub_setup_fresh_managed")
    made.databases.append(database)
    env = {"DATABASE_URL": dsn_with(server.admin, user=admin, password="", database=database)}
    await migrate_twice(server, tmp_path, env, database)
    assert (await database_facts(server, database))["db_owner"] == OWNER_ROLE
    await doctor(server, env, APP_ROLE)
    await check_as_app_role(dsn_with(server.admin, user=APP_ROLE, password="", database=database), APP_ROLE,
                            tenant_applied=False)


# ---- 2. a database that exists, owned by another role ---------------------------------------------

async def test_existing_database_as_the_compose_migrator_does(server: Server, made: Made, tmp_path: Path) -> None:
    """docker-compose.yml: POSTGRES_DB made the database (owned by the superuser), the migrator connects
    as the superuser with both role passwords, the app and the worker as careclub_app. The passwords
    are the suite's own, if any: the roles are shared with every other run on this server."""
    database = unique("careclub_setup_compose")
    made.databases.append(database)
    await admin_execute(server, f'CREATE DATABASE "{database}"')
    owner_pw, app_pw = os.environ.get("CARECLUB_OWNER_PASSWORD", ""), os.environ.get("CARECLUB_APP_PASSWORD", "")
    migrator = {"DATABASE_URL": dsn_with(server.admin, password="superuser-pw", database=database),
                "CARECLUB_OWNER_PASSWORD": owner_pw, "CARECLUB_APP_PASSWORD": app_pw}
    app_url = dsn_with(server.admin, user=APP_ROLE, password=app_pw, database=database)
    app_env = {"DATABASE_URL": app_url, "CARECLUB_APP_PASSWORD": app_pw}  # x-app-env
    await migrate_twice(server, tmp_path, migrator, database)
    superuser = dsn_user(server.admin)
    assert await database_facts(server, database) == {
        "db_owner": superuser, "public_owner": OWNER_ROLE, "owner_may_create": True}
    await apply_tenant(server, tmp_path, migrator)  # `docker compose run --rm migrate careclub tenant apply …`
    out = await doctor(server, app_env, APP_ROLE)  # `docker compose exec app careclub doctor`
    assert "not known here" in out and (not app_pw or app_pw not in out)
    await check_as_app_role(app_url, APP_ROLE, tenant_applied=True)
    await check_serves(server, app_env, APP_ROLE, owner_known=False)


async def test_existing_database_of_a_managed_administrator(server: Server, made: Made, tmp_path: Path) -> None:
    """The database the managed service made with the server belongs to its administrator."""
    admin = await managed_admin(server, made)
    database = unique("careclub_setup_managed")
    admin_url = dsn_with(server.admin, user=admin, password="", database="postgres")
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    made.databases.insert(0, database)
    env = {"DATABASE_URL": dsn_with(admin_url, database=database)}
    await migrate_twice(server, tmp_path, env, database)
    assert await database_facts(server, database) == {
        "db_owner": admin, "public_owner": OWNER_ROLE, "owner_may_create": True}
    await doctor(server, env, APP_ROLE)
    await check_as_app_role(dsn_with(server.admin, user=APP_ROLE, password="", database=database), APP_ROLE,
                            tenant_applied=False)


async def test_existing_database_the_administrator_may_not_grant_on(server: Server, made: Made,
                                                                    tmp_path: Path) -> None:
    """An administrator that neither owns the database nor is a superuser is stopped before any
    migration, with the one statement to run; after it, the same command succeeds."""
    admin = await managed_admin(server, made)
    database = unique("careclub_setup_refused")
    made.databases.append(database)
    await admin_execute(server, f'CREATE DATABASE "{database}"')
    env = {"DATABASE_URL": dsn_with(server.admin, user=admin, password="", database=database)}
    out = await careclub(server, tmp_path, "migrate", env=env, expect=1)
    grant = f'GRANT CONNECT, CREATE, TEMPORARY ON DATABASE "{database}" TO "{OWNER_ROLE}";'
    schema = f'ALTER SCHEMA public OWNER TO "{OWNER_ROLE}";'
    assert grant in out and f'\\connect "{database}"' in out and schema in out and "Traceback" not in out, out
    assert await snapshot_tables(server, database) == 0  # stopped before any migration
    await admin_execute(server, grant)
    await admin_execute(server, schema, database=database)
    await careclub(server, tmp_path, "migrate", env=env)
    await doctor(server, env, APP_ROLE)


# ---- 3. roles and database made by a DBA with the documented SQL ----------------------------------

def documented_dba_sql() -> str:
    text = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    marker = text.index("test_setup_paths.py runs the next block verbatim")
    match = re.search(r"```sql\n(.*?)```", text[marker:], re.S)
    assert match, "docs/deployment.md: no SQL block after the marker"
    return match.group(1)


def psql() -> str:
    found = shutil.which("psql")
    if found:
        return found
    import pgserver  # the embedded server's wheel carries one

    bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / "psql"
    if not bundled.exists():
        pytest.skip("no psql to run the documented SQL with")
    return str(bundled)


async def test_roles_and_database_made_with_the_documented_sql(server: Server, made: Made, tmp_path: Path) -> None:
    admin = await managed_admin(server, made)
    owner, app, database = unique("cc_owner"), unique("cc_web"), unique("careclub_setup_dba")
    owner_pw, app_pw = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    made.databases.append(database)
    made.roles += [owner, app]
    sql = documented_dba_sql()
    sql = re.sub(r"\bcareclub_owner\b", owner, sql)
    sql = re.sub(r"\bcareclub_app\b", app, sql)
    sql = re.sub(r"\bcareclub\b", database, sql)
    sql = sql.replace("OWNER-PASSWORD", owner_pw).replace("APP-PASSWORD", app_pw)
    script = tmp_path / "dba.sql"
    script.write_text(sql, encoding="utf-8")
    proc = await asyncio.create_subprocess_exec(
        psql(), dsn_with(server.admin, user=admin, password="", database="postgres"),
        "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(script),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, f"the documented SQL failed as a non-superuser administrator:\n{out.decode()}"

    conn = await asyncpg.connect(dsn_with(server.admin, database="postgres"))
    try:  # the documented check, and the passwords really set
        assert await conn.fetchval("SELECT pg_has_role($1, $2, 'MEMBER')", app, owner) is False
        assert await conn.fetchval("SELECT count(*) FROM pg_authid WHERE rolname = ANY($1::text[])"
                                   " AND rolpassword IS NOT NULL", [owner, app]) == 2
    finally:
        await conn.close()

    owner_url = dsn_with(server.admin, user=owner, password=owner_pw, database=database)
    app_url = dsn_with(server.admin, user=app, password=app_pw, database=database)
    migrator = {"DATABASE_OWNER_URL": owner_url, "DATABASE_URL": app_url}
    app_env = {"DATABASE_URL": app_url}
    await migrate_twice(server, tmp_path, migrator, database, roles=(owner, app))

    # The app's environment cannot migrate, and says what is missing.
    out = await careclub(server, tmp_path, "migrate", env=app_env, expect=1)
    assert "DATABASE_OWNER_URL" in out and app in out and "Traceback" not in out, out
    # …but it applies tenants (as the app role) and passes the doctor's checks.
    await apply_tenant(server, tmp_path, app_env)
    out = await doctor(server, app_env, app)
    assert "not known here" in out and app_pw not in out and f"{app}:***@" in out
    await check_as_app_role(app_url, app, tenant_applied=True)
    await check_serves(server, app_env, app, owner_known=False)
