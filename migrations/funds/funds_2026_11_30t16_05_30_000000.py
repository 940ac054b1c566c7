"""Row-level security, tenant-first indexes and the ledger's own guarantees for the funds tables (raw
SQL: Piccolo has no policies, sequences as defaults, partial unique indexes or CHECK constraints).

The database itself refuses what must never happen, whichever code path tries: an available,
committed or receivable balance below zero, a posting of zero, a second correction of one entry, the
same idempotency key twice. The app role's lack of UPDATE and DELETE on entries and postings
(core/migrate.APPEND_ONLY) makes them immutable."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import rls_sql, run_script

ID = "2026-11-30T16:05:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "funds row-level security and ledger constraints"

TENANT_TABLES = ["care_fund", "fund_balance", "fund_entry", "fund_posting", "fund_accrual_rule",
                 "fund_accrual_period", "fund_contribution", "fund_plan", "fund_plan_line", "fund_request",
                 "fund_claim"]

SQL = """

CREATE UNIQUE INDEX care_fund_tenant_code_year ON care_fund (tenant_id, code, year);
CREATE INDEX care_fund_tenant_year ON care_fund (tenant_id, year DESC, code);

CREATE UNIQUE INDEX fund_balance_tenant_fund_account ON fund_balance (tenant_id, fund, account);
ALTER TABLE fund_balance ADD CONSTRAINT fund_balance_not_negative
    CHECK (account NOT IN ('available', 'committed', 'receivable') OR balance >= 0);

CREATE UNIQUE INDEX fund_entry_tenant_reverses ON fund_entry (tenant_id, reverses) WHERE reverses IS NOT NULL;
CREATE UNIQUE INDEX fund_entry_tenant_key ON fund_entry (tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX fund_entry_tenant_cause ON fund_entry (tenant_id, cause, cause_id);
ALTER TABLE fund_entry ADD CONSTRAINT fund_entry_cause CHECK (cause IN
    ('accrual', 'collection', 'contribution', 'commitment', 'release', 'reimbursement', 'rollover', 'correction'));

-- the ledger of one fund, newest first, a keyset page at a time; the trial balance sums per account
CREATE INDEX fund_posting_tenant_fund_voucher ON fund_posting (tenant_id, fund, voucher DESC);
CREATE INDEX fund_posting_tenant_entry ON fund_posting (tenant_id, entry);
ALTER TABLE fund_posting ADD CONSTRAINT fund_posting_not_zero CHECK (amount <> 0);

CREATE UNIQUE INDEX fund_accrual_rule_tenant_code ON fund_accrual_rule (tenant_id, fund_code, code);
ALTER TABLE fund_accrual_rule ADD CONSTRAINT fund_accrual_rule_rate CHECK (rate_bp > 0 AND rate_bp <= 10000);
CREATE UNIQUE INDEX fund_accrual_period_tenant_rule_start ON fund_accrual_period (tenant_id, rule, starts_on);
CREATE INDEX fund_accrual_period_tenant_open ON fund_accrual_period (tenant_id, due_on)
    WHERE paid < amount;
CREATE INDEX fund_contribution_tenant_fund ON fund_contribution (tenant_id, fund, received_on DESC);

-- one version number per fund, and at most one plan version in review at a time
CREATE UNIQUE INDEX fund_plan_tenant_fund_version ON fund_plan (tenant_id, fund, version);
CREATE UNIQUE INDEX fund_plan_tenant_fund_in_review ON fund_plan (tenant_id, fund) WHERE status = 'in_review';
CREATE UNIQUE INDEX fund_plan_line_tenant_plan_code ON fund_plan_line (tenant_id, plan, code);
ALTER TABLE fund_plan_line ADD CONSTRAINT fund_plan_line_month CHECK (month BETWEEN 1 AND 12);
ALTER TABLE fund_plan_line ADD CONSTRAINT fund_plan_line_amount CHECK (amount >= 0);
CREATE UNIQUE INDEX fund_request_tenant_number ON fund_request (tenant_id, number);
CREATE INDEX fund_request_tenant_fund_created ON fund_request (tenant_id, fund, created_at DESC, id DESC);
CREATE INDEX fund_request_tenant_line ON fund_request (tenant_id, fund, plan_line_code) WHERE in_plan;
CREATE INDEX fund_request_tenant_approval ON fund_request (tenant_id, approval_request);
ALTER TABLE fund_request ADD CONSTRAINT fund_request_amounts CHECK (amount > 0 AND committed >= 0 AND spent >= 0);
CREATE INDEX fund_claim_tenant_request ON fund_claim (tenant_id, request);
-- one open or settled claim per request; a refused claim may be followed by a corrected one
CREATE UNIQUE INDEX fund_claim_tenant_request_live ON fund_claim (tenant_id, request) WHERE status <> 'refused';
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="funds", description=DESCRIPTION)

    async def run():
        await run_script(SQL + "".join(rls_sql(t) for t in TENANT_TABLES))

    manager.add_raw(run)
    return manager
