"""Row-level security, tenant-first indexes and the catalogue's own guarantees (raw SQL: Piccolo has no
policies, partial indexes or CHECK constraints)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import rls_sql, run_script

ID = "2026-12-01T00:18:04:000000"
VERSION = "1.38.0"
DESCRIPTION = "catalogue row-level security, indexes and constraints"

TENANT_TABLES = ["service_subcontractor", "service_item", "service_item_version", "service_agreement", "service_order",
                 "service_loss_review", "service_survey", "service_survey_answer", "service_subcontractor_user"]

SQL = """
CREATE UNIQUE INDEX service_subcontractor_tenant_code ON service_subcontractor (tenant_id, code);
CREATE UNIQUE INDEX service_item_tenant_code ON service_item (tenant_id, code);
CREATE INDEX service_item_tenant_project ON service_item (tenant_id, project_id, status);
CREATE UNIQUE INDEX service_item_version_tenant_item ON service_item_version (tenant_id, item, version);
-- one version of an item in review at a time, and one draft
CREATE UNIQUE INDEX service_item_version_tenant_open ON service_item_version (tenant_id, item)
    WHERE status IN ('draft', 'in_review', 'returned');
ALTER TABLE service_item_version ADD CONSTRAINT service_item_version_fee CHECK (
    (fee_basis = 'quoted' AND fee_min IS NOT NULL AND fee_max IS NOT NULL AND fee_min <= fee_max)
    OR (fee_basis <> 'quoted' AND fee_amount IS NOT NULL AND fee_amount >= 0));
ALTER TABLE service_item_version ADD CONSTRAINT service_item_version_prepay CHECK (prepay_amount >= 0);

CREATE UNIQUE INDEX service_order_tenant_ticket ON service_order (tenant_id, ticket);
CREATE UNIQUE INDEX service_order_tenant_number ON service_order (tenant_id, number);
CREATE INDEX service_order_tenant_created ON service_order (tenant_id, created_at DESC, id DESC);
CREATE INDEX service_order_tenant_status ON service_order (tenant_id, status, created_at DESC, id DESC);
-- a resident's own orders: those he booked and those of his units
CREATE INDEX service_order_tenant_booked_by ON service_order (tenant_id, booked_by, created_at DESC);
CREATE INDEX service_order_tenant_unit ON service_order (tenant_id, unit, created_at DESC) WHERE unit IS NOT NULL;
-- a day's bookings of an item against its capacity
CREATE INDEX service_order_tenant_slot ON service_order (tenant_id, item, slot_date)
    WHERE slot_date IS NOT NULL AND status <> 'cancelled';
CREATE INDEX service_order_tenant_item_month ON service_order (tenant_id, item, created_at);
-- one order per visit of an agreement: the job may run twice, the visit is created once
CREATE UNIQUE INDEX service_order_tenant_agreement_visit ON service_order (tenant_id, agreement, slot_date)
    WHERE agreement IS NOT NULL;
CREATE INDEX service_order_tenant_settled ON service_order (tenant_id, settled_at) WHERE settled_at IS NOT NULL;
ALTER TABLE service_order ADD CONSTRAINT service_order_money CHECK (prepaid >= 0 AND balance >= 0
    AND refund_due >= 0 AND prepay_amount >= 0 AND quantity_centi > 0 AND version > 0 AND cost_total >= 0);

CREATE UNIQUE INDEX service_agreement_tenant_number ON service_agreement (tenant_id, number);
CREATE INDEX service_agreement_tenant_due ON service_agreement (tenant_id, next_visit) WHERE status = 'active';
ALTER TABLE service_agreement ADD CONSTRAINT service_agreement_terms CHECK (ends_on >= starts_on
    AND every_weeks BETWEEN 1 AND 52 AND weekday BETWEEN 0 AND 6 AND price_per_visit >= 0);
CREATE UNIQUE INDEX service_loss_review_tenant_item_month ON service_loss_review (tenant_id, item, month);
CREATE INDEX service_survey_tenant_project ON service_survey (tenant_id, project_id, created_at DESC);
CREATE UNIQUE INDEX service_survey_answer_tenant_once ON service_survey_answer (tenant_id, survey, user_id);
-- complaints raised about a service order (the quality figures count them per order)
CREATE INDEX ticket_tenant_complaint_order ON ticket (tenant_id, (fields->>'order')) WHERE fields ? 'order';
CREATE UNIQUE INDEX service_subcontractor_user_tenant_user ON service_subcontractor_user (tenant_id, user_id);

"""

ROLES_SQL = """
-- companies that exist already get the new permissions in their built-in roles (as a new company's
-- would: platform.permissions.BUILTIN_ROLES); each company's rows under its own tenant context
DO $$
DECLARE t uuid;
BEGIN
    FOR t IN SELECT id FROM tenant LOOP
        PERFORM set_config('app.tenant_id', t::text, true);
        UPDATE role SET permissions = ARRAY(SELECT DISTINCT p FROM unnest(permissions
                                           || ARRAY['catalogue.read']::varchar[]) p ORDER BY p)
            WHERE builtin AND code IN ('finance', 'cs_clerk', 'dispatcher');
        UPDATE role SET permissions = ARRAY(SELECT DISTINCT p FROM unnest(permissions
                                           || ARRAY['catalogue.read', 'catalogue.manage']::varchar[]) p ORDER BY p)
            WHERE builtin AND code = 'tenant_admin';
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);
END $$;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="catalogue", description=DESCRIPTION)

    async def run():
        await run_script(SQL + "".join(rls_sql(t) for t in TENANT_TABLES) + ROLES_SQL)

    manager.add_raw(run)
    return manager
