"""The audit trail pages by keyset (created_at, id): the index carries the tie-breaker, so a page
deep in two million entries starts where the last one ended."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import run_script

ID = "2026-11-30T08:46:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit keyset index"

SQL = """
CREATE INDEX audit_entry_tenant_time_id ON audit_entry (tenant_id, created_at DESC, id DESC);
DROP INDEX IF EXISTS audit_entry_tenant_time;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="platform", description=DESCRIPTION)

    async def run():
        await run_script(SQL)

    manager.add_raw(run)
    return manager
