"""One round trip from a credential to the caller: bind the transaction to the tenant and
return the user with their role grants (raw SQL: a plpgsql function)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from careclub.core.db import run_script

ID = "2026-11-23T02:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "resolve a credential in one round trip"

# SECURITY INVOKER (the default): the function runs as the app role, so after set_config every
# row it reads is still filtered by the tenant policies.
SQL = """
CREATE OR REPLACE FUNCTION app_resolve_principal(p_tenant uuid, p_token_hash text, p_user uuid)
RETURNS TABLE (id uuid, email text, display_name text, kind text, locale text, is_active boolean,
               token_id uuid, expires_at timestamptz, revoked_at timestamptz, grants json)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
    RETURN QUERY
    SELECT u.id, u.email::text, u.display_name::text, u.kind::text, u.locale::text, u.is_active,
           t.id, t.expires_at, t.revoked_at,
           coalesce(json_agg(json_build_array(r.code, r.permissions, o.path)) FILTER (WHERE g.id IS NOT NULL),
                    '[]'::json)
    FROM app_user u
    LEFT JOIN api_token t ON p_token_hash IS NOT NULL AND t."user" = u.id AND t.token_hash = p_token_hash
    LEFT JOIN role_grant g ON g."user" = u.id
    LEFT JOIN role r ON r.id = g.role
    LEFT JOIN org_unit o ON o.id = g.org_unit
    WHERE (p_token_hash IS NULL AND u.id = p_user)
       OR (p_token_hash IS NOT NULL AND u.id = (SELECT t2."user" FROM api_token t2 WHERE t2.token_hash = p_token_hash))
    GROUP BY u.id, t.id;
END
$$;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="platform", description=DESCRIPTION)

    async def run():
        await run_script(SQL)

    manager.add_raw(run)
    return manager
