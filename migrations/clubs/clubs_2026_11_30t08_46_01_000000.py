"""Clubs at a million members: keyset indexes, search terms, one phone form, and the tallies behind
the statistics (raw SQL: Piccolo has no triggers, policies or NULLS NOT DISTINCT).

Search terms (`club_member_term`) and tallies (`club_tally`) are written by statement-level
triggers reading the statement's transition tables, so one COPY of fifty thousand members or
check-ins is one set-based insert, and every write path (pages, API, imports, tenant files, bulk
loads, a hand-run UPDATE) keeps them true. The trigger functions run as the caller: row-level
security applies to what they write exactly as to the rows that fired them.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import per_tenant_sql, rls_sql, run_script

ID = "2026-11-30T08:46:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "clubs at scale: keyset indexes, search terms, statistics tallies"

SQL = r"""
-- Keyset pages: newest first, ties broken by id.
CREATE INDEX club_member_tenant_created ON club_member (tenant_id, created_at DESC, id DESC);
CREATE INDEX club_member_tenant_household ON club_member (tenant_id, household) WHERE household IS NOT NULL;
CREATE INDEX club_card_tenant_club_until ON club_card (tenant_id, club, valid_until);
CREATE INDEX club_period_tenant_paid_ends ON club_period (tenant_id, ends_at) WHERE status = 'paid';

-- One form for phones (digits, an optional leading +), so a phone is found by equality.
ALTER TABLE club_member NO FORCE ROW LEVEL SECURITY;
UPDATE club_member SET phone = regexp_replace(phone, '[^0-9+]', '', 'g') WHERE phone ~ '[^0-9+]';
ALTER TABLE club_member FORCE ROW LEVEL SECURITY;

-- ---- search terms -----------------------------------------------------------------------------
CREATE INDEX club_member_term_lookup ON club_member_term (tenant_id, term, member_created DESC, member);
CREATE INDEX club_member_term_member ON club_member_term (tenant_id, member);

