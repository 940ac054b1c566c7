"""The month reports' tallies (`ticket_tally`, issue #10; raw SQL: Piccolo has no triggers or policies).

The reports page read each of a month's ~48,000 tickets (at a million) twice, 271 ms at p50 and 357 at p95
for the page; now it sums a few hundred rows. A ticket's contribution to the figures is a function of its own
row (`ticket_tally_of`: its report facts, kept on it by the previous migration's triggers, and its dates,
type, project and department), so a statement trigger on `ticket` writes, for the rows a statement changed in
a column the figures read, the contribution they had (subtracted) and the one they have (added), summed per
key. Rows are only ever inserted: two transactions resolving tickets of the same project never wait for each
other's row or deadlock (an upsert would lock one row per key, in whatever order each statement met them).
`ticket_tally_compact()` folds each key's rows into one (the SLA job, every five minutes, per company; two
compactions of one company take turns on an advisory lock), and every reader sums the rows of a key, folded or
not. A key's month is the company's month (its zone, read from `tenant`); a company whose zone changes has its
tallies made again (`ticket_tally_rebuild()`, platform/tenant_file.py).

`ticket_tally_check()` answers the keys whose sum differs from a recount (none, the tests run every kind of
write and check), `ticket_tally_rebuild()` recounts a company after a load made without the trigger (the
bench). The functions run as the caller and read the tenant from `app_current_tenant()`, so row-level security
applies to them as to the rows that fired them.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import per_tenant_sql, rls_sql, run_script

ID = "2026-12-01T10:01:12:000000"
VERSION = "1.38.0"
DESCRIPTION = "tickets: the month reports' tallies, kept by a statement trigger on ticket"

TENANT_TABLES = ["ticket_tally"]

SQL = r"""
CREATE INDEX ticket_tally_tenant_month ON ticket_tally (tenant_id, month, project_id);

-- What one ticket adds to the figures (module docstring; service/_reports.py says what each figure counts):
-- resolved in a month, a `resolved` row for its type and a `held` row per department that held it; closed in a
-- month (resolved first: a cancelled ticket never was), a `closed` row for its closing department and type and
-- a `rework` row per rework leg's department.
CREATE OR REPLACE FUNCTION ticket_tally_of(t ticket, tz text) RETURNS TABLE (
    month date, project_id uuid, figure text, type uuid, department uuid, tickets bigint, late bigint,
    responded bigint, reopened bigint, used bigint, ratings bigint, rating_sum bigint, s1 bigint, s2 bigint,
    s3 bigint, s4 bigint, s5 bigint, rated bigint, rated_sum bigint, reworks bigint)
LANGUAGE sql STABLE AS $$
    SELECT date_trunc('month', t.resolved_at AT TIME ZONE tz)::date, t.project_id, 'resolved', t.type, NULL::uuid,
           1::bigint, t.breached::int::bigint,
           (t.responded_at IS NOT NULL AND t.respond_by IS NOT NULL AND t.responded_at <= t.respond_by)::int::bigint,
           t.reopen_count::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint,
           0::bigint, 0::bigint, 0::bigint, 0::bigint
    WHERE t.resolved_at IS NOT NULL
    UNION ALL
    SELECT date_trunc('month', t.resolved_at AT TIME ZONE tz)::date, t.project_id, 'held', NULL, h.department,
           1, h.late::int, 0, 0, coalesce(h.used, 0), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    FROM unnest(t.report_held, t.report_held_late, t.report_held_used) AS h (department, late, used)
    WHERE t.resolved_at IS NOT NULL
    UNION ALL
    SELECT date_trunc('month', t.closed_at AT TIME ZONE tz)::date, t.project_id, 'closed', t.type, t.department,
           1, coalesce(t.report_held_late[array_position(t.report_held, t.department)], false)::int, 0, 0, 0,
           cardinality(t.report_ratings), coalesce((SELECT sum(s) FROM unnest(t.report_ratings) AS s), 0),
           cardinality(array_positions(t.report_ratings, 1::smallint)),
           cardinality(array_positions(t.report_ratings, 2::smallint)),
           cardinality(array_positions(t.report_ratings, 3::smallint)),
           cardinality(array_positions(t.report_ratings, 4::smallint)),
           cardinality(array_positions(t.report_ratings, 5::smallint)),
           (t.satisfaction IS NOT NULL)::int, coalesce(t.satisfaction, 0),
           cardinality(array_positions(t.report_rework, t.department))
    WHERE t.closed_at IS NOT NULL AND t.resolved_at IS NOT NULL
    UNION ALL
    SELECT date_trunc('month', t.closed_at AT TIME ZONE tz)::date, t.project_id, 'rework', NULL, r.department,
           0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
    FROM unnest(t.report_rework) AS r (department)
    WHERE t.closed_at IS NOT NULL AND t.resolved_at IS NOT NULL
