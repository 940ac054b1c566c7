"""Tenants as code: every file in tenants/ applies, re-applies without a change, loads demo users
only in demo mode; malformed files are refused naming the key path, and nothing is half applied.

The `client` fixture is requested so the app has started the database pool and Redis that
`apply_file` uses."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import tomllib
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from careclub.core.errors import ValidationFailed
from careclub.core.infra import Infra
from careclub.platform.tenant_file import apply_file, apply_text

ROOT = Path(__file__).resolve().parents[3]
TENANT_FILES = sorted((ROOT / "tenants").glob("*.toml"))
SLUGS = ["lanting-property", "haiyue-residential", "weiwei-distributors", "anbao-car-club", "plaza-tower-services",
         "tianren-car-club", "huafu-development", "jiayuan-services"]
DEMO_PASSWORD = "careclub-demo-2026"


def fresh_slug(prefix: str = "tf") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def with_slug(text: str, slug: str) -> str:
    """The same file for another tenant: only `[tenant] slug` changes (emails are per tenant)."""
    new, n = re.subn(r'(?m)^slug = "[^"]*"$', f'slug = "{slug}"', text, count=1)
    assert n == 1
    return new


async def token_status(client: Any, slug: str, email: str, password: str = DEMO_PASSWORD) -> int:
    r = await client.post("/api/v1/auth/token", json={"tenant": slug, "email": email, "password": password})
    return int(r.status_code)


async def as_tenant(owner: asyncpg.Connection, slug: str, sql: str) -> list[asyncpg.Record]:
    """Read a tenant's rows behind the app's back (RLS is forced even for the owner: bind it)."""
    tenant_id = await owner.fetchval("SELECT id FROM tenant WHERE slug = $1", slug)
    async with owner.transaction():
        await owner.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant_id))
        return await owner.fetch(sql)


async def emails_of(owner: asyncpg.Connection, slug: str) -> set[str]:
    return {r["email"] for r in await as_tenant(owner, slug, "SELECT email FROM app_user")}


def test_there_is_one_file_per_source_system() -> None:
    # The source documents' systems must all be there; tenants added later are welcome.
    assert set(SLUGS) <= {p.stem for p in TENANT_FILES}
    for path in TENANT_FILES:
        data = tomllib.loads(read(path))
        t = data["tenant"]
        assert t["slug"] == path.stem
        assert (t["currency"], t["timezone"], t["locale"]) == ("CNY", "Asia/Shanghai", "zh_CN")
        assert re.search(r"[\u4e00-\u9fff]", t["name"]), "the company name is Chinese"
        assert data["demo"]["password"] == DEMO_PASSWORD
        admin = [u for u in data["demo"]["users"] if u["email"] == f"admin@{path.stem}.example"]
        assert admin and admin[0].get("unit", "HQ") == "HQ" and admin[0]["roles"] == ["tenant_admin"]


# ---- every file applies, twice ------------------------------------------------------------

@pytest.mark.parametrize("path", TENANT_FILES, ids=lambda p: p.stem)
async def test_file_applies_then_reapplies_unchanged(client: Any, path: Path, tmp_path: Path) -> None:
    # A copy under a fresh slug, so the first apply is a real creation whatever ran before.
    slug = fresh_slug(path.stem[:20])
    copy = tmp_path / f"{slug}.toml"
    copy.write_text(with_slug(read(path), slug), encoding="utf-8")

    first = await apply_file(copy, demo=True)
    assert first.created and first.slug == slug
    assert first.changes and first.changes[0] == f"tenant {slug} created"
    assert f"{slug}: created" in first.summary()

    second = await apply_file(copy, demo=True)
    assert not second.created
    assert second.changes == []
    assert second.summary() == f"{slug}: unchanged (nothing to apply)"

    data = tomllib.loads(read(copy))
    for user in data["demo"]["users"]:
        assert await token_status(client, slug, user["email"]) == 200, user["email"]


@pytest.mark.parametrize("path", TENANT_FILES, ids=lambda p: p.stem)
async def test_the_real_file_is_idempotent(client: Any, path: Path) -> None:
    await apply_file(path, demo=True)  # creates it, or finds it as a scenario left it
    again = await apply_file(path, demo=True)
    assert again.changes == [], again.summary()
    assert "unchanged" in again.summary()
    assert await token_status(client, path.stem, f"admin@{path.stem}.example") == 200


async def test_without_demo_mode_demo_users_are_not_created(client: Any, owner: asyncpg.Connection,
                                                           tmp_path: Path) -> None:
    source = ROOT / "tenants" / "tianren-car-club.toml"
    slug = fresh_slug("nodemo")
    text = with_slug(read(source), slug)
    data = tomllib.loads(text)
    staff = {s["email"] for s in data["staff"]}
    demo = {u["email"] for u in data["demo"]["users"]}

    report = await apply_text(text, demo=False)
    assert report.created
    assert not any(c.startswith("demo user") for c in report.changes)
    emails = await emails_of(owner, slug)
    assert staff <= emails and not demo & emails
    assert await token_status(client, slug, f"admin@{slug}.example") == 401
    assert await token_status(client, slug, "admin@tianren-car-club.example") == 401

    # Turning demo mode on later adds the demo users and changes nothing of the platform part.
    # (Domain sections may add demo data of their own, such as demo cards.)
    with_demo = await apply_text(text, demo=True)
    assert {f"demo user {e} created" for e in demo} <= set(with_demo.changes)
    assert not any(c.startswith(("tenant ", "org unit ", "role ", "staff ")) for c in with_demo.changes)
    assert demo <= await emails_of(owner, slug)
    assert await token_status(client, slug, "admin@tianren-car-club.example") == 200
    assert (await apply_text(text, demo=False)).changes == []


# ---- malformed files ------------------------------------------------------------------------

BASE = """\
[tenant]
slug = "{slug}"
name = "测试物业"