CREATE OR REPLACE FUNCTION club_member_search_terms(name text, phone text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH n AS (SELECT lower(regexp_replace(btrim(coalesce(name, '')), '\s+', ' ', 'g')) AS s,
                      regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g') AS digits)
    SELECT array(SELECT DISTINCT t FROM (
        SELECT substr(n.s, i, 1) AS t FROM n, generate_series(1, char_length(n.s)) AS i
        UNION ALL
        SELECT substr(n.s, i, 2) FROM n, generate_series(1, char_length(n.s) - 1) AS i
        UNION ALL
        SELECT '#' || right(n.digits, 4) FROM n WHERE char_length(n.digits) >= 4
    ) AS x WHERE t <> ' ' AND t <> '')
$$;

CREATE OR REPLACE FUNCTION club_member_terms_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM club_member_term t USING old_rows o JOIN new_rows n ON n.id = o.id
        WHERE t.member = o.id AND (o.name, o.phone) IS DISTINCT FROM (n.name, n.phone);
        INSERT INTO club_member_term (tenant_id, member, member_created, term)
        SELECT n.tenant_id, n.id, n.created_at, t
        FROM old_rows o JOIN new_rows n ON n.id = o.id, unnest(club_member_search_terms(n.name, n.phone)) AS t
        WHERE (o.name, o.phone) IS DISTINCT FROM (n.name, n.phone);
    ELSE
        INSERT INTO club_member_term (tenant_id, member, member_created, term)
        SELECT n.tenant_id, n.id, n.created_at, t FROM new_rows n, unnest(club_member_search_terms(n.name, n.phone)) AS t;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER club_member_terms_insert AFTER INSERT ON club_member
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION club_member_terms_sync();
CREATE TRIGGER club_member_terms_update AFTER UPDATE ON club_member
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION club_member_terms_sync();

CREATE OR REPLACE FUNCTION club_vehicle_search_terms(plate text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN plate ~ '^[^A-Z0-9]' AND char_length(plate) > 2 THEN ARRAY['=' || plate, '=' || substr(plate, 2)]
                ELSE ARRAY['=' || plate] END
$$;

CREATE OR REPLACE FUNCTION club_vehicle_terms_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM club_member_term t USING old_rows o
        WHERE t.member = o.member AND t.term = ANY(club_vehicle_search_terms(o.plate));
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO club_member_term (tenant_id, member, member_created, term)
        SELECT n.tenant_id, n.member, m.created_at, t
        FROM new_rows n JOIN club_member m ON m.id = n.member, unnest(club_vehicle_search_terms(n.plate)) AS t;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER club_vehicle_terms_insert AFTER INSERT ON club_vehicle
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION club_vehicle_terms_sync();
CREATE TRIGGER club_vehicle_terms_update AFTER UPDATE ON club_vehicle
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION club_vehicle_terms_sync();
CREATE TRIGGER club_vehicle_terms_delete AFTER DELETE ON club_vehicle
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION club_vehicle_terms_sync();

-- The current tenant's terms made again from its members (after a load that bypassed triggers).
CREATE OR REPLACE FUNCTION club_member_terms_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE made bigint;
BEGIN
    DELETE FROM club_member_term WHERE tenant_id = app_current_tenant();
    INSERT INTO club_member_term (tenant_id, member, member_created, term)
    SELECT m.tenant_id, m.id, m.created_at, t FROM club_member m, unnest(club_member_search_terms(m.name, m.phone)) AS t
    WHERE m.tenant_id = app_current_tenant();
    GET DIAGNOSTICS made = ROW_COUNT;
    INSERT INTO club_member_term (tenant_id, member, member_created, term)
    SELECT v.tenant_id, v.member, m.created_at, t
    FROM club_vehicle v JOIN club_member m ON m.id = v.member, unnest(club_vehicle_search_terms(v.plate)) AS t
    WHERE v.tenant_id = app_current_tenant();
    RETURN made;
END
$$;

-- ---- tallies ------------------------------------------------------------------------------------
CREATE UNIQUE INDEX club_tally_key ON club_tally
    (tenant_id, metric, club, org_unit, plan, merchant, benefit, kind, state, day) NULLS NOT DISTINCT;

-- Every tally row a set of cards, periods and check-ins accounts for, from scratch, with the
-- members' branches as they are now (the tallies' truth for states; for events the sum over
-- branches is the truth, as an event keeps the branch it happened in).
CREATE OR REPLACE FUNCTION club_tally_compute_by_branch() RETURNS TABLE (
    club uuid, org_unit uuid, metric text, plan uuid, merchant uuid, benefit uuid, kind text, state text,
    day date, n bigint, amount bigint)
LANGUAGE sql STABLE AS $$
    WITH z AS (SELECT coalesce((SELECT timezone FROM tenant WHERE id = app_current_tenant()), 'UTC') AS tz),
    cards AS (SELECT c.*, m.org_unit AS unit, c.state NOT IN ('cancelled', 'replaced') AS live
              FROM club_card c JOIN club_member m ON m.id = c.member)
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
    FROM club_period p JOIN cards c ON c.id = p.card, z WHERE p.status = 'paid' GROUP BY 1, 2, 7, 9
    UNION ALL
    SELECT c.club, c.unit, 'due', c.plan, NULL, NULL, '', '', (p.ends_at AT TIME ZONE z.tz)::date, count(*), 0
    FROM club_period p JOIN cards c ON c.id = p.card, z
    WHERE p.status = 'paid' AND p.ends_at IS NOT NULL AND c.live GROUP BY 1, 2, 4, 9
    UNION ALL
    SELECT c.club, c.unit, 'open', c.plan, NULL, NULL, '', '', (l.latest AT TIME ZONE z.tz)::date, count(*), 0
    FROM cards c JOIN (SELECT p.card, max(p.ends_at) AS latest FROM club_period p
                       WHERE p.status = 'paid' AND p.ends_at IS NOT NULL GROUP BY p.card) l ON l.card = c.id, z
    WHERE c.live GROUP BY 1, 2, 4, 9
    UNION ALL
    SELECT mc.club, m.org_unit, 'checkin', NULL, ch.merchant, ch.benefit, '', '',
           date_trunc('month', ch.created_at AT TIME ZONE z.tz)::date, count(*), 0
    FROM club_checkin ch JOIN club_merchant mc ON mc.id = ch.merchant JOIN club_member m ON m.id = ch.member, z
    GROUP BY 1, 2, 5, 6, 9
$$;

CREATE OR REPLACE FUNCTION club_tally_compute() RETURNS TABLE (
    club uuid, org_unit uuid, metric text, plan uuid, merchant uuid, benefit uuid, kind text, state text,
    day date, n bigint, amount bigint)
LANGUAGE sql STABLE AS $$
    WITH b AS (SELECT * FROM club_tally_compute_by_branch())
    SELECT * FROM b
    UNION ALL
    SELECT b.club, NULL, b.metric || '_all', b.plan, b.merchant, b.benefit, b.kind, b.state, b.day,
           sum(b.n)::bigint, sum(b.amount)::bigint
    FROM b GROUP BY b.club, b.metric, b.plan, b.merchant, b.benefit, b.kind, b.state, b.day
$$;

CREATE OR REPLACE FUNCTION club_tally_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE made bigint;
BEGIN
    DELETE FROM club_tally WHERE tenant_id = app_current_tenant();
    INSERT INTO club_tally (tenant_id, club, org_unit, metric, plan, merchant, benefit, kind, state, day, n, amount)
    SELECT app_current_tenant(), t.* FROM club_tally_compute() AS t;
    GET DIAGNOSTICS made = ROW_COUNT;
    RETURN made;
END
$$;

-- Differences between the tallies and a recount (none when the triggers are right). Events are
-- compared summed over branches.
CREATE OR REPLACE FUNCTION club_tally_check() RETURNS TABLE (metric text, key text, kept bigint, counted bigint)
LANGUAGE sql STABLE AS $$
    WITH kept AS (
        SELECT t.metric, concat_ws('|', t.club, CASE WHEN t.metric IN ('card', 'held', 'due', 'open') THEN t.org_unit END,
                                   t.plan, t.merchant, t.benefit, t.kind, t.state, t.day) AS key,
               sum(t.n) AS n, sum(t.amount) AS amount
        FROM club_tally t WHERE t.tenant_id = app_current_tenant() GROUP BY 1, 2),
    counted AS (
        SELECT c.metric, concat_ws('|', c.club, CASE WHEN c.metric IN ('card', 'held', 'due', 'open') THEN c.org_unit END,
                                   c.plan, c.merchant, c.benefit, c.kind, c.state, c.day) AS key,
               sum(c.n) AS n, sum(c.amount) AS amount
        FROM club_tally_compute() c GROUP BY 1, 2)
    SELECT coalesce(k.metric, c.metric), coalesce(k.key, c.key), coalesce(k.n, 0), coalesce(c.n, 0)
    FROM kept k FULL JOIN counted c ON c.metric = k.metric AND c.key = k.key
    WHERE coalesce(k.n, 0) <> coalesce(c.n, 0) OR coalesce(k.amount, 0) <> coalesce(c.amount, 0)
$$;

-- Adds signed rows to the tallies, each twice: by branch, and as `<metric>_all` without one (what
-- a company-wide reader sums, 25 times fewer rows for 25 branches). Keys repeated within `rows`
-- are summed first: one statement may not touch a row twice.
CREATE OR REPLACE FUNCTION club_tally_apply(rows club_tally[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO club_tally AS x (tenant_id, club, org_unit, metric, plan, merchant, benefit, kind, state, day, n, amount)
    SELECT r.tenant_id, r.club, r.org_unit, r.metric, r.plan, r.merchant, r.benefit, r.kind, r.state, r.day,
           sum(r.n), sum(r.amount)
    FROM (SELECT u.tenant_id, u.club, u.org_unit, u.metric, u.plan, u.merchant, u.benefit, u.kind, u.state, u.day,
                 u.n, u.amount FROM unnest(rows) AS u
          UNION ALL
          SELECT u.tenant_id, u.club, NULL, u.metric || '_all', u.plan, u.merchant, u.benefit, u.kind, u.state, u.day,
                 u.n, u.amount FROM unnest(rows) AS u) AS r
    GROUP BY r.tenant_id, r.club, r.org_unit, r.metric, r.plan, r.merchant, r.benefit, r.kind, r.state, r.day
    HAVING sum(r.n) <> 0 OR sum(r.amount) <> 0
    ON CONFLICT (tenant_id, metric, club, org_unit, plan, merchant, benefit, kind, state, day)
    DO UPDATE SET n = x.n + EXCLUDED.n, amount = x.amount + EXCLUDED.amount
$$;

-- What a set of cards (as they were, sign -1, or are, sign +1) contributes.
CREATE OR REPLACE FUNCTION club_tally_cards(o club_card[], n club_card[]) RETURNS void LANGUAGE sql AS $$
    WITH z AS (SELECT coalesce((SELECT timezone FROM tenant WHERE id = app_current_tenant()), 'UTC') AS tz),
    d AS (SELECT c.*, -1 AS sign FROM unnest(o) AS c UNION ALL SELECT c.*, 1 FROM unnest(n) AS c),
    dm AS (SELECT d.*, m.org_unit AS unit, d.state NOT IN ('cancelled', 'replaced') AS live
           FROM d JOIN club_member m ON m.id = d.member),
    r AS (
        SELECT dm.tenant_id, dm.club, dm.unit AS org_unit, 'card' AS metric, dm.plan, NULL::uuid AS merchant,
               NULL::uuid AS benefit, '' AS kind, dm.state, (dm.valid_until AT TIME ZONE 'UTC')::date AS day,
               dm.sign::bigint AS n
        FROM dm
        UNION ALL
        SELECT dm.tenant_id, dm.club, dm.unit, 'held', dm.plan, NULL, NULL, '', dm.state, NULL, dm.sign
        FROM dm
        UNION ALL
        SELECT dm.tenant_id, dm.club, dm.unit, 'joined', NULL, NULL, NULL, '', '',
               date_trunc('month', dm.created_at AT TIME ZONE z.tz)::date, dm.sign
        FROM dm, z WHERE dm.replaces IS NULL
        UNION ALL
        SELECT dm.tenant_id, dm.club, dm.unit, 'due', dm.plan, NULL, NULL, '', '',
               (p.ends_at AT TIME ZONE z.tz)::date, dm.sign
        FROM dm JOIN club_period p ON p.card = dm.id AND p.status = 'paid' AND p.ends_at IS NOT NULL, z
        WHERE dm.live
        UNION ALL
        SELECT dm.tenant_id, dm.club, dm.unit, 'open', dm.plan, NULL, NULL, '', '',
               (l.latest AT TIME ZONE z.tz)::date, dm.sign
        FROM dm JOIN LATERAL (SELECT max(p.ends_at) AS latest FROM club_period p
                              WHERE p.card = dm.id AND p.status = 'paid') l ON l.latest IS NOT NULL, z
        WHERE dm.live)
    SELECT club_tally_apply(array_agg(ROW(NULL, r.tenant_id, NULL, r.club, r.org_unit, r.metric, r.plan, r.merchant,
                                          r.benefit, r.kind, r.state, r.day, r.n, 0)::club_tally))
    FROM r
$$;

CREATE OR REPLACE FUNCTION club_card_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM club_tally_cards('{}', (SELECT array_agg(x::club_card) FROM new_rows x));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM club_tally_cards((SELECT array_agg(x::club_card) FROM old_rows x), '{}');
    ELSE
        -- only cards whose counted fields changed (a policy number or an approval id leaves them be)
        PERFORM club_tally_cards(x.o, x.n) FROM (
            SELECT array_agg(o::club_card) AS o, array_agg(n::club_card) AS n
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE (o.club, o.plan, o.member, o.state, o.valid_until, o.replaces, o.created_at)
                  IS DISTINCT FROM (n.club, n.plan, n.member, n.state, n.valid_until, n.replaces, n.created_at)) x;
    END IF;
    RETURN NULL;
END
$$;

-- Periods: fees (an event), and for live cards the terms due and each card's open (latest) term.
-- A card's latest end before the statement is its periods now with the statement's new rows
-- swapped back for its old ones.
CREATE OR REPLACE FUNCTION club_tally_periods(o club_period[], n club_period[]) RETURNS void LANGUAGE sql AS $$
    WITH z AS (SELECT coalesce((SELECT timezone FROM tenant WHERE id = app_current_tenant()), 'UTC') AS tz),
    d AS (SELECT p.*, -1 AS sign FROM unnest(o) AS p UNION ALL SELECT p.*, 1 FROM unnest(n) AS p),
    dc AS (SELECT d.*, c.club, c.plan, m.org_unit AS unit, c.state NOT IN ('cancelled', 'replaced') AS live
           FROM d JOIN club_card c ON c.id = d.card JOIN club_member m ON m.id = c.member),
    touched AS (SELECT DISTINCT d.card FROM d),
    after_l AS (SELECT t.card, max(p.ends_at) AS latest FROM touched t
                JOIN club_period p ON p.card = t.card AND p.status = 'paid' GROUP BY t.card),
    before_l AS (SELECT x.card, max(x.ends_at) AS latest FROM (
                     SELECT p.card, p.ends_at FROM club_period p JOIN touched t ON t.card = p.card
                     WHERE p.status = 'paid' AND p.id NOT IN (SELECT q.id FROM unnest(n) AS q)
                     UNION ALL
                     SELECT q.card, q.ends_at FROM unnest(o) AS q WHERE q.status = 'paid') x
                 GROUP BY x.card),
    l AS (SELECT b.card, b.latest, -1 AS sign FROM before_l b UNION ALL SELECT a.card, a.latest, 1 FROM after_l a),
    r AS (
        SELECT dc.tenant_id, dc.club, dc.unit AS org_unit, 'fee' AS metric, NULL::uuid AS plan, dc.kind,
               date_trunc('month', dc.paid_at AT TIME ZONE z.tz)::date AS day, dc.sign::bigint AS n,
               (dc.sign * dc.amount)::bigint AS amount
        FROM dc, z WHERE dc.status = 'paid'
        UNION ALL
        SELECT dc.tenant_id, dc.club, dc.unit, 'due', dc.plan, '', (dc.ends_at AT TIME ZONE z.tz)::date, dc.sign, 0
        FROM dc, z WHERE dc.status = 'paid' AND dc.ends_at IS NOT NULL AND dc.live
        UNION ALL
        SELECT c.tenant_id, c.club, m.org_unit, 'open', c.plan, '', (l.latest AT TIME ZONE z.tz)::date, l.sign, 0
        FROM l JOIN club_card c ON c.id = l.card JOIN club_member m ON m.id = c.member, z
        WHERE l.latest IS NOT NULL AND c.state NOT IN ('cancelled', 'replaced'))
    SELECT club_tally_apply(array_agg(ROW(NULL, r.tenant_id, NULL, r.club, r.org_unit, r.metric, r.plan, NULL, NULL,
                                          r.kind, '', r.day, r.n, r.amount)::club_tally))
    FROM r
$$;

CREATE OR REPLACE FUNCTION club_period_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM club_tally_periods('{}', (SELECT array_agg(x::club_period) FROM new_rows x));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM club_tally_periods((SELECT array_agg(x::club_period) FROM old_rows x), '{}');
    ELSE
        PERFORM club_tally_periods(x.o, x.n) FROM (
            SELECT array_agg(o::club_period) AS o, array_agg(n::club_period) AS n
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE (o.card, o.kind, o.status, o.amount, o.paid_at, o.ends_at)
                  IS DISTINCT FROM (n.card, n.kind, n.status, n.amount, n.paid_at, n.ends_at)) x;
    END IF;
    RETURN NULL;
END
$$;

-- A member moving branch takes the state tallies of its cards along (events stay where they happened).
CREATE OR REPLACE FUNCTION club_member_tally() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    moved uuid[];
    cards club_card[];
BEGIN
    SELECT array_agg(o.id) INTO moved FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE o.org_unit IS DISTINCT FROM n.org_unit;
    IF moved IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(c) INTO cards FROM club_card c WHERE c.member = ANY(moved);
    IF cards IS NULL THEN
        RETURN NULL;
    END IF;
    -- out of the old branch and into the new one: the rows the cards add, negated with the old unit
    PERFORM club_tally_apply(array_agg(ROW(NULL, t.tenant_id, NULL, t.club, u.unit, t.metric, t.plan, t.merchant,
                                           t.benefit, t.kind, t.state, t.day, t.n * u.sign, 0)::club_tally))
    FROM club_tally_of_cards(cards) t JOIN old_rows o ON o.id = t.member JOIN new_rows n ON n.id = t.member,
         LATERAL (VALUES (o.org_unit, -1), (n.org_unit, 1)) AS u (unit, sign);
    RETURN NULL;
END
$$;

-- The state rows (card, due, open) of some cards, per member, without a branch.
CREATE OR REPLACE FUNCTION club_tally_of_cards(cards club_card[]) RETURNS TABLE (
    tenant_id uuid, member uuid, club uuid, metric text, plan uuid, merchant uuid, benefit uuid, kind text,
    state text, day date, n bigint)
LANGUAGE sql STABLE AS $$
    WITH z AS (SELECT coalesce((SELECT timezone FROM tenant WHERE id = app_current_tenant()), 'UTC') AS tz),
    c AS (SELECT x.*, x.state NOT IN ('cancelled', 'replaced') AS live FROM unnest(cards) AS x)
    SELECT c.tenant_id, c.member, c.club, 'card', c.plan, NULL::uuid, NULL::uuid, '', c.state,
           (c.valid_until AT TIME ZONE 'UTC')::date, 1::bigint FROM c
    UNION ALL
    SELECT c.tenant_id, c.member, c.club, 'held', c.plan, NULL, NULL, '', c.state, NULL, 1 FROM c
    UNION ALL
    SELECT c.tenant_id, c.member, c.club, 'due', c.plan, NULL, NULL, '', '', (p.ends_at AT TIME ZONE z.tz)::date, 1
    FROM c JOIN club_period p ON p.card = c.id AND p.status = 'paid' AND p.ends_at IS NOT NULL, z WHERE c.live
    UNION ALL
    SELECT c.tenant_id, c.member, c.club, 'open', c.plan, NULL, NULL, '', '', (l.latest AT TIME ZONE z.tz)::date, 1
    FROM c JOIN LATERAL (SELECT max(p.ends_at) AS latest FROM club_period p
                         WHERE p.card = c.id AND p.status = 'paid') l ON l.latest IS NOT NULL, z
    WHERE c.live
$$;

CREATE OR REPLACE FUNCTION club_checkin_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM club_tally_apply(array_agg(ROW(NULL, x.tenant_id, NULL, mc.club, m.org_unit, 'checkin', NULL, x.merchant,
                                           x.benefit, '', '', date_trunc('month', x.created_at AT TIME ZONE z.tz)::date,
                                           1, 0)::club_tally))
    FROM new_rows x JOIN club_merchant mc ON mc.id = x.merchant JOIN club_member m ON m.id = x.member,
         (SELECT coalesce((SELECT timezone FROM tenant WHERE id = app_current_tenant()), 'UTC') AS tz) z;
    RETURN NULL;
END
$$;

CREATE TRIGGER club_card_tally_insert AFTER INSERT ON club_card
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION club_card_tally();
CREATE TRIGGER club_card_tally_update AFTER UPDATE ON club_card
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION club_card_tally();
CREATE TRIGGER club_card_tally_delete AFTER DELETE ON club_card
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION club_card_tally();
CREATE TRIGGER club_period_tally_insert AFTER INSERT ON club_period
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION club_period_tally();
CREATE TRIGGER club_period_tally_update AFTER UPDATE ON club_period
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION club_period_tally();
CREATE TRIGGER club_period_tally_delete AFTER DELETE ON club_period
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION club_period_tally();
CREATE TRIGGER club_member_tally_update AFTER UPDATE ON club_member
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION club_member_tally();
CREATE TRIGGER club_checkin_tally_insert AFTER INSERT ON club_checkin
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION club_checkin_tally();
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="clubs", description=DESCRIPTION)

    async def run():
        await run_script(SQL + "".join(rls_sql(t) for t in ("club_member_term", "club_tally")))
        # Terms and tallies for what the tenants already hold, one tenant at a time under its own binding
        # (the functions read app_current_tenant()).
        await run_script(per_tenant_sql("club_member", "club_member_terms_rebuild()", "club_tally_rebuild()"))

    manager.add_raw(run)
    return manager
