"""The running clocks of open tickets by due time, and only those. `ticket_tenant_due_running` held the tickets
whose clock runs and that are not breached; closing stops the clock, so they are all open, but its predicate did
not say so. The attention count's second part ("a running clock past due", service/_lists.py ATTENTION_PARTS)
asks for open tickets, which this index could give only by reading each ticket's row for its `closed_at`; the
planner priced that above testing every open ticket in the queue's index, and the count took 13 ms at a million
tickets (29,000 open; the queue page 35 ms at p50). Saying `closed_at IS NULL` in the predicate makes it one
index-only range (0.07 ms). The SLA job asks for open tickets too now, so it keeps reading this index."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import run_script

ID = "2026-12-01T18:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "tickets: the running clocks' index holds open tickets only, and says so"

SQL = """
DROP INDEX IF EXISTS ticket_tenant_due_running;
CREATE INDEX ticket_tenant_due_running ON ticket (tenant_id, due_at)
    WHERE closed_at IS NULL AND clock_since IS NOT NULL AND NOT breached;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tickets", description=DESCRIPTION)

    async def run():
        await run_script(SQL)

    manager.add_raw(run)
    return manager
