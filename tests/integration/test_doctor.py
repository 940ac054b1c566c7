"""`careclub doctor` on a healthy database, and on a throwaway one we break on purpose."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from careclub.core.doctor import _engine_on, run_doctor, stripe_mode
from careclub.core.infra import Infra, dsn_with, resolve
from careclub.core.migrate import migrate
from careclub.settings import Settings


def _admin_dsn(settings: Settings, infra: Infra) -> str:
    return settings.database_url or infra.handles[0].get_uri()


@pytest.fixture
async def broken_db(settings: Settings, infra: Infra) -> AsyncIterator[str]:
    """A database of its own, migrated as the owner; the test may break it."""
    name = f"careclub_doctor_{uuid.uuid4().hex[:8]}"
    scratch = await resolve(settings, database=name)
    with _engine_on(scratch.owner_dsn):  # keep the shared test pool out of this
        await migrate(scratch.owner_dsn, scratch.app_dsn)
    yield name
    conn = await asyncpg.connect(dsn_with(_admin_dsn(settings, infra), database="postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def test_doctor_passes_on_the_test_database(settings: Settings, infra: Infra, capsys: Any) -> None:
    code = await run_doctor(settings, database=infra.database_name)
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"database         {infra.database_name}" in out
    assert "careclub_app" in out and "careclub_owner" in out
    assert "FAIL" not in out
    for name in ("database", "migrations", "rls org_unit", "rls audit_entry", "app role careclub_app", "redis"):
        assert f"ok    {name}:" in out, name
    assert "all " in out and "checks passed" in out


async def test_doctor_never_prints_passwords(settings: Settings, infra: Infra, capsys: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # resolve() reads these; the roles in the test database have no password, so a wrong one
    # must still never be echoed (the connection check fails instead, which is the point).
    monkeypatch.setenv("CARECLUB_APP_PASSWORD", "s3cret-app-pass")
    monkeypatch.setenv("CARECLUB_OWNER_PASSWORD", "s3cret-owner-pass")
    with_redis_password = dataclasses.replace(settings, redis_url="redis://:s3cret-redis@127.0.0.1:1/0")
    assert await run_doctor(with_redis_password, database=infra.database_name) != 0
    out = capsys.readouterr().out
    assert "s3cret" not in out
    assert "careclub_app:***@" in out and "careclub_owner:***@" in out and "redis://:***@" in out


async def test_doctor_fails_naming_the_table_without_forced_rls(settings: Settings, infra: Infra, broken_db: str,
                                                                capsys: Any) -> None:
    await run_doctor(settings, database=broken_db)
    before = capsys.readouterr().out
    assert "ok    rls org_unit:" in before and "ok    rls invite:" in before, before
    scratch = await resolve(settings, database=broken_db, provision_roles=False)
    conn = await asyncpg.connect(scratch.owner_dsn)
    try:
        await conn.execute("ALTER TABLE org_unit NO FORCE ROW LEVEL SECURITY")
        await conn.execute("ALTER TABLE invite DISABLE ROW LEVEL SECURITY")
    finally:
        await conn.close()
    code = await run_doctor(settings, database=broken_db)
    out = capsys.readouterr().out
    assert code != 0
    assert "FAIL  rls org_unit: row-level security not forced" in out
    assert "FAIL  rls invite: row-level security not enabled" in out
    assert "ok    rls app_user:" in out
    summary = out.strip().splitlines()[-1]
    assert "rls invite" in summary and "rls org_unit" in summary and "rls app_user" not in summary


async def test_doctor_fails_on_a_missing_policy_and_an_unsafe_app_role(settings: Settings, infra: Infra,
                                                                       broken_db: str, capsys: Any) -> None:
    scratch = await resolve(settings, database=broken_db, provision_roles=False)
    conn = await asyncpg.connect(scratch.owner_dsn)
    try:
        await conn.execute("DROP POLICY tenant_isolation ON role_grant")
        await conn.execute("CREATE POLICY read_only ON role_grant FOR SELECT USING (tenant_id = app_current_tenant())")
    finally:
        await conn.close()
    # A superuser hands a table to the app role: exactly what must never happen.
    admin = await asyncpg.connect(dsn_with(_admin_dsn(settings, infra), database=broken_db))
    try:
        await admin.execute("CREATE TABLE doctor_stray (x int)")
        await admin.execute("ALTER TABLE doctor_stray OWNER TO careclub_app")
    finally:
        await admin.close()
    code = await run_doctor(settings, database=broken_db)
    out = capsys.readouterr().out
    assert code != 0
    assert "FAIL  rls role_grant: no policy with both USING and WITH CHECK" in out
    assert "FAIL  app role careclub_app: owns 1 table(s): public.doctor_stray" in out


async def test_doctor_fails_on_pending_migrations_and_unreachable_redis(settings: Settings, infra: Infra,
                                                                       broken_db: str, capsys: Any) -> None:
    scratch = await resolve(settings, database=broken_db, provision_roles=False)
    conn = await asyncpg.connect(scratch.owner_dsn)
    try:
        await conn.execute("DELETE FROM migration WHERE app_name = 'platform'")
    finally:
        await conn.close()
    # Port 1 on loopback: nothing listens there.
    broken = dataclasses.replace(settings, redis_url="redis://127.0.0.1:1/0")
    code = await run_doctor(broken, database=broken_db)
    out = capsys.readouterr().out
    assert code != 0
    assert "FAIL  migrations:" in out and "pending" in out
    assert "FAIL  redis: unreachable" in out


def test_stripe_mode() -> None:
    assert stripe_mode("").startswith("sandbox")
    assert stripe_mode("sk_live_abc") == "live"
    assert stripe_mode("rk_test_abc") == "test"
    assert stripe_mode("pk_test_abc").startswith("unrecognised")


async def test_doctor_fails_naming_the_database_when_it_cannot_connect(settings: Settings, infra: Infra,
                                                                       capsys: Any) -> None:
    nowhere = dataclasses.replace(settings, database_url="postgresql://postgres@127.0.0.1:1/careclub",
                                  database_owner_url=None)
    assert await run_doctor(nowhere) != 0
    out = capsys.readouterr().out
    assert "FAIL  database: cannot connect as careclub_app" in out
    assert out.strip().splitlines()[-1] == "doctor: 1 check(s) failed: database"
