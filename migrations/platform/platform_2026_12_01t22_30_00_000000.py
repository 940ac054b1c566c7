"""`app_current_tenant()` in plain SQL, inlined into every policy (issue #10).

The function every row-level security policy calls was PL/pgSQL: a call per row wherever a policy filters a
scan, ~1.5 µs each (a count of a company's ten million check-ins under the forced policy took 18 s, 2 s without
it). In plain SQL the planner inlines it, so a scan compares each row's tenant with the setting directly. It
still fails closed with the same error (42501, "no tenant in context"): only when the setting is missing or
empty does `coalesce` reach `app_no_tenant()`, which raises.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import CURRENT_TENANT_FUNCTION, run_script

ID = "2026-12-01T22:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "platform: app_current_tenant() inlined into the policies"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="platform", description=DESCRIPTION)

    async def run():
        await run_script(CURRENT_TENANT_FUNCTION)

    manager.add_raw(run)
    return manager
