"""The club's tallies counted again beside live check-ins, exactly (issue #10; raw SQL: Piccolo has no functions).

`club_tally_rebuild()` (a company whose time zone changed, a bench load) deleted the company's tallies and
inserted a recount, two statements and two snapshots. A check-in whose trigger made a tally row for a new key
(the first of the day at a merchant) and committed between them was counted by the recount and stood beside it as
well: the INSERT met its row and failed on the unique key (the recount job failed), and a check-in updating a row
the DELETE had read was deleted with it. Now one statement, so one snapshot, adds to each row what the recount
finds less what the tallies held at that moment, as the triggers add (`n = n + …`): a check-in that commits after
that moment is in neither side, its own upsert stands, and it counts once. Rows left at nothing (the old zone's
days) are deleted after; a check-in adding to one meanwhile keeps it (the DELETE checks the row again).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import run_script

ID = "2026-12-01T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "clubs: the tallies' recount exact beside live writes"

SQL = r"""
CREATE OR REPLACE FUNCTION club_tally_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE made bigint;
BEGIN
    INSERT INTO club_tally AS x (tenant_id, club, org_unit, metric, plan, merchant, benefit, kind, state, day, n, amount)
    SELECT app_current_tenant(), d.club, d.org_unit, d.metric, d.plan, d.merchant, d.benefit, d.kind, d.state, d.day,
           sum(d.n), sum(d.amount)
    FROM (SELECT c.club, c.org_unit, c.metric, c.plan, c.merchant, c.benefit, c.kind, c.state, c.day, c.n, c.amount
          FROM club_tally_compute() AS c
          UNION ALL
          SELECT t.club, t.org_unit, t.metric, t.plan, t.merchant, t.benefit, t.kind, t.state, t.day, -t.n, -t.amount
          FROM club_tally t WHERE t.tenant_id = app_current_tenant()) AS d
    GROUP BY d.club, d.org_unit, d.metric, d.plan, d.merchant, d.benefit, d.kind, d.state, d.day
    HAVING sum(d.n) <> 0 OR sum(d.amount) <> 0
    ORDER BY d.metric, d.club, d.org_unit, d.plan, d.merchant, d.benefit, d.kind, d.state, d.day
    ON CONFLICT (tenant_id, metric, club, org_unit, plan, merchant, benefit, kind, state, day)
    DO UPDATE SET n = x.n + EXCLUDED.n, amount = x.amount + EXCLUDED.amount;
    GET DIAGNOSTICS made = ROW_COUNT;
    DELETE FROM club_tally WHERE tenant_id = app_current_tenant() AND n = 0 AND amount = 0;
    RETURN made;
END
$$;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="clubs", description=DESCRIPTION)

    async def run():
        await run_script(SQL)

    manager.add_raw(run)
    return manager
