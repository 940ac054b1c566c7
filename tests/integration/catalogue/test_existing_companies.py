"""A company that signed up before the catalogue existed gets its permissions in its built-in roles when the
catalogue's migration runs, as a new company gets them at sign-up."""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path
from typing import Any

from careclub.core.db import fetch, tenant_scope
from careclub.platform.tables import Role
from tests.conftest import signup

MIGRATION = (Path(__file__).resolve().parents[3] / "migrations" / "catalogue"
             / "catalogue_2026_12_01t00_18_04_000000.py")


async def test_the_migration_adds_the_catalogue_permissions_to_existing_built_in_roles(client: Any) -> None:
    t = await signup(client)
    tenant = uuid.UUID(t["tenant_id"])
    async with tenant_scope(tenant):
        for code in ("cs_clerk", "tenant_admin"):
            row = await Role.select(Role.permissions).where(Role.code == code).first()
            assert row is not None
            await Role.update({Role.permissions: [p for p in row["permissions"] if not p.startswith("catalogue.")]}
                              ).where(Role.code == code)
    spec = importlib.util.spec_from_file_location("catalogue_roles_migration", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    async with tenant_scope(tenant):
        await fetch(module.ROLES_SQL)
    async with tenant_scope(tenant):
        roles = {r["code"]: set(r["permissions"]) for r in await Role.select(Role.code, Role.permissions)}
    assert "catalogue.read" in roles["cs_clerk"] and "catalogue.manage" not in roles["cs_clerk"]
    assert {"catalogue.read", "catalogue.manage"} <= roles["tenant_admin"]
    assert "catalogue.read" not in roles["member"]
