"""The funds' running sums per month (`fund_month`): row-level security, its one unique cell per fund, month,
cause and account (what the ledger's upsert conflicts on), the function that makes them again from the
postings, and the rows of the companies that have postings already. The ledger's index of a fund's postings
now carries each posting's account and amount, so a full recount (the trial balance) reads the index alone.
(Raw SQL: Piccolo has no policies, INCLUDE columns or functions.)"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import rls_sql, run_script

ID = "2026-12-01T06:12:59:000000"
VERSION = "1.38.0"
DESCRIPTION = "funds running sums per month, their row-level security and backfill; covering ledger index"

TENANT_TABLES = ["fund_month"]

SQL = """
-- one row of running sums per fund, month, cause and account (upserted by every entry that posts to it)
CREATE UNIQUE INDEX fund_month_tenant_cell ON fund_month (tenant_id, fund, month, cause, account);

-- the ledger of one fund, newest first, a keyset page at a time; the trial balance's recount sums the
-- accounts from this index alone (an index-only scan, no posting row read)
DROP INDEX IF EXISTS fund_posting_tenant_fund_voucher;
CREATE INDEX fund_posting_tenant_fund_voucher ON fund_posting (tenant_id, fund, voucher DESC)
    INCLUDE (account, amount);

-- The running sums of the company in context, made again from its postings (the backfill below; the
-- tests compare them with what the ledger kept). Answers the number of rows made.
CREATE OR REPLACE FUNCTION fund_month_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE made bigint;
BEGIN
    DELETE FROM fund_month WHERE tenant_id = app_current_tenant();
    INSERT INTO fund_month (id, tenant_id, created_at, fund, month, cause, account, amount, postings,
                            first_voucher, last_voucher)
    SELECT gen_random_uuid(), p.tenant_id, now(), p.fund, date_trunc('month', e.occurred_on)::date, e.cause,
           p.account, sum(p.amount), count(*), min(p.voucher), max(p.voucher)
    FROM fund_posting p JOIN fund_entry e ON e.tenant_id = p.tenant_id AND e.id = p.entry
    WHERE p.tenant_id = app_current_tenant()
    GROUP BY p.tenant_id, p.fund, date_trunc('month', e.occurred_on)::date, e.cause, p.account;
    GET DIAGNOSTICS made = ROW_COUNT;
    RETURN made;
END $$;
"""

BACKFILL_SQL = """
-- companies that have postings already: their running sums, each under its own tenant context
DO $$
DECLARE t uuid;
BEGIN
    FOR t IN SELECT id FROM tenant LOOP
        PERFORM set_config('app.tenant_id', t::text, true);
        PERFORM fund_month_rebuild();
    END LOOP;
END $$;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="funds", description=DESCRIPTION)

    async def run():
        await run_script(SQL + "".join(rls_sql(t) for t in TENANT_TABLES) + BACKFILL_SQL)

    manager.add_raw(run)
    return manager
