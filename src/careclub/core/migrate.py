"""Migrations run as the owner role; afterwards the app role gets exactly the rights it needs."""

from __future__ import annotations

import contextlib
import io
import logging

import asyncpg

from careclub.core.db import DB
from careclub.core.infra import dsn_user, quote_ident

log = logging.getLogger("careclub.migrate")

# Tables the app role may read and append to but never change: the audit trail and the funds ledger are
# evidence (a ledger mistake is corrected by a reversing entry).
APPEND_ONLY = ("audit_entry", "club_checkin", "fund_entry", "fund_posting", "ticket_event")


async def migrate(owner_dsn: str, app_dsn: str) -> str:
    """Run every pending Piccolo migration, then (re)grant the app role. Idempotent."""
    if not owner_dsn:
        raise SystemExit(
            f"careclub migrate: DATABASE_URL names {dsn_user(app_dsn) or 'a role'}, which may not create roles, "
            "so it is taken for the app role, and DATABASE_OWNER_URL (the schema owner that runs migrations) is "
            "not set. Give the migrator DATABASE_OWNER_URL too, or a DATABASE_URL that may create roles "
            "(docs/deployment.md).")
    from piccolo.apps.migrations.commands.forwards import run_forwards

    # Piccolo would run the migrations through a running pool (the app role's, perhaps another
    # database's): set it aside so they open their own connections as the owner.
    previous, pool = dict(DB.config), DB.pool
    DB.pool = None
    DB.configure(owner_dsn)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            result = await run_forwards(app_name="all")
    finally:
        DB.config, DB.pool = previous, pool
    if not result.success:
        raise SystemExit(f"migrations failed: {result.message}\n{out.getvalue()}")
    await grant_app_role(owner_dsn, dsn_user(app_dsn))
    return out.getvalue()


async def grant_app_role(owner_dsn: str, app_role: str) -> None:
    """Give the app role (named by its URL, whatever it is called) exactly what it needs."""
    app = quote_ident(app_role)
    conn = await asyncpg.connect(owner_dsn)
    try:
        async with conn.transaction():
            # PostgreSQL 14 and older let every role create tables in `public`; the app role must own none.
            if await conn.fetchval(
                    "SELECT EXISTS (SELECT 1 FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname = 'public'"
                    " AND a.grantee = 0 AND a.privilege_type = 'CREATE')"):
                await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            await conn.execute(f"GRANT USAGE ON SCHEMA public TO {app}")
            await conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app}")
            await conn.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app}")
            await conn.execute(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON migration FROM {app}")
            for table in APPEND_ONLY:
                # A table of a domain whose migrations have not run yet is simply not there.
                if await conn.fetchval("SELECT to_regclass($1)", table) is not None:
                    await conn.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {app}")
    finally:
        await conn.close()


async def pending_migrations() -> list[str]:
    """Migration ids known to the code but not yet run (for `careclub doctor`)."""
    from piccolo.apps.migrations.commands.base import BaseMigrationManager
    from piccolo.apps.migrations.tables import Migration

    manager = BaseMigrationManager()
    pending: list[str] = []
    for app_name in manager.get_sorted_app_names():
        app = manager.get_app_config(app_name)
        known = manager.get_migration_ids(manager.get_migration_modules(app.resolved_migrations_folder_path))
        ran = set(await Migration.get_migrations_which_ran(app_name=app_name))
        pending.extend(m for m in known if m not in ran)
    return pending
