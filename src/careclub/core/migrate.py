"""Migrations run as the owner role; afterwards the app role gets exactly the rights it needs."""

from __future__ import annotations

import contextlib
import io
import logging

import asyncpg

from careclub.core.db import DB
from careclub.core.infra import dsn_user

log = logging.getLogger("careclub.migrate")

# Tables the app role may read and append to but never change: the audit trail is evidence.
APPEND_ONLY = ("audit_entry", "club_checkin")


async def migrate(owner_dsn: str, app_dsn: str) -> str:
    """Run every pending Piccolo migration, then (re)grant the app role. Idempotent."""
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
    conn = await asyncpg.connect(owner_dsn)
    try:
        async with conn.transaction():
            await conn.execute(f"GRANT USAGE ON SCHEMA public TO {app_role}")
            await conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app_role}")
            await conn.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app_role}")
            await conn.execute(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON migration FROM {app_role}")
            for table in APPEND_ONLY:
                # A table of a domain whose migrations have not run yet is simply not there.
                if await conn.fetchval("SELECT to_regclass($1)", table) is not None:
                    await conn.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {app_role}")
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
