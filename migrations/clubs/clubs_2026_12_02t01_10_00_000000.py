"""The club's recount planned for the company it counts (issue #10; raw SQL: Piccolo has no functions).

Every table's policy compares `tenant_id` with `app_current_tenant()`, a value the planner does not know, so
it guessed that a recount reads one company's share of each table (one in however many companies there
are) and walked the check-ins by index, merchant by merchant, reading each page many times: 52–63 s for a
company holding nearly all of ten million check-ins. `club_tally_compute(company)` now names the company on
every table it reads as well, and `club_tally_rebuild()` and `club_tally_check()` pass it in a statement
planned for that value (`EXECUTE … USING`): the planner sees from the statistics how much of each table is
that company's, scans the tables whole where it holds nearly all of them (27 s) and keeps the index for a
company holding a sliver. The policy still applies: naming another company's id yields no rows.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import run_script

ID = "2026-12-02T01:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "clubs: the tallies' recount planned for the company it counts"

SQL = r"""
DROP FUNCTION IF EXISTS club_tally_compute();
DROP FUNCTION IF EXISTS club_tally_compute_by_branch();

-- Every tally row a set of cards, periods and check-ins accounts for, from scratch, with the
-- members' branches as they are now (the tallies' truth for states; for events the sum over
-- branches is the truth, as an event keeps the branch it happened in). `company` must be the
-- current tenant (the policies return nothing else); naming it lets a statement planned for its
-- value see from the statistics how much of each table it holds.
CREATE OR REPLACE FUNCTION club_tally_compute_by_branch(company uuid) RETURNS TABLE (
    club uuid, org_unit uuid, metric text, plan uuid, merchant uuid, benefit uuid, kind text, state text,
    day date, n bigint, amount bigint)
LANGUAGE sql STABLE AS $$
    WITH z AS (SELECT coalesce((SELECT timezone FROM tenant WHERE id = company), 'UTC') AS tz),
    cards AS (SELECT c.*, m.org_unit AS unit, c.state NOT IN ('cancelled', 'replaced') AS live
              FROM club_card c JOIN club_member m ON m.id = c.member
              WHERE c.tenant_id = company AND m.tenant_id = company)
    SELECT c.club, c.unit, 'card', c.plan, NULL::uuid, NULL::uuid, '', c.state,
           (c.valid_until AT TIME ZONE 'UTC')::date, count(*), 0::bigint
    FROM cards c GROUP BY c.club, c.unit, c.plan, c.state, (c.valid_until AT TIME ZONE 'UTC')::date
    UNION ALL
    SELECT c.club, c.unit, 'held', c.plan, NULL::uuid, NULL::uuid, '', c.state, NULL::date, count(*), 0::bigint
    FROM cards c GROUP BY c.club, c.unit, c.plan, c.state
    UNION ALL
    SELECT c.club, c.unit, 'joined', NULL, NULL, NULL, '', '',
           date_trunc('month', c.created_at AT TIME ZONE z.tz)::date, count(*), 0
    FROM cards c, z WHERE c.replaces IS NULL GROUP BY 1, 2, 9
    UNION ALL
    SELECT c.club, c.unit, 'fee', NULL, NULL, NULL, p.kind, '', date_trunc('month', p.paid_at AT TIME ZONE z.tz)::date,
           count(*), sum(p.amount)
    FROM club_period p JOIN cards c ON c.id = p.card, z
    WHERE p.tenant_id = company AND p.status = 'paid' GROUP BY 1, 2, 7, 9
    UNION ALL
    SELECT c.club, c.unit, 'due', c.plan, NULL, NULL, '', '', (p.ends_at AT TIME ZONE z.tz)::date, count(*), 0
    FROM club_period p JOIN cards c ON c.id = p.card, z
    WHERE p.tenant_id = company AND p.status = 'paid' AND p.ends_at IS NOT NULL AND c.live GROUP BY 1, 2, 4, 9
    UNION ALL
    SELECT c.club, c.unit, 'open', c.plan, NULL, NULL, '', '', (l.latest AT TIME ZONE z.tz)::date, count(*), 0
    FROM cards c JOIN (SELECT p.card, max(p.ends_at) AS latest FROM club_period p
                       WHERE p.tenant_id = company AND p.status = 'paid' AND p.ends_at IS NOT NULL
                       GROUP BY p.card) l ON l.card = c.id, z
    WHERE c.live GROUP BY 1, 2, 4, 9
    UNION ALL
    SELECT mc.club, m.org_unit, 'checkin', NULL, ch.merchant, ch.benefit, '', '',
           date_trunc('month', ch.created_at AT TIME ZONE z.tz)::date, count(*), 0
    FROM club_checkin ch JOIN club_merchant mc ON mc.id = ch.merchant JOIN club_member m ON m.id = ch.member, z
    WHERE ch.tenant_id = company AND mc.tenant_id = company AND m.tenant_id = company
    GROUP BY 1, 2, 5, 6, 9
