"""The trial balance's recount reads one small index per account. Its index of a fund's postings in account
order, `(tenant_id, fund, account) INCLUDE (amount)`, held the account's name in every entry (64–68 bytes an
entry; 143 MB for a fund of two million postings), and the recount hashed that name for every posting to group
them: 345–376 ms. One partial index per account, `(tenant_id, fund) INCLUDE (amount) WHERE account = …`, holds
52 bytes an entry, and each account is one plain sum of one index (docs/scale.md, Care funds, "Third pass").

The accounts are a closed list (funds/rules.py `ACCOUNTS`); the database now refuses a posting to any other
(`fund_posting_account_known`), so the indexes cover every posting and an account added to the rules needs a
migration that widens the check and adds its index (tests/integration/funds/test_trial_balance_indexes.py fails
until it does). A posting to another account could never be written through the ledger (rules.py refuses it),
so the check is validated at once; a database holding one would stop this migration with the row's account
in the error, not lose it."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import run_script

ID = "2026-12-01T18:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "funds: one partial index per account for the trial balance; postings only to known accounts"

# As the rules held them when this ran; later accounts come with their own migration.
ACCOUNTS = ("available", "receivable", "committed", "spent", "carried_forward", "accrued", "contributed",
            "brought_forward")

SQL = (
    "ALTER TABLE fund_posting ADD CONSTRAINT fund_posting_account_known CHECK (account IN ("
    + ", ".join(f"'{a}'" for a in ACCOUNTS) + "));\n"
    + "".join(f"CREATE INDEX IF NOT EXISTS fund_posting_{a} ON fund_posting (tenant_id, fund) INCLUDE (amount) "
              f"WHERE account = '{a}';\n" for a in ACCOUNTS)
    + "DROP INDEX IF EXISTS fund_posting_tenant_fund_account;\n"
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="funds", description=DESCRIPTION)

    async def run():
        await run_script(SQL)

    manager.add_raw(run)
    return manager