$$;

-- Adds what the tickets `came` contribute and takes away what `gone` did, one row per key that changed.
CREATE OR REPLACE FUNCTION ticket_tally_apply(gone ticket[], came ticket[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO ticket_tally (id, tenant_id, created_at, month, project_id, figure, type, department, tickets, late,
                              responded, reopened, used, ratings, rating_sum, s1, s2, s3, s4, s5, rated, rated_sum,
                              reworks)
    SELECT gen_random_uuid(), d.tenant_id, now(), c.month, c.project_id, c.figure, c.type, c.department,
           sum(d.sign * c.tickets), sum(d.sign * c.late), sum(d.sign * c.responded), sum(d.sign * c.reopened),
           sum(d.sign * c.used), sum(d.sign * c.ratings), sum(d.sign * c.rating_sum), sum(d.sign * c.s1),
           sum(d.sign * c.s2), sum(d.sign * c.s3), sum(d.sign * c.s4), sum(d.sign * c.s5), sum(d.sign * c.rated),
           sum(d.sign * c.rated_sum), sum(d.sign * c.reworks)
    FROM (SELECT g.tenant_id, g AS t, -1 AS sign FROM unnest(gone) AS g
          UNION ALL SELECT n.tenant_id, n, 1 FROM unnest(came) AS n) AS d
    JOIN tenant z ON z.id = d.tenant_id, LATERAL ticket_tally_of(d.t, z.timezone) AS c
    GROUP BY d.tenant_id, c.month, c.project_id, c.figure, c.type, c.department
    HAVING (sum(d.sign * c.tickets), sum(d.sign * c.late), sum(d.sign * c.responded), sum(d.sign * c.reopened),
            sum(d.sign * c.used), sum(d.sign * c.ratings), sum(d.sign * c.rating_sum), sum(d.sign * c.s1),
            sum(d.sign * c.s2), sum(d.sign * c.s3), sum(d.sign * c.s4), sum(d.sign * c.s5), sum(d.sign * c.rated),
            sum(d.sign * c.rated_sum), sum(d.sign * c.reworks)) <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
$$;

CREATE OR REPLACE FUNCTION ticket_tally_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM ticket_tally_apply('{}', (SELECT array_agg(n::ticket) FROM new_rows n));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM ticket_tally_apply((SELECT array_agg(o::ticket) FROM old_rows o), '{}');
    ELSE
        -- only the tickets changed in a column the figures read (most updates change none: a comment, a claim)
        PERFORM ticket_tally_apply(x.o, x.n) FROM (
            SELECT array_agg(o::ticket) AS o, array_agg(n::ticket) AS n
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE (o.resolved_at, o.closed_at, o.type, o.project_id, o.department, o.breached, o.responded_at,
                   o.respond_by, o.reopen_count, o.satisfaction, o.report_held, o.report_held_late,
                   o.report_held_used, o.report_rework, o.report_ratings)
                  IS DISTINCT FROM
                  (n.resolved_at, n.closed_at, n.type, n.project_id, n.department, n.breached, n.responded_at,
                   n.respond_by, n.reopen_count, n.satisfaction, n.report_held, n.report_held_late,
                   n.report_held_used, n.report_rework, n.report_ratings)) AS x
        WHERE x.o IS NOT NULL;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER ticket_tally_insert AFTER INSERT ON ticket
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ticket_tally_sync();
CREATE TRIGGER ticket_tally_update AFTER UPDATE ON ticket
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ticket_tally_sync();
CREATE TRIGGER ticket_tally_delete AFTER DELETE ON ticket
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ticket_tally_sync();

-- The company in context's figures counted from its tickets, one row per key.
CREATE OR REPLACE FUNCTION ticket_tally_compute() RETURNS TABLE (
    month date, project_id uuid, figure text, type uuid, department uuid, tickets bigint, late bigint,
    responded bigint, reopened bigint, used bigint, ratings bigint, rating_sum bigint, s1 bigint, s2 bigint,
    s3 bigint, s4 bigint, s5 bigint, rated bigint, rated_sum bigint, reworks bigint)
LANGUAGE sql STABLE AS $$
    SELECT c.month, c.project_id, c.figure, c.type, c.department, sum(c.tickets)::bigint, sum(c.late)::bigint,
           sum(c.responded)::bigint, sum(c.reopened)::bigint, sum(c.used)::bigint, sum(c.ratings)::bigint,
           sum(c.rating_sum)::bigint, sum(c.s1)::bigint, sum(c.s2)::bigint, sum(c.s3)::bigint, sum(c.s4)::bigint,
           sum(c.s5)::bigint, sum(c.rated)::bigint, sum(c.rated_sum)::bigint, sum(c.reworks)::bigint
    FROM ticket t JOIN tenant z ON z.id = t.tenant_id, LATERAL ticket_tally_of(t, z.timezone) AS c
    WHERE t.tenant_id = app_current_tenant() AND t.resolved_at IS NOT NULL
    GROUP BY c.month, c.project_id, c.figure, c.type, c.department
$$;

-- The kept tallies summed per key (folded or not), as a reader sees them.
CREATE OR REPLACE FUNCTION ticket_tally_kept() RETURNS TABLE (
    month date, project_id uuid, figure text, type uuid, department uuid, tickets bigint, late bigint,
    responded bigint, reopened bigint, used bigint, ratings bigint, rating_sum bigint, s1 bigint, s2 bigint,
    s3 bigint, s4 bigint, s5 bigint, rated bigint, rated_sum bigint, reworks bigint)
LANGUAGE sql STABLE AS $$
    SELECT k.month, k.project_id, k.figure, k.type, k.department, sum(k.tickets)::bigint, sum(k.late)::bigint,
           sum(k.responded)::bigint, sum(k.reopened)::bigint, sum(k.used)::bigint, sum(k.ratings)::bigint,
           sum(k.rating_sum)::bigint, sum(k.s1)::bigint, sum(k.s2)::bigint, sum(k.s3)::bigint, sum(k.s4)::bigint,
           sum(k.s5)::bigint, sum(k.rated)::bigint, sum(k.rated_sum)::bigint, sum(k.reworks)::bigint
    FROM ticket_tally k WHERE k.tenant_id = app_current_tenant()
    GROUP BY k.month, k.project_id, k.figure, k.type, k.department
$$;

CREATE OR REPLACE FUNCTION ticket_tally_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE made bigint;
BEGIN
    DELETE FROM ticket_tally WHERE tenant_id = app_current_tenant();
    INSERT INTO ticket_tally (id, tenant_id, created_at, month, project_id, figure, type, department, tickets, late,
                              responded, reopened, used, ratings, rating_sum, s1, s2, s3, s4, s5, rated, rated_sum,
                              reworks)
    SELECT gen_random_uuid(), app_current_tenant(), now(), c.* FROM ticket_tally_compute() AS c;
    GET DIAGNOSTICS made = ROW_COUNT;
    RETURN made;
END
$$;

-- Keys whose kept sum differs from a recount, with both sums as text (none when the trigger is right).
CREATE OR REPLACE FUNCTION ticket_tally_check() RETURNS TABLE (key text, kept text, counted text)
LANGUAGE sql STABLE AS $$
    WITH k AS (SELECT concat_ws('|', x.month, x.project_id, x.figure, x.type, x.department) AS key,
                      ROW(x.tickets, x.late, x.responded, x.reopened, x.used, x.ratings, x.rating_sum, x.s1, x.s2,
                          x.s3, x.s4, x.s5, x.rated, x.rated_sum, x.reworks)::text AS v,
                      (x.tickets, x.late, x.responded, x.reopened, x.used, x.ratings, x.rating_sum, x.s1, x.s2,
                       x.s3, x.s4, x.s5, x.rated, x.rated_sum, x.reworks)
                      = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) AS zero
               FROM ticket_tally_kept() x),
         c AS (SELECT concat_ws('|', x.month, x.project_id, x.figure, x.type, x.department) AS key,
                      ROW(x.tickets, x.late, x.responded, x.reopened, x.used, x.ratings, x.rating_sum, x.s1, x.s2,
                          x.s3, x.s4, x.s5, x.rated, x.rated_sum, x.reworks)::text AS v
               FROM ticket_tally_compute() x)
    SELECT coalesce(k.key, c.key), k.v, c.v FROM (SELECT * FROM k WHERE NOT k.zero) k FULL JOIN c ON c.key = k.key
    WHERE k.v IS DISTINCT FROM c.v
$$;

-- Folds every key of the company in context that has more than one row (or only rows summing to nothing) into
-- one row; answers how many rows it folded away. Rows a writer commits meanwhile are not seen, so they stay
-- beside the folded one, and the sums hold. Compactions of one company take turns (the second skips).
CREATE OR REPLACE FUNCTION ticket_tally_compact() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE folded bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('ticket_tally_compact'), hashtext(app_current_tenant()::text)) THEN
        RETURN 0;
    END IF;
    -- one statement: the INSERT's new rows are not in the DELETE's snapshot
    WITH keys AS (
        SELECT k.month, k.project_id, k.figure, k.type, k.department FROM ticket_tally k
        WHERE k.tenant_id = app_current_tenant()
        GROUP BY k.month, k.project_id, k.figure, k.type, k.department
        HAVING count(*) > 1 OR (sum(k.tickets), sum(k.late), sum(k.responded), sum(k.reopened), sum(k.used),
                                sum(k.ratings), sum(k.rating_sum), sum(k.s1), sum(k.s2), sum(k.s3), sum(k.s4),
                                sum(k.s5), sum(k.rated), sum(k.rated_sum), sum(k.reworks))
                               = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
    d AS (DELETE FROM ticket_tally t USING keys WHERE t.tenant_id = app_current_tenant() AND t.month = keys.month
              AND t.figure = keys.figure AND t.project_id IS NOT DISTINCT FROM keys.project_id
              AND t.type IS NOT DISTINCT FROM keys.type AND t.department IS NOT DISTINCT FROM keys.department
          RETURNING t.*),
    made AS (
        INSERT INTO ticket_tally (id, tenant_id, created_at, month, project_id, figure, type, department, tickets,
                                  late, responded, reopened, used, ratings, rating_sum, s1, s2, s3, s4, s5, rated,
                                  rated_sum, reworks)
        SELECT gen_random_uuid(), d.tenant_id, now(), d.month, d.project_id, d.figure, d.type, d.department,
               sum(d.tickets), sum(d.late), sum(d.responded), sum(d.reopened), sum(d.used), sum(d.ratings),
               sum(d.rating_sum), sum(d.s1), sum(d.s2), sum(d.s3), sum(d.s4), sum(d.s5), sum(d.rated),
               sum(d.rated_sum), sum(d.reworks)
        FROM d GROUP BY d.tenant_id, d.month, d.project_id, d.figure, d.type, d.department
        HAVING (sum(d.tickets), sum(d.late), sum(d.responded), sum(d.reopened), sum(d.used), sum(d.ratings),
                sum(d.rating_sum), sum(d.s1), sum(d.s2), sum(d.s3), sum(d.s4), sum(d.s5), sum(d.rated),
                sum(d.rated_sum), sum(d.reworks)) <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        RETURNING 1)
    SELECT (SELECT count(*) FROM d) - (SELECT count(*) FROM made) INTO folded;
    RETURN folded;
END
$$;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tickets", description=DESCRIPTION)

    async def run():
        await run_script(SQL + "".join(rls_sql(t) for t in TENANT_TABLES))
        # The tallies of the tickets the companies already hold, one company at a time under its own binding.
        await run_script(per_tenant_sql("ticket", "ticket_tally_rebuild()"))

    manager.add_raw(run)
    return manager
