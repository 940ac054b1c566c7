"""Row-level security and tenant-first indexes for password-reset links (raw SQL: Piccolo has no
policies)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import rls_sql, run_script

ID = "2026-11-30T12:10:16:000000"
VERSION = "1.38.0"
DESCRIPTION = "password reset row-level security"

SQL = """
CREATE UNIQUE INDEX password_reset_tenant_token ON password_reset (tenant_id, token_hash);
CREATE INDEX password_reset_tenant_user ON password_reset (tenant_id, "user");
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="platform", description=DESCRIPTION)

    async def run():
        await run_script(SQL + rls_sql("password_reset"))

    manager.add_raw(run)
    return manager
