"""The month reports' facts kept on each ticket (issue #10; raw SQL: Piccolo has no triggers).

The reports page counted, for each of a month's ~48,000 tickets at a million, its legs and its rating events
through a look-up per ticket (a Nested Loop of 48,000 index scans, ~1 s for the page). Now each ticket carries
what those look-ups found (columns of the previous migration), and every month figure is one grouped scan of
the month's tickets (service/_reports.py):

- `report_held`, `report_held_late`, `report_held_used`: parallel arrays, one entry per department that held it
  (its legs' departments, a null one too, in department order): whether one of that department's legs is
  breached, and the sum of their `used` minutes;
- `report_rework`: the department of each of its rework legs (a department charged twice is there twice), in
  the legs' order;
- `report_ratings`: the satisfaction of each of its rating events (kind 'transition' with a 'reason' and a
  satisfaction 1-5: the return visits, the bad first rating of a reworked ticket), in the events' order.

Row triggers keep them, so every writer does (the service, the SLA job marking a leg breached, a hand-run
UPDATE): a leg inserted, updated (in a column the facts read) or deleted makes its ticket's leg facts again from
all its legs, a rating event inserted its ratings from all its rating events; both exact whatever the order of
the writes, and an UPDATE that changes nothing is skipped. The functions are SECURITY INVOKER (the default,
said out loud) and read the tenant from `app_current_tenant()`: row-level security applies to what they read
and write exactly as to the rows that fired them. EXECUTE stays granted to PUBLIC (the default), so the app
role calls `ticket_report_facts_check()` and `ticket_report_facts_rebuild()` for its own tenant only; the bench
loader turns the triggers off during its load and calls the rebuild once after.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import per_tenant_sql, run_script

ID = "2026-12-01T09:00:04:000000"
VERSION = "1.38.0"
DESCRIPTION = "tickets: the month reports' facts kept on the ticket by triggers"

SQL = r"""
-- What one ticket's legs say: per department that held it (department order, a null one last), late when one
-- of its legs is breached, and the minutes its legs used; the departments of its rework legs, in leg order.
CREATE OR REPLACE FUNCTION ticket_report_legs(p_ticket uuid, OUT held uuid[], OUT held_late boolean[],
                                              OUT held_used integer[], OUT rework uuid[])
LANGUAGE sql STABLE SECURITY INVOKER AS $$
    SELECT coalesce(array_agg(h.department ORDER BY h.department NULLS LAST), '{}'),
           coalesce(array_agg(h.late ORDER BY h.department NULLS LAST), '{}'),
           coalesce(array_agg(h.used ORDER BY h.department NULLS LAST), '{}'),
           coalesce((SELECT array_agg(l.department ORDER BY l.started_at, l.id) FROM ticket_leg l
                     WHERE l.tenant_id = app_current_tenant() AND l.ticket = p_ticket AND l.rework), '{}')
    FROM (SELECT l.department, bool_or(l.breached) AS late, sum(l.used)::int AS used FROM ticket_leg l
          WHERE l.tenant_id = app_current_tenant() AND l.ticket = p_ticket GROUP BY l.department) h
$$;

-- What one ticket's rating events say: each one's satisfaction, in the events' order.
CREATE OR REPLACE FUNCTION ticket_report_ratings(p_ticket uuid) RETURNS smallint[]
LANGUAGE sql STABLE SECURITY INVOKER AS $$
    SELECT coalesce(array_agg((e.data->>'satisfaction')::smallint ORDER BY e.created_at, e.id), '{}')
    FROM ticket_event e
    WHERE e.tenant_id = app_current_tenant() AND e.ticket = p_ticket AND e.kind = 'transition' AND e.data ? 'reason'
      AND e.data->>'satisfaction' ~ '^[1-5]$'
$$;

-- Every ticket's facts of the current tenant, counted from scratch, set-based (the same values, in the same
-- orders, as the two functions above give one ticket).
CREATE OR REPLACE FUNCTION ticket_report_facts_compute() RETURNS TABLE (
    ticket uuid, held uuid[], held_late boolean[], held_used integer[], rework uuid[], ratings smallint[])
LANGUAGE sql STABLE SECURITY INVOKER AS $$
    WITH d AS (SELECT l.ticket, l.department, bool_or(l.breached) AS late, sum(l.used)::int AS used
               FROM ticket_leg l WHERE l.tenant_id = app_current_tenant() GROUP BY l.ticket, l.department),
    h AS (SELECT d.ticket, array_agg(d.department ORDER BY d.department NULLS LAST) AS held,
                 array_agg(d.late ORDER BY d.department NULLS LAST) AS held_late,
                 array_agg(d.used ORDER BY d.department NULLS LAST) AS held_used
          FROM d GROUP BY d.ticket),
    w AS (SELECT l.ticket, array_agg(l.department ORDER BY l.started_at, l.id) AS rework FROM ticket_leg l
          WHERE l.tenant_id = app_current_tenant() AND l.rework GROUP BY l.ticket),
    r AS (SELECT e.ticket, array_agg((e.data->>'satisfaction')::smallint ORDER BY e.created_at, e.id) AS ratings
          FROM ticket_event e
          WHERE e.tenant_id = app_current_tenant() AND e.kind = 'transition' AND e.data ? 'reason'
            AND e.data->>'satisfaction' ~ '^[1-5]$'
          GROUP BY e.ticket)
    SELECT t.id, coalesce(h.held, '{}'), coalesce(h.held_late, '{}'), coalesce(h.held_used, '{}'),
           coalesce(w.rework, '{}'), coalesce(r.ratings, '{}')
    FROM ticket t LEFT JOIN h ON h.ticket = t.id LEFT JOIN w ON w.ticket = t.id LEFT JOIN r ON r.ticket = t.id
    WHERE t.tenant_id = app_current_tenant()