[[org_units]]
code = "R1"
name = "一区"
kind = "region"

[[org_units]]
code = "P1"
name = "一期"
parent = "R1"

[[roles]]
code = "reviewer"
name = "审核人"
permissions = ["approvals.decide"]

[[staff]]
email = "a@x.example"
name = "甲"
unit = "P1"
roles = ["reviewer"]

[demo]
password = "careclub-demo-2026"

[[demo.users]]
email = "admin@x.example"
name = "管理员"
roles = ["tenant_admin"]
"""

MALFORMED = {
    "unknown top-level key": (('name = "测试物业"', 'name = "测试物业"\n[colour]\nvalue = 1'), "colour"),
    "unknown nested key": (('code = "P1"\nname = "一期"', 'code = "P1"\nnme = "一期"'), "org_units[1].nme"),
    "unknown key in a demo user": (('name = "管理员"', 'name = "管理员"\npasword = "x"'), "demo.users[0].pasword"),
    "wrong type": (('name = "测试物业"', "name = 5"), "tenant.name"),
    "wrong type nested": (('kind = "region"', "kind = 3"), "org_units[0].kind"),
    "wrong type in a list": (('roles = ["reviewer"]', "roles = [7]"), "staff[0].roles[0]"),
    "missing key": (('name = "测试物业"\n', ""), "tenant.name"),
    "bad slug": (('slug = "{slug}"', 'slug = "Bad Slug"'), "tenant.slug"),
    "reserved slug": (('slug = "{slug}"', 'slug = "admin"'), "tenant.slug"),
    "parent not declared before": (('parent = "R1"', 'parent = "P2"'), "org_units[1].parent"),
    "unknown unit kind": (('kind = "region"', 'kind = "planet"'), "org_units[0].kind"),
    "duplicate unit code": (('code = "P1"', 'code = "R1"'), "org_units[1].code"),
    "unknown role in staff": (('roles = ["reviewer"]', 'roles = ["reviewr"]'), "staff[0].roles[0]"),
    "unknown permission": (('["approvals.decide"]', '["approvals.decide", "moon.land"]'), "roles[0].permissions"),
    "built-in role redefined": (('code = "reviewer"', 'code = "finance"'), "roles[0].code"),
    "duplicate email": (('email = "admin@x.example"', 'email = "A@x.example"'), "demo.users[0].email"),
    "bad email": (('email = "a@x.example"', 'email = "not-an-email"'), "staff[0].email"),
    "person at an unknown unit": (('unit = "P1"', 'unit = "P9"'), "staff[0].unit"),
    "bad timezone": (('name = "测试物业"', 'name = "测试物业"\ntimezone = "Mars/Olympus"'), "tenant.timezone"),
    "bad currency": (('name = "测试物业"', 'name = "测试物业"\ncurrency = "yuan"'), "tenant.currency"),
    "weak demo password": (('password = "careclub-demo-2026"', 'password = "short"'), "demo.password"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
async def test_malformed_file_is_refused_with_the_key_path(client: Any, owner: asyncpg.Connection, tmp_path: Path,
                                                           case: str) -> None:
    slug = fresh_slug("bad")
    (old, new), path = MALFORMED[case]
    text = BASE.replace("{slug}", slug)
    old = old.replace("{slug}", slug)
    assert old in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")

    with pytest.raises(ValidationFailed) as caught:
        await apply_file(bad, demo=True)
    err = caught.value
    assert err.code == "tenant_file_invalid"
    assert err.field == path
    assert f"`{path}`" in err.message, err.message
    assert str(bad) in err.message
    assert await owner.fetchval("SELECT count(*) FROM tenant WHERE slug = $1", slug) == 0


async def test_invalid_toml_is_refused(client: Any, tmp_path: Path) -> None:
    bad = tmp_path / "broken.toml"
    bad.write_text('[tenant]\nslug = "x-y-z"\nname = "未闭合\n', encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        await apply_file(bad, demo=True)
    assert caught.value.code == "tenant_file_invalid"
    assert "not valid TOML" in caught.value.message and "line 3" in caught.value.message


async def test_missing_file_is_refused(client: Any, tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await apply_file(tmp_path / "nope.toml", demo=True)
    assert caught.value.code == "tenant_file_invalid"
    assert "cannot read" in caught.value.message


# ---- nothing half applied -----------------------------------------------------------------

async def test_a_failure_while_applying_leaves_the_tenant_as_it_was(client: Any, owner: asyncpg.Connection) -> None:
    slug = fresh_slug("atomic")
    text = BASE.replace("{slug}", slug)
    assert (await apply_text(text, demo=True)).created

    async def snapshot() -> dict[str, Any]:
        async def rows(sql: str) -> list[tuple[Any, ...]]:
            return sorted(tuple(r) for r in await as_tenant(owner, slug, sql))

        return {
            "name": await owner.fetchval("SELECT name FROM tenant WHERE slug = $1", slug),
            "units": await rows("SELECT code, name, kind, parent::text FROM org_unit"),
            "roles": await rows("SELECT code, name, permissions FROM role"),
            "users": await rows("SELECT email, display_name FROM app_user"),
            "grants": await rows('SELECT "user"::text, role::text, org_unit::text FROM role_grant'),
            "audit": await rows("SELECT count(*) FROM audit_entry"),
        }

    before = await snapshot()
    # Valid on paper, refused while applying: P1 moves from R1 to HQ. Everything before that
    # point in the file (a new name, a new unit, a new role) must not be written either.
    changed = (text.replace('name = "测试物业"', 'name = "改名物业"')
               .replace('[[org_units]]\ncode = "R1"', '[[org_units]]\ncode = "NEW"\nname = "新单位"\n\n'
                        '[[org_units]]\ncode = "R1"', 1)
               .replace('parent = "R1"', 'parent = "HQ"')
               .replace('[[staff]]', '[[roles]]\ncode = "extra"\nname = "额外"\npermissions = []\n\n[[staff]]', 1))
    with pytest.raises(ValidationFailed) as caught:
        await apply_text(changed, demo=True)
    assert caught.value.code == "tenant_file_invalid"
    assert caught.value.field == "org_units[2].parent"
    assert await snapshot() == before
    assert before["name"] == "测试物业"

    r = await client.post("/api/v1/auth/token", json={"tenant": slug, "email": "admin@x.example",
                                                      "password": DEMO_PASSWORD})
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['token']}"})
    assert me.json()["tenant"]["name"] == "测试物业"
    assert (await apply_text(text, demo=True)).changes == []


async def test_changes_to_an_applied_file_are_reported_and_applied(client: Any, owner: asyncpg.Connection) -> None:
    slug = fresh_slug("update")
    text = BASE.replace("{slug}", slug)
    await apply_text(text, demo=True)
    changed = (text.replace('name = "测试物业"', 'name = "改名物业"')
               .replace('name = "一期"', 'name = "一期(东)"')
               .replace('permissions = ["approvals.decide"]', 'permissions = ["approvals.decide", "finance.read"]')
               .replace('roles = ["reviewer"]', 'roles = ["reviewer", { role = "approver", unit = "R1" }]'))
    report = await apply_text(changed, demo=True)
    assert not report.created
    assert report.changes == [
        "tenant identity updated: name",
        "org unit P1 updated",
        "role reviewer updated",
        "staff a@x.example granted approver at R1",
    ]
    assert await owner.fetchval("SELECT name FROM tenant WHERE slug = $1", slug) == "改名物业"
    assert (await apply_text(changed, demo=True)).changes == []


# ---- the command ------------------------------------------------------------------------------

async def test_cli_refuses_a_bad_file_with_exit_2_and_the_key_path(client: Any, infra: Infra, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(BASE.replace("{slug}", fresh_slug("cli")).replace('code = "P1"\nname = "一期"',
                                                                      'code = "P1"\nnme = "一期"'), encoding="utf-8")
    env = {**os.environ, "DATABASE_URL": infra.app_dsn, "DATABASE_OWNER_URL": infra.owner_dsn,
           "REDIS_URL": infra.redis_url, "LOG_LEVEL": "WARNING"}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "careclub.cli", "tenant", "apply", str(bad),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                env=env, cwd=str(tmp_path))
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 2, (out, err)
    assert "org_units[1].nme" in err.decode()
    assert "unknown key" in err.decode()
