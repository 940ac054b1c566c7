"""The check-ins' second `(tenant_id, id)` index dropped (issue #10).

Every tenant table has an index leading with `(tenant_id, id)`; on the partitioned check-ins the primary key
is `(tenant_id, id, created_at)` (a partitioned table's keys must hold the partition key), which already
leads with them and serves every lookup of a check-in by id the same way, partition by partition. The
extra non-unique `club_checkin_tenant_id_id` made each check-in write one index entry more (the hot path
at the counter) and a bulk load one more sort of ten million keys, for no query.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import run_script

ID = "2026-12-01T22:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "clubs: the check-ins' redundant (tenant_id, id) index dropped"

SQL = "DROP INDEX IF EXISTS club_checkin_tenant_id_id;"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="clubs", description=DESCRIPTION)

    async def run():
        await run_script(SQL)

    manager.add_raw(run)
    return manager
