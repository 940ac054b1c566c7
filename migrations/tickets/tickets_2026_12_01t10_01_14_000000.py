"""Indexes for the ticket counts read one scope alternative at a time (service/_lists.py `_count`): every
ticket of a department with its type (a handler's tickets of the types departments see, a dispatcher's
departments' tickets), and every ticket assigned to a person (the open ones had an index; the All tab counts
them all). Each count then reads its own index alone instead of testing every ticket of the list's."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import run_script

ID = "2026-12-01T10:01:14:000000"
VERSION = "1.38.0"
DESCRIPTION = "tickets: indexes of tickets by department and type, and by assignee"

SQL = """
CREATE INDEX IF NOT EXISTS ticket_tenant_department_type ON ticket (tenant_id, department, type);
CREATE INDEX IF NOT EXISTS ticket_tenant_assignee ON ticket (tenant_id, assignee) WHERE assignee IS NOT NULL;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tickets", description=DESCRIPTION)

    async def run():
        await run_script(SQL)

    manager.add_raw(run)
    return manager
