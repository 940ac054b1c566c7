"""Row-level security on every tenant table, found through the TenantTable base class.

Runs as the application's own database role (the one the app serves with), so it proves what
production enforces, not what the test harness happens to allow."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from careclub.core.db import DB, NoTenantContext, TenantTable, tenant_tables
from careclub.core.infra import Infra
from careclub.core.migrate import APPEND_ONLY
from careclub.platform.tables import AuditEntry, OrgUnit
from tests.conftest import signup

PLATFORM_TABLES = {"org_unit", "app_user", "role", "role_grant", "api_token", "invite", "audit_entry"}


def table_names() -> list[str]:
    return sorted(t._meta.tablename for t in tenant_tables())


async def _as_app(infra: Infra) -> asyncpg.Connection:
    return await asyncpg.connect(infra.app_dsn)


@pytest.fixture
async def two_tenants(client: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    a, b = await signup(client), await signup(client)
    for t in (a, b):  # an invite and a second token, so every platform table has rows in both
        me = (await client.get("/api/v1/me", headers=t["headers"])).json()
        units = (await client.get("/api/v1/org-units", headers=t["headers"])).json()["items"]
        r = await client.post(
            "/api/v1/invites",
            headers=t["headers"],
            json={"email": f"new@{t['slug']}.test", "role": "approver", "org_unit": units[0]["id"]},
        )
        assert r.status_code == 201, r.text
        assert me["tenant"]["id"] == t["tenant_id"]
    return a, b


def test_every_tenant_table_is_discovered() -> None:
    names = table_names()
    assert PLATFORM_TABLES <= set(names)
    assert all(issubclass(t, TenantTable) for t in tenant_tables())


async def test_rls_enabled_forced_with_both_clauses_on_every_tenant_table(owner: asyncpg.Connection) -> None:
    for name in table_names():
        row = await owner.fetchrow(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = $1 AND relkind IN ('r', 'p')",
            name,
        )
        assert row is not None, name
        assert row["relrowsecurity"] and row["relforcerowsecurity"], f"{name}: RLS not enabled and forced"
        policies = await owner.fetch("SELECT qual, with_check, cmd FROM pg_policies WHERE tablename = $1", name)
        assert any(p["qual"] and p["with_check"] and p["cmd"] == "ALL" for p in policies), (
            f"{name}: needs one policy for ALL commands with USING and WITH CHECK"
        )
        # An index leading with (tenant_id, id): its own, or (the partitioned check-ins) the primary key
        # (tenant_id, id, created_at).
        idx = await owner.fetch("SELECT indexdef FROM pg_indexes WHERE tablename = $1", name)
        assert any("(tenant_id, id)" in i["indexdef"] or "(tenant_id, id, " in i["indexdef"] for i in idx), (
            f"{name}: missing an index leading with (tenant_id, id)")


async def test_tenant_first_in_every_unique_index(owner: asyncpg.Connection) -> None:
    for name in table_names():
        for i in await owner.fetch("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1", name):
            if "UNIQUE" in i["indexdef"] and not i["indexname"].endswith("_pkey"):
                assert "(tenant_id" in i["indexdef"], f"{name}: unique index not tenant-first: {i['indexdef']}"


async def test_no_tenant_reads_or_changes_anothers_rows(infra: Infra, two_tenants: Any) -> None:
    a, b = two_tenants
    conn = await _as_app(infra)
    try:
        for name in table_names():
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", b["tenant_id"])
                own_b = await conn.fetchval(f"SELECT count(*) FROM {name}")
            if name in PLATFORM_TABLES:
                assert own_b > 0, f"{name}: tenant B should have rows for this test to mean something"
            tx = conn.transaction()
            await tx.start()
            try:
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", a["tenant_id"])
                seen = await conn.fetchval(
                    f"SELECT count(*) FROM {name} WHERE tenant_id = $1", uuid.UUID(b["tenant_id"])
                )
                assert seen == 0, f"{name}: A sees B's rows"
                if name not in APPEND_ONLY:  # append-only: the app role may not even try
                    updated = await conn.execute(
                        f"UPDATE {name} SET tenant_id = tenant_id WHERE tenant_id = $1", uuid.UUID(b["tenant_id"])
                    )
                    assert updated == "UPDATE 0", f"{name}: A updated B's rows"
                    deleted = await conn.execute(f"DELETE FROM {name} WHERE tenant_id = $1", uuid.UUID(b["tenant_id"]))
                    assert deleted == "DELETE 0", f"{name}: A deleted B's rows"
                with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
                    await conn.execute(
                        f"INSERT INTO {name} (id, tenant_id) VALUES ($1, $2)", uuid.uuid4(), uuid.UUID(b["tenant_id"])
                    )
            finally:
                await tx.rollback()
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", b["tenant_id"])
                assert await conn.fetchval(f"SELECT count(*) FROM {name}") == own_b, f"{name}: B's rows changed"
    finally:
        await conn.close()


async def test_moving_a_row_to_another_tenant_is_refused(infra: Infra, two_tenants: Any) -> None:
    a, b = two_tenants
    conn = await _as_app(infra)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", a["tenant_id"])
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
                await conn.execute("UPDATE org_unit SET tenant_id = $1", uuid.UUID(b["tenant_id"]))
    finally:
        await conn.close()


async def test_access_without_a_tenant_raises(infra: Infra, two_tenants: Any) -> None:
    conn = await _as_app(infra)
    try:
        for name in table_names():
            with pytest.raises(asyncpg.PostgresError, match="no tenant in context"):
                await conn.fetchval(f"SELECT count(*) FROM {name}")
    finally:
        await conn.close()


async def test_the_policy_function_is_inlined_and_still_fails_closed(infra: Infra, two_tenants: Any) -> None:
    """`app_current_tenant()` is plain SQL so that the planner inlines it into each policy (a comparison per row,
    not a function call per row): the plan shows the setting read in place. Missing, empty or not a company id,
    the setting still makes every query fail; set, a company sees its own rows only."""
    a, _b = two_tenants
    conn = await _as_app(infra)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", a["tenant_id"])
            plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN SELECT count(*) FROM audit_entry"))
            assert "current_setting('app.tenant_id'" in plan and "app_current_tenant" not in plan, plan
            mine = {r["tenant_id"] for r in await conn.fetch("SELECT DISTINCT tenant_id FROM org_unit")}
            assert mine == {uuid.UUID(a["tenant_id"])}
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', '', true)")
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="no tenant in context"):
                await conn.fetchval("SELECT count(*) FROM org_unit")
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', 'not-a-company', true)")
            with pytest.raises(asyncpg.InvalidTextRepresentationError):
                await conn.fetchval("SELECT count(*) FROM org_unit")
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="no tenant in context"):
            await conn.fetchval("SELECT app_current_tenant()")
    finally:
        await conn.close()


async def test_application_code_without_a_tenant_raises(client: Any, two_tenants: Any) -> None:
    # `client` has started the app, so Piccolo's pool is the app role's.
    assert DB.pool is not None
    with pytest.raises(NoTenantContext):
        OrgUnit(code="X", name="X", kind="project", path="/x/")
    with pytest.raises(asyncpg.PostgresError, match="no tenant in context"):
        await AuditEntry.select().limit(1)


async def test_app_role_is_safe(owner: asyncpg.Connection, infra: Infra) -> None:
    from careclub.core.infra import dsn_user

    app_role = dsn_user(infra.app_dsn)
    role = await owner.fetchrow(
        "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = $1", app_role
    )
    assert role is not None
    assert not role["rolsuper"] and not role["rolbypassrls"] and not role["rolcreaterole"] and not role["rolcreatedb"]
    owned = await owner.fetchval("SELECT count(*) FROM pg_tables WHERE tableowner = $1", app_role)
    assert owned == 0
    assert (
        await owner.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner <> $1", "careclub_owner"
        )
        == 0
    )


async def test_audit_log_is_append_only_for_the_app_role(infra: Infra, two_tenants: Any) -> None:
    a, _b = two_tenants
    conn = await _as_app(infra)
    try:
        for sql in ("UPDATE audit_entry SET action = 'x'", "DELETE FROM audit_entry", "TRUNCATE audit_entry"):
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", a["tenant_id"])
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute(sql)
    finally:
        await conn.close()


async def test_api_ids_of_another_tenant_answer_404(client: Any, two_tenants: Any) -> None:
    a, b = two_tenants
    b_units = (await client.get("/api/v1/org-units", headers=b["headers"])).json()["items"]
    b_people = (await client.get("/api/v1/staff", headers=b["headers"])).json()["items"]
    b_roles = (await client.get("/api/v1/roles", headers=b["headers"])).json()
    missing = str(uuid.uuid4())
    for path in (
        f"/api/v1/org-units/{b_units[0]['id']}",
        f"/api/v1/staff/{b_people[0]['id']}",
        f"/api/v1/roles/{b_roles[0]['id']}",
    ):
        theirs = await client.get(path, headers=a["headers"])
        nothing = await client.get(path.rsplit("/", 1)[0] + "/" + missing, headers=a["headers"])
        assert theirs.status_code == nothing.status_code == 404, path
        assert theirs.json()["error"]["code"] == nothing.json()["error"]["code"]
    r = await client.patch(f"/api/v1/org-units/{b_units[0]['id']}", headers=a["headers"], json={"name": "pwned"})
    assert r.status_code == 404
    r = await client.post(
        "/api/v1/org-units", headers=a["headers"], json={"code": "X1", "name": "x", "parent_id": b_units[0]["id"]}
    )
    assert r.status_code == 404
    lists = [await client.get(p, headers=a["headers"]) for p in ("/api/v1/staff", "/api/v1/org-units", "/api/v1/audit")]
    for r in lists:
        assert b["slug"] not in r.text and b["tenant_id"] not in r.text


async def test_pooled_connections_carry_no_tenant_between_requests(client: Any, two_tenants: Any) -> None:
    # The pool releases connections without asyncpg's reset query (core/db.py): the tenant must
    # still never outlive the request that bound it.
    a, b = two_tenants
    for t in (a, b, a):
        assert (await client.get("/api/v1/me", headers=t["headers"])).status_code == 200
    assert DB.pool is not None
    held = [await DB.pool.acquire() for _ in range(DB.pool.get_size())]
    try:
        for conn in held:
            assert await conn.fetchval("SELECT current_setting('app.tenant_id', true)") in (None, "")
            with pytest.raises(asyncpg.PostgresError, match="no tenant in context"):
                await conn.fetchval("SELECT count(*) FROM org_unit")
    finally:
        for conn in held:
            await DB.pool.release(conn)
