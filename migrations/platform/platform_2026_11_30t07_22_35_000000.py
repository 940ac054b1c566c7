"""Row-level security and tenant-first indexes for attachments (raw SQL: Piccolo has no policies)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import rls_sql, run_script

ID = "2026-11-30T07:22:35:000000"
VERSION = "1.38.0"
DESCRIPTION = "attachments row-level security"

SQL = """
CREATE INDEX attachment_tenant_owner ON attachment (tenant_id, owner_kind, owner_id, created_at);
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="platform", description=DESCRIPTION)

    async def run():
        await run_script(SQL + rls_sql("attachment"))

    manager.add_raw(run)
    return manager