$$;

CREATE OR REPLACE FUNCTION club_tally_compute(company uuid) RETURNS TABLE (
    club uuid, org_unit uuid, metric text, plan uuid, merchant uuid, benefit uuid, kind text, state text,
    day date, n bigint, amount bigint)
LANGUAGE sql STABLE AS $$
    WITH b AS (SELECT * FROM club_tally_compute_by_branch(company))
    SELECT * FROM b
    UNION ALL
    SELECT b.club, NULL, b.metric || '_all', b.plan, b.merchant, b.benefit, b.kind, b.state, b.day,
           sum(b.n)::bigint, sum(b.amount)::bigint
    FROM b GROUP BY b.club, b.metric, b.plan, b.merchant, b.benefit, b.kind, b.state, b.day
$$;

-- One statement, one snapshot (migration 2026-12-01T17:00:00 says why), planned for this company.
CREATE OR REPLACE FUNCTION club_tally_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE made bigint;
BEGIN
    EXECUTE $q$
    INSERT INTO club_tally AS x (tenant_id, club, org_unit, metric, plan, merchant, benefit, kind, state, day, n, amount)
    SELECT $1, d.club, d.org_unit, d.metric, d.plan, d.merchant, d.benefit, d.kind, d.state, d.day,
           sum(d.n), sum(d.amount)
    FROM (SELECT c.club, c.org_unit, c.metric, c.plan, c.merchant, c.benefit, c.kind, c.state, c.day, c.n, c.amount
          FROM club_tally_compute($1) AS c
          UNION ALL
          SELECT t.club, t.org_unit, t.metric, t.plan, t.merchant, t.benefit, t.kind, t.state, t.day, -t.n, -t.amount
          FROM club_tally t WHERE t.tenant_id = $1) AS d
    GROUP BY d.club, d.org_unit, d.metric, d.plan, d.merchant, d.benefit, d.kind, d.state, d.day
    HAVING sum(d.n) <> 0 OR sum(d.amount) <> 0
    ORDER BY d.metric, d.club, d.org_unit, d.plan, d.merchant, d.benefit, d.kind, d.state, d.day
    ON CONFLICT (tenant_id, metric, club, org_unit, plan, merchant, benefit, kind, state, day)
    DO UPDATE SET n = x.n + EXCLUDED.n, amount = x.amount + EXCLUDED.amount
    $q$ USING app_current_tenant();
    GET DIAGNOSTICS made = ROW_COUNT;
    DELETE FROM club_tally WHERE tenant_id = app_current_tenant() AND n = 0 AND amount = 0;
    RETURN made;
END
$$;

-- Differences between the tallies and a recount (none when the triggers are right). Events are
-- compared summed over branches.
CREATE OR REPLACE FUNCTION club_tally_check() RETURNS TABLE (metric text, key text, kept bigint, counted bigint)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY EXECUTE $q$
    WITH kept AS (
        SELECT t.metric, concat_ws('|', t.club, CASE WHEN t.metric IN ('card', 'held', 'due', 'open') THEN t.org_unit END,
                                   t.plan, t.merchant, t.benefit, t.kind, t.state, t.day) AS key,
               sum(t.n) AS n, sum(t.amount) AS amount
        FROM club_tally t WHERE t.tenant_id = $1 GROUP BY 1, 2),
    counted AS (
        SELECT c.metric, concat_ws('|', c.club, CASE WHEN c.metric IN ('card', 'held', 'due', 'open') THEN c.org_unit END,
                                   c.plan, c.merchant, c.benefit, c.kind, c.state, c.day) AS key,
               sum(c.n) AS n, sum(c.amount) AS amount
        FROM club_tally_compute($1) c GROUP BY 1, 2)
    SELECT coalesce(k.metric, c.metric)::text, coalesce(k.key, c.key), coalesce(k.n, 0)::bigint, coalesce(c.n, 0)::bigint
    FROM kept k FULL JOIN counted c ON c.metric = k.metric AND c.key = k.key
    WHERE coalesce(k.n, 0) <> coalesce(c.n, 0) OR coalesce(k.amount, 0) <> coalesce(c.amount, 0)
    $q$ USING app_current_tenant();
END
$$;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="clubs", description=DESCRIPTION)

    async def run():
        await run_script(SQL)

    manager.add_raw(run)
    return manager
