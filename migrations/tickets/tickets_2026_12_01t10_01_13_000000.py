"""The open tickets marked breached, in an index of their own: the attention count reads them, the running
clocks past due (`ticket_tenant_due_running`) and the unanswered past their response time
(`ticket_tenant_respond_by`) as three disjoint parts instead of testing every open ticket (service/_lists.py
ATTENTION_PARTS; 16 → 4 ms at a million tickets with 29,000 open)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import run_script

ID = "2026-12-01T10:01:13:000000"
VERSION = "1.38.0"
DESCRIPTION = "tickets: an index of the open breached tickets"

SQL = """
CREATE INDEX IF NOT EXISTS ticket_tenant_open_breached ON ticket (tenant_id, created_at)
    WHERE closed_at IS NULL AND breached;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tickets", description=DESCRIPTION)

    async def run():
        await run_script(SQL)

    manager.add_raw(run)
    return manager
