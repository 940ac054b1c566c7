"""Check-ins partitioned by month (raw SQL: Piccolo has no partitioned tables).

The table Piccolo created is replaced by one with the same columns, `PARTITION BY RANGE
(created_at)`, monthly partitions and a default one. Partitions live in the schema
`club_checkin_parts`, where the app role has no USAGE: it reaches check-ins only through the
parent, whose row-level security and append-only grants (core/migrate.py APPEND_ONLY) apply.
Replay uniqueness does not depend on this table (a partitioned table cannot hold a unique key
without the partition key): `club_token_nonce (tenant_id, nonce)` is the unique truth.
Foreign keys refuse deletes instead of cascading, so no check-in disappears with its card.
`club_checkin_add_partitions(months)` (SECURITY DEFINER, owned by the migration role) is what the
housekeeping job calls to keep partitions ahead of time.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import run_script

ID = "2026-11-23T02:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "clubs check-ins partitioned by month"

SQL = r"""
CREATE SCHEMA IF NOT EXISTS club_checkin_parts;
REVOKE ALL ON SCHEMA club_checkin_parts FROM PUBLIC;

ALTER TABLE club_checkin RENAME TO club_checkin_unpartitioned;
ALTER TABLE club_checkin_unpartitioned RENAME CONSTRAINT club_checkin_pkey TO club_checkin_unpartitioned_pkey;
DROP INDEX IF EXISTS club_checkin_tenant_card_time, club_checkin_tenant_id_id, club_checkin_tenant_merchant_idem,
    club_checkin_tenant_merchant_time;

CREATE TABLE club_checkin (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL,
    created_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP,
    card uuid REFERENCES club_card (id),
    member uuid REFERENCES club_member (id),
    merchant uuid REFERENCES club_merchant (id),
    benefit uuid REFERENCES club_benefit (id),
    operator_id uuid,
    amount integer,
    discount_amount integer,
    discount jsonb,
    static boolean NOT NULL DEFAULT false,
    nonce character varying(32) NOT NULL DEFAULT '',
    idempotency_key character varying(120) DEFAULT NULL,
    answer jsonb,
    scanned_on date NOT NULL DEFAULT CURRENT_DATE,
    -- tenant first (distributable), the partition key last (a partitioned table's keys need it)
    CONSTRAINT club_checkin_pkey PRIMARY KEY (tenant_id, id, created_at)
) PARTITION BY RANGE (created_at);

CREATE TABLE club_checkin_parts.club_checkin_default PARTITION OF club_checkin DEFAULT;

CREATE INDEX club_checkin_tenant_id_id ON club_checkin (tenant_id, id);
CREATE INDEX club_checkin_tenant_merchant_time ON club_checkin (tenant_id, merchant, created_at DESC);
CREATE INDEX club_checkin_tenant_card_time ON club_checkin (tenant_id, card, created_at DESC);
CREATE INDEX club_checkin_tenant_merchant_idem ON club_checkin (tenant_id, merchant, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- Existing rows move over before the new table's policy is forced (the migration role owns both
-- tables; with the old one's FORCE lifted it may read every tenant's rows once, here).
ALTER TABLE club_checkin_unpartitioned NO FORCE ROW LEVEL SECURITY;
INSERT INTO club_checkin SELECT * FROM club_checkin_unpartitioned;
DROP TABLE club_checkin_unpartitioned;

ALTER TABLE club_checkin ENABLE ROW LEVEL SECURITY;
ALTER TABLE club_checkin FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON club_checkin
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

CREATE OR REPLACE FUNCTION club_checkin_add_partitions(months_ahead integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    first_month date := date_trunc('month', now() - interval '1 month')::date;
    m date;
    made integer := 0;
    part text;
BEGIN
    IF months_ahead < 0 OR months_ahead > 120 THEN
        RAISE EXCEPTION 'months_ahead must be between 0 and 120';
    END IF;
    FOR i IN 0 .. months_ahead + 1 LOOP
        m := (first_month + make_interval(months => i))::date;
        part := format('club_checkin_y%sm%s', to_char(m, 'YYYY'), to_char(m, 'MM'));
        IF to_regclass('club_checkin_parts.' || part) IS NULL THEN
            BEGIN
                EXECUTE format('CREATE TABLE club_checkin_parts.%I PARTITION OF club_checkin '
                               'FOR VALUES FROM (%L) TO (%L)', part, m, (m + interval '1 month')::date);
                made := made + 1;
            EXCEPTION WHEN check_violation OR invalid_object_definition THEN
                -- rows of that month already sit in the default partition: leave them there
                NULL;
            END;
        END IF;
    END LOOP;
    RETURN made;
END
$$;

SELECT club_checkin_add_partitions(24);
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="clubs", description=DESCRIPTION)

    async def run():
        await run_script(SQL)

    manager.add_raw(run)
    return manager
