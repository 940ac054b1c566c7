"""The ticket reports' tallies counted again beside live writes, exactly (issue #10; raw SQL: Piccolo has no
functions).

`ticket_tally_rebuild()` (a company whose time zone changed, a bench load) deleted the company's tallies and
inserted a recount: two statements, two snapshots. A resolution committed between them left its own tally row
(not seen by the DELETE) and was in the recount too, counted twice; a compaction that committed while the DELETE
waited on the rows it folded left its folded row beside the recount, every key counted twice. Now one statement,
so one snapshot, inserts for each key what the recount finds less what the tallies held at that moment (the
tallies are only ever added to, and a compaction keeps each key's sum, so the rows at any moment sum to what was
committed): what commits after that moment is in neither side and stays counted once. Keys left at nothing (the
old zone's months) are folded away by the next compaction, as the readers already skip them.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import run_script

ID = "2026-12-01T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "tickets: the tallies' recount exact beside live writes"

SQL = r"""
CREATE OR REPLACE FUNCTION ticket_tally_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE made bigint;
BEGIN
    INSERT INTO ticket_tally (id, tenant_id, created_at, month, project_id, figure, type, department, tickets, late,
                              responded, reopened, used, ratings, rating_sum, s1, s2, s3, s4, s5, rated, rated_sum,
                              reworks)
    SELECT gen_random_uuid(), app_current_tenant(), now(), d.month, d.project_id, d.figure, d.type, d.department,
           sum(d.tickets), sum(d.late), sum(d.responded), sum(d.reopened), sum(d.used), sum(d.ratings),
           sum(d.rating_sum), sum(d.s1), sum(d.s2), sum(d.s3), sum(d.s4), sum(d.s5), sum(d.rated), sum(d.rated_sum),
           sum(d.reworks)
    FROM (SELECT c.* FROM ticket_tally_compute() AS c
          UNION ALL
          SELECT k.month, k.project_id, k.figure, k.type, k.department, -k.tickets, -k.late, -k.responded,
                 -k.reopened, -k.used, -k.ratings, -k.rating_sum, -k.s1, -k.s2, -k.s3, -k.s4, -k.s5, -k.rated,
                 -k.rated_sum, -k.reworks
          FROM ticket_tally k WHERE k.tenant_id = app_current_tenant()) AS d
    GROUP BY d.month, d.project_id, d.figure, d.type, d.department
    HAVING (sum(d.tickets), sum(d.late), sum(d.responded), sum(d.reopened), sum(d.used), sum(d.ratings),
            sum(d.rating_sum), sum(d.s1), sum(d.s2), sum(d.s3), sum(d.s4), sum(d.s5), sum(d.rated), sum(d.rated_sum),
            sum(d.reworks)) <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    GET DIAGNOSTICS made = ROW_COUNT;
    RETURN made;
END
$$;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tickets", description=DESCRIPTION)

    async def run():
        await run_script(SQL)

    manager.add_raw(run)
    return manager
