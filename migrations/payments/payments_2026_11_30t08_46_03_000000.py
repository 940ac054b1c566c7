"""Renewal reminders read the automatic renewals due soon and not yet reminded from an index, a
batch at a time, however many members the company has."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import run_script

ID = "2026-11-30T08:46:03:000000"
VERSION = "1.38.0"
DESCRIPTION = "renewal reminder index"

SQL = """
CREATE INDEX payment_subscription_tenant_due ON payment_subscription (tenant_id, current_period_end)
    WHERE status = 'active' AND NOT cancel_at_period_end;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="payments", description=DESCRIPTION)

    async def run():
        await run_script(SQL)

    manager.add_raw(run)
    return manager
