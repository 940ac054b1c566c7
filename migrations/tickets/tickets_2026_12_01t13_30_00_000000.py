"""A ticket's leg facts made again once per statement, not once per leg (raw SQL: Piccolo has no triggers).

The facts the month reports read off each ticket (`report_held`, `report_held_late`, `report_held_used`,
`report_rework`: migration 2026-12-01T09:00:04) were kept by a row trigger on `ticket_leg`: each leg written
made its ticket's facts again with an UPDATE of its own, and each of those UPDATEs ran the month tallies'
statement trigger on `ticket`. A transition writes a leg or two, so that cost nothing; the SLA job marks the open
legs of up to a thousand late tickets in one statement, and paid it a thousand times (1.9 s of a 2.7 s run at a
million tickets). Now three statement triggers with transition tables collect the tickets whose legs changed (in
a column the facts read) and make their facts again in one UPDATE; the same values, from the same
`ticket_report_legs()`. The names keep `report_facts` (the bench loader turns them off by that pattern).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import run_script

ID = "2026-12-01T13:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "tickets: the leg facts kept by statement triggers"

SQL = r"""
-- The leg facts of some tickets made again from all their legs, in one UPDATE (an unchanged ticket is skipped).
CREATE OR REPLACE FUNCTION ticket_legs_report_facts(p_tickets uuid[]) RETURNS void
LANGUAGE sql SECURITY INVOKER AS $$
    UPDATE ticket t SET report_held = f.held, report_held_late = f.held_late, report_held_used = f.held_used,
                        report_rework = f.rework
    FROM unnest(p_tickets) AS x(id) CROSS JOIN LATERAL ticket_report_legs(x.id) f
    WHERE t.tenant_id = app_current_tenant() AND t.id = x.id
      AND (t.report_held, t.report_held_late, t.report_held_used, t.report_rework)
          IS DISTINCT FROM (f.held, f.held_late, f.held_used, f.rework)
$$;

-- One function for the three triggers: each statement names only its own transition tables, so a branch
-- reads only the ones its trigger has.
CREATE OR REPLACE FUNCTION ticket_leg_report_facts_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM ticket_legs_report_facts(ARRAY(SELECT DISTINCT n.ticket FROM new_rows n ORDER BY 1));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM ticket_legs_report_facts(ARRAY(SELECT DISTINCT o.ticket FROM old_rows o ORDER BY 1));
    ELSE
        PERFORM ticket_legs_report_facts(ARRAY(
            SELECT DISTINCT y FROM old_rows o JOIN new_rows n ON n.id = o.id
                CROSS JOIN LATERAL unnest(ARRAY[o.ticket, n.ticket]) AS y
            WHERE (o.ticket, o.department, o.breached, o.used, o.rework)
                  IS DISTINCT FROM (n.ticket, n.department, n.breached, n.used, n.rework)
            ORDER BY 1));
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS ticket_leg_report_facts ON ticket_leg;
DROP TRIGGER IF EXISTS ticket_leg_report_facts_update ON ticket_leg;
DROP FUNCTION IF EXISTS ticket_leg_report_facts();
CREATE OR REPLACE TRIGGER ticket_leg_report_facts_insert AFTER INSERT ON ticket_leg
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ticket_leg_report_facts_rows();
CREATE OR REPLACE TRIGGER ticket_leg_report_facts_update AFTER UPDATE ON ticket_leg
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION ticket_leg_report_facts_rows();
CREATE OR REPLACE TRIGGER ticket_leg_report_facts_delete AFTER DELETE ON ticket_leg
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ticket_leg_report_facts_rows();
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tickets", description=DESCRIPTION)

    async def run():
        await run_script(SQL)

    manager.add_raw(run)
    return manager
