"""Row-level security and tenant-first indexes for the platform tables (raw SQL: Piccolo has no
policies, no composite unique constraints)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import rls_sql, run_script

ID = "2026-11-23T01:40:45:000000"
VERSION = "1.38.0"
DESCRIPTION = "platform row-level security"

TENANT_TABLES = ["org_unit", "app_user", "role", "role_grant", "api_token", "invite", "audit_entry"]

SQL = """
-- The tenant registry: anyone may look a slug up (sign-in) or add a row (sign-up), but only the
-- tenant in context may change or remove its own row.
ALTER TABLE tenant ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON tenant FOR SELECT USING (true);
CREATE POLICY tenant_insert ON tenant FOR INSERT WITH CHECK (true);
CREATE POLICY tenant_update ON tenant FOR UPDATE
    USING (id = app_current_tenant()) WITH CHECK (id = app_current_tenant());
CREATE POLICY tenant_delete ON tenant FOR DELETE USING (id = app_current_tenant());

CREATE UNIQUE INDEX org_unit_tenant_code ON org_unit (tenant_id, code);
CREATE INDEX org_unit_tenant_path ON org_unit (tenant_id, path text_pattern_ops);
CREATE UNIQUE INDEX app_user_tenant_email ON app_user (tenant_id, lower(email));
CREATE INDEX app_user_tenant_unit ON app_user (tenant_id, org_unit);
CREATE UNIQUE INDEX role_tenant_code ON role (tenant_id, code);
CREATE UNIQUE INDEX role_grant_tenant_user_role_unit ON role_grant (tenant_id, "user", role, org_unit);
CREATE UNIQUE INDEX api_token_tenant_hash ON api_token (tenant_id, token_hash);
CREATE INDEX api_token_tenant_user ON api_token (tenant_id, "user");
CREATE UNIQUE INDEX invite_tenant_hash ON invite (tenant_id, token_hash);
CREATE INDEX audit_entry_tenant_time ON audit_entry (tenant_id, created_at DESC);
CREATE INDEX audit_entry_tenant_entity ON audit_entry (tenant_id, entity_type, entity_id);
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="platform", description=DESCRIPTION)

    async def run():
        await run_script(SQL + "".join(rls_sql(t) for t in TENANT_TABLES))

    manager.add_raw(run)
    return manager
