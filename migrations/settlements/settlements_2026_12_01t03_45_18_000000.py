"""Row-level security, tenant-first indexes and the settlements' own guarantees (raw SQL: Piccolo has no
policies, partial indexes, CHECK constraints or triggers)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import rls_sql, run_script

ID = "2026-12-01T03:45:18:000000"
VERSION = "1.38.0"
DESCRIPTION = "settlements row-level security, indexes, constraints and immutability"

TENANT_TABLES = ["settlement_settings", "settlement_project", "settlement_phase", "settlement_budget",
                 "settlement_budget_line", "settlement_payment", "settlement", "settlement_adjustment",
                 "settlement_figure", "involvement_item"]

SQL = """
CREATE UNIQUE INDEX settlement_settings_tenant ON settlement_settings (tenant_id);
ALTER TABLE settlement_settings ADD CONSTRAINT settlement_settings_terms CHECK (
    fee_rate_bp BETWEEN 0 AND 10000 AND due_day BETWEEN 1 AND 28);
CREATE UNIQUE INDEX settlement_project_tenant_project ON settlement_project (tenant_id, project_id);
CREATE UNIQUE INDEX settlement_phase_tenant_code ON settlement_phase (tenant_id, project_id, code);
CREATE UNIQUE INDEX settlement_budget_tenant_number ON settlement_budget (tenant_id, project_id, number);
CREATE INDEX settlement_budget_tenant_project_month ON settlement_budget (tenant_id, project_id, month, kind);
CREATE INDEX settlement_budget_tenant_status ON settlement_budget (tenant_id, status, month);
ALTER TABLE settlement_budget ADD CONSTRAINT settlement_budget_total CHECK (total >= 0);
CREATE UNIQUE INDEX settlement_budget_line_tenant_no ON settlement_budget_line (tenant_id, budget, line_no);
ALTER TABLE settlement_budget_line ADD CONSTRAINT settlement_budget_line_amount CHECK (amount > 0 AND line_no > 0);
CREATE INDEX settlement_payment_tenant_line ON settlement_payment (tenant_id, line, status);
CREATE INDEX settlement_payment_tenant_project_month ON settlement_payment (tenant_id, project_id, month, status);
-- the payments list pages by (created_at, id), oldest first, for every status
CREATE INDEX settlement_payment_tenant_created ON settlement_payment (tenant_id, created_at, id);
CREATE INDEX settlement_payment_tenant_waiting ON settlement_payment (tenant_id, created_at, id)
    WHERE status = 'recorded';
ALTER TABLE settlement_payment ADD CONSTRAINT settlement_payment_amount CHECK (amount > 0);
-- a settled payment stays confirmed: a refusal after its settlement would change an approved month
ALTER TABLE settlement_payment ADD CONSTRAINT settlement_payment_settled CHECK (
    settlement IS NULL OR status = 'confirmed');
CREATE UNIQUE INDEX settlement_tenant_project_month ON settlement (tenant_id, project_id, month);
CREATE INDEX settlement_tenant_month ON settlement (tenant_id, month DESC, project_id);
ALTER TABLE settlement ADD CONSTRAINT settlement_money CHECK (
    cost_staff >= 0 AND cost_admin >= 0 AND cost_purchase >= 0 AND cost_special >= 0
    AND confirmed_cost = cost_staff + cost_admin + cost_purchase + cost_special + adjustments
    AND total = confirmed_cost + management_fee AND fee_rate_bp BETWEEN 0 AND 10000);
CREATE INDEX settlement_adjustment_tenant_project_month ON settlement_adjustment (tenant_id, project_id, month);
ALTER TABLE settlement_adjustment ADD CONSTRAINT settlement_adjustment_amount CHECK (amount <> 0);
-- one row of running sums per project, month and cost type (upserted by every write that moves them)
CREATE UNIQUE INDEX settlement_figure_tenant_cell ON settlement_figure (tenant_id, project_id, month, cost_type);
CREATE INDEX settlement_figure_tenant_month ON settlement_figure (tenant_id, month, project_id);
CREATE INDEX involvement_item_tenant_project ON involvement_item (tenant_id, project_id, stage, position);
CREATE INDEX involvement_item_tenant_due ON involvement_item (tenant_id, due_on) WHERE done_on IS NULL;

-- An approved settlement is final: corrections go into a later month as adjustments. The database
-- refuses any change to one, so no code path (or hand-written SQL) can rewrite a settled month.
CREATE FUNCTION settlement_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'approved' THEN
        RAISE EXCEPTION 'settlement % is approved and cannot change', OLD.id USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER settlement_final BEFORE UPDATE OR DELETE ON settlement
    FOR EACH ROW EXECUTE FUNCTION settlement_is_final();
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
                                           || ARRAY['settlements.read']::varchar[]) p ORDER BY p)
            WHERE builtin AND code = 'finance';
        UPDATE role SET permissions = ARRAY(SELECT DISTINCT p FROM unnest(permissions
                                           || ARRAY['settlements.read', 'settlements.prepare', 'settlements.confirm',
                                                    'settlements.manage']::varchar[]) p ORDER BY p)
            WHERE builtin AND code = 'tenant_admin';
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);
END $$;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="settlements", description=DESCRIPTION)

    async def run():
        await run_script(SQL + "".join(rls_sql(t) for t in TENANT_TABLES) + ROLES_SQL)

    manager.add_raw(run)
    return manager
