"""Row-level security and tenant-first indexes for the payments tables, and the account routing
column on the shared tenant registry (raw SQL: Piccolo has no policies, partial or composite unique
constraints)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import rls_sql, run_script

ID = "2026-11-30T06:27:50:000000"
VERSION = "1.38.0"
DESCRIPTION = "payments row-level security"

TENANT_TABLES = ["payment_settings", "payment", "payment_refund", "payment_subscription", "payment_webhook_event",
                 "payment_counter"]

SQL = """
-- A webhook names only the Stripe account; this is how it finds its company, before any company is in
-- context (the registry's policy lets anyone read it). Unique: one account never serves two companies.
ALTER TABLE tenant ADD COLUMN IF NOT EXISTS stripe_account_id varchar(64);
CREATE UNIQUE INDEX IF NOT EXISTS tenant_stripe_account ON tenant (stripe_account_id)
    WHERE stripe_account_id IS NOT NULL;

CREATE UNIQUE INDEX payment_settings_tenant ON payment_settings (tenant_id);
CREATE UNIQUE INDEX payment_tenant_number ON payment (tenant_id, number);
CREATE UNIQUE INDEX payment_tenant_session ON payment (tenant_id, checkout_session_id)
    WHERE checkout_session_id IS NOT NULL;
CREATE UNIQUE INDEX payment_tenant_invoice ON payment (tenant_id, invoice_id) WHERE invoice_id IS NOT NULL;
CREATE INDEX payment_tenant_intent ON payment (tenant_id, payment_intent_id) WHERE payment_intent_id IS NOT NULL;
CREATE INDEX payment_tenant_payable ON payment (tenant_id, payable_kind, payable_id);
CREATE INDEX payment_tenant_created ON payment (tenant_id, created_at DESC, id DESC);
CREATE INDEX payment_tenant_status_created ON payment (tenant_id, status, created_at DESC);
CREATE INDEX payment_tenant_card ON payment (tenant_id, card_no) WHERE card_no <> '';
-- at most one payment of a payable can succeed; a second paid one is refunded, never counted
CREATE UNIQUE INDEX payment_tenant_payable_settled ON payment (tenant_id, payable_kind, payable_id)
    WHERE status IN ('paid', 'partially_refunded');
CREATE UNIQUE INDEX payment_refund_tenant_stripe ON payment_refund (tenant_id, stripe_refund_id)
    WHERE stripe_refund_id IS NOT NULL;
CREATE INDEX payment_refund_tenant_payment ON payment_refund (tenant_id, payment);
CREATE UNIQUE INDEX payment_subscription_tenant_sub ON payment_subscription (tenant_id, stripe_subscription_id);
CREATE INDEX payment_subscription_tenant_subject ON payment_subscription (tenant_id, payable_kind, subject_id);
CREATE UNIQUE INDEX payment_webhook_event_tenant_event ON payment_webhook_event (tenant_id, event_id);
CREATE INDEX payment_webhook_event_tenant_pending ON payment_webhook_event (tenant_id, created_at)
    WHERE status = 'received';
-- receipt numbers: one counter per company and year, taken with one atomic upsert
CREATE UNIQUE INDEX payment_counter_tenant_year ON payment_counter (tenant_id, year);
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="payments", description=DESCRIPTION)

    async def run():
        await run_script(SQL + "".join(rls_sql(t) for t in TENANT_TABLES))

    manager.add_raw(run)
    return manager
