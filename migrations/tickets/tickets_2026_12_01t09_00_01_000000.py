"""SLA notices keyed by the deadline too (issue #13): one notice per (ticket, kind, person, deadline) instead of
one per (ticket, kind, person) for good, so a deadline moved by a pause and a resumption warns again.

The notices made before the column existed keep a null deadline: they stay as they are, sent or waiting, and
never stand in the way of a new one (nulls are distinct in a unique index). Nothing repeats them either: the
ticket's own flags (`warned`, `breached`) and the job's check for a response notice keep the old deadlines
from being noticed twice. The new index is built before the old one goes, in the migration's transaction."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import run_script

ID = "2026-12-01T09:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "tickets: SLA notices once per deadline"

SQL = """
CREATE UNIQUE INDEX IF NOT EXISTS ticket_sla_notice_tenant_once_per_deadline
    ON ticket_sla_notice (tenant_id, ticket, kind, user_id, deadline);
DROP INDEX IF EXISTS ticket_sla_notice_tenant_once;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tickets", description=DESCRIPTION)

    async def run():
        await run_script(SQL)

    manager.add_raw(run)
    return manager