$$;

-- The current tenant's facts made again from its legs and events (the migration's backfill; a bulk load that
-- ran without the triggers). Counted set-based; written only where they differ, ticket by ticket in the order
-- the tickets were registered: every rewritten row gets a new place in the heap, and one UPDATE joined to the
-- recount writes them in the join's order (by id: random), which scattered a month's tickets over the whole
-- table (a month's report read a page per ticket, 48,000 pages, instead of ~2,300). Answers how many.
CREATE OR REPLACE FUNCTION ticket_report_facts_rebuild() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
DECLARE
    made bigint := 0;
    r record;
BEGIN
    FOR r IN SELECT c.* FROM ticket_report_facts_compute() c JOIN ticket t ON t.id = c.ticket
             WHERE t.tenant_id = app_current_tenant()
               AND (t.report_held, t.report_held_late, t.report_held_used, t.report_rework, t.report_ratings)
                   IS DISTINCT FROM (c.held, c.held_late, c.held_used, c.rework, c.ratings)
             ORDER BY t.created_at, t.id LOOP
        UPDATE ticket SET report_held = r.held, report_held_late = r.held_late, report_held_used = r.held_used,
                          report_rework = r.rework, report_ratings = r.ratings
        WHERE id = r.ticket;
        made := made + 1;
    END LOOP;
    RETURN made;
END
$$;

-- The current tenant's tickets whose kept facts differ from a recount, one row per fact that differs (none
-- when the triggers are right).
CREATE OR REPLACE FUNCTION ticket_report_facts_check() RETURNS TABLE (ticket uuid, fact text, kept text, counted text)
LANGUAGE sql STABLE SECURITY INVOKER AS $$
    SELECT t.id, f.fact, f.kept, f.counted
    FROM ticket t JOIN ticket_report_facts_compute() c ON c.ticket = t.id,
         LATERAL (VALUES ('held', t.report_held::text, c.held::text),
                         ('held_late', t.report_held_late::text, c.held_late::text),
                         ('held_used', t.report_held_used::text, c.held_used::text),
                         ('rework', t.report_rework::text, c.rework::text),
                         ('ratings', t.report_ratings::text, c.ratings::text)) AS f (fact, kept, counted)
    WHERE t.tenant_id = app_current_tenant() AND f.kept IS DISTINCT FROM f.counted
$$;

-- A leg written: its ticket's leg facts again from all its legs (both tickets', should a leg ever move).
CREATE OR REPLACE FUNCTION ticket_leg_report_facts() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    x uuid;
BEGIN
    FOR x IN SELECT DISTINCT y FROM unnest(ARRAY[CASE WHEN TG_OP <> 'INSERT' THEN OLD.ticket END,
                                                 CASE WHEN TG_OP <> 'DELETE' THEN NEW.ticket END]) AS y
             WHERE y IS NOT NULL LOOP
        UPDATE ticket t SET report_held = f.held, report_held_late = f.held_late, report_held_used = f.held_used,
                            report_rework = f.rework
        FROM ticket_report_legs(x) f
        WHERE t.id = x AND (t.report_held, t.report_held_late, t.report_held_used, t.report_rework)
                           IS DISTINCT FROM (f.held, f.held_late, f.held_used, f.rework);
    END LOOP;
    RETURN NULL;
END
$$;

-- A rating event written: its ticket's ratings again from all its rating events (the timeline is append-only).
CREATE OR REPLACE FUNCTION ticket_event_report_facts() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER AS $$
BEGIN
    UPDATE ticket t SET report_ratings = r.ratings
    FROM (SELECT ticket_report_ratings(NEW.ticket) AS ratings) r
    WHERE t.id = NEW.ticket AND t.report_ratings IS DISTINCT FROM r.ratings;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER ticket_leg_report_facts AFTER INSERT OR DELETE ON ticket_leg
    FOR EACH ROW EXECUTE FUNCTION ticket_leg_report_facts();
CREATE OR REPLACE TRIGGER ticket_leg_report_facts_update AFTER UPDATE ON ticket_leg
    FOR EACH ROW WHEN ((OLD.ticket, OLD.department, OLD.breached, OLD.used, OLD.rework)
                       IS DISTINCT FROM (NEW.ticket, NEW.department, NEW.breached, NEW.used, NEW.rework))
    EXECUTE FUNCTION ticket_leg_report_facts();
CREATE OR REPLACE TRIGGER ticket_event_report_facts AFTER INSERT ON ticket_event
    FOR EACH ROW WHEN (NEW.kind = 'transition' AND NEW.data ? 'reason' AND NEW.data->>'satisfaction' ~ '^[1-5]$')
    EXECUTE FUNCTION ticket_event_report_facts();
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tickets", description=DESCRIPTION)

    async def run():
        await run_script(SQL)
        # The facts of the tickets the tenants already hold, one tenant at a time under its own binding (the functions
        # read app_current_tenant()).
        await run_script(per_tenant_sql("ticket", "ticket_report_facts_rebuild()"))

    manager.add_raw(run)
    return manager
