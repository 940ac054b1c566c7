"""A fund's postings in account order, carrying their amounts: the trial balance (a recount of every posting,
as the contract asks) sums each account from this index alone, streaming one account after another on two
workers; over the ledger's index in voucher order it hashed every posting into its account (2,000,000 postings:
785 → 290 ms; docs/scale.md). Postings are only ever added, so the index costs one entry a posting."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import run_script

ID = "2026-12-01T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "funds: postings by fund and account, for the trial balance's recount"

SQL = """
CREATE INDEX IF NOT EXISTS fund_posting_tenant_fund_account ON fund_posting (tenant_id, fund, account)
    INCLUDE (amount);
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="funds", description=DESCRIPTION)

    async def run():
        await run_script(SQL)

    manager.add_raw(run)
    return manager
