"""Two indexes for what a big company reads most slowly (issue #13; measured with bench/scale.py at a million
tickets):

- `ticket_event_tenant_ticket_rating`: the rating events alone (a return visit's, and the bad first rating of a
  reworked ticket), by ticket, carrying their `data`: the satisfaction report looks up the ratings of each
  ticket closed in the month without reading the ticket's other events (the timeline is append-only, so the
  look-up is index-only).
- `ticket_tenant_created` again, now carrying the columns the lists' scope reads (type, project, department,
  assignee, raiser): counting a handler's "all" view up to the cap is answered from the index alone
  (`api tickets all (handler)` at a million tickets: 245 / 300 ms -> 26 / 35 ms at p50 / p95). It is built
  under a new name, the old one dropped and the new one renamed, in the migration's transaction.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import run_script

ID = "2026-12-01T09:00:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "tickets: index of the ratings, the created index covering the lists' scope"

SQL = """
CREATE INDEX IF NOT EXISTS ticket_event_tenant_ticket_rating ON ticket_event (tenant_id, ticket) INCLUDE (data)
    WHERE kind = 'transition' AND data ? 'reason';
CREATE INDEX ticket_tenant_created_scope ON ticket (tenant_id, created_at DESC, id DESC)
    INCLUDE (type, project_id, department, assignee, raised_by);
DROP INDEX ticket_tenant_created;
ALTER INDEX ticket_tenant_created_scope RENAME TO ticket_tenant_created;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tickets", description=DESCRIPTION)

    async def run():
        await run_script(SQL)

    manager.add_raw(run)
    return manager
