"""Shared steps of the per-tenant scenarios: apply a `tenants/<slug>.toml` in demo mode, sign in
as its people through the API, and check that what the file declares is what the API shows.

Each `tests/scenarios/test_<slug>.py` builds a `Scenario` once per module and adds the tenant's
own flows (care fund, approvals, club check-ins …) on top of it in later issues.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from careclub.platform.tenant_file import ApplyReport, apply_file

TENANTS_DIR = Path(__file__).resolve().parents[2] / "tenants"


def tenant_path(slug: str) -> Path:
    return TENANTS_DIR / f"{slug}.toml"


def load_tenant_file(slug: str) -> dict[str, Any]:
    return tomllib.loads(tenant_path(slug).read_text(encoding="utf-8"))


def grants_of(person: dict[str, Any]) -> set[tuple[str, str]]:
    """(role code, unit code) pairs a person of the file holds; a bare role is held at his unit."""
    unit = person.get("unit", "HQ")
    pairs = set()
    for g in person.get("roles", []):
        pairs.add((g, unit) if isinstance(g, str) else (g["role"], g.get("unit") or unit))
    return pairs


async def sign_in(client: Any, slug: str, email: str, password: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/token", json={"tenant": slug, "email": email, "password": password})
    assert r.status_code == 200, (email, r.text)
    return {"Authorization": f"Bearer {r.json()['token']}"}


@dataclass
class Scenario:
    """A tenant file applied in demo mode, with every demo user signed in."""

    slug: str
    data: dict[str, Any]
    report: ApplyReport
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    """Bearer headers per demo user's email."""

    @property
    def admin_email(self) -> str:
        return f"admin@{self.slug}.example"

    @property
    def admin(self) -> dict[str, str]:
        return self.headers[self.admin_email]

    def as_(self, email: str) -> dict[str, str]:
        return self.headers[email]

    @property
    def demo_users(self) -> list[dict[str, Any]]:
        return list(self.data["demo"]["users"])

    @property
    def people(self) -> list[dict[str, Any]]:
        return list(self.data.get("staff", [])) + self.demo_users

    async def unit_ids(self, client: Any) -> dict[str, str]:
        """Org unit code -> id, as the admin sees them."""
        r = await client.get("/api/v1/org-units", params={"limit": 200}, headers=self.admin)
        assert r.status_code == 200, r.text
        return {u["code"]: u["id"] for u in r.json()["items"]}


async def open_scenario(client: Any, slug: str) -> Scenario:
    """Apply the tenant file in demo mode (idempotent: other tests may have applied it already)
    and sign in every demo user with the file's demo password."""
    data = load_tenant_file(slug)
    report = await apply_file(tenant_path(slug), demo=True)
    scenario = Scenario(slug=slug, data=data, report=report)
    password = data["demo"]["password"]
    for person in scenario.demo_users:
        scenario.headers[person["email"]] = await sign_in(client, slug, person["email"], password)
    return scenario


# ---- the platform checks every scenario runs ------------------------------------------------


async def check_admin_identity(client: Any, s: Scenario) -> None:
    me = await client.get("/api/v1/me", headers=s.admin)
    assert me.status_code == 200, me.text
    body = me.json()
    t = s.data["tenant"]
    assert body["tenant"]["slug"] == s.slug
    assert body["tenant"]["name"] == t["name"]
    assert body["tenant"]["currency"] == t.get("currency", "CNY") == "CNY"
    assert body["tenant"]["timezone"] == t.get("timezone", "Asia/Shanghai") == "Asia/Shanghai"
    assert t.get("locale", "zh_CN") == "zh_CN"
    assert body["user"]["email"] == s.admin_email
    assert "tenant_admin" in body["roles"]


async def check_org_units(client: Any, s: Scenario) -> None:
    """Every unit of the file, with its name, kind and parent, and nothing else besides HQ."""
    r = await client.get("/api/v1/org-units", params={"limit": 200}, headers=s.admin)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    by_id = {u["id"]: u for u in items}
    seen = {u["code"]: (u["name"], u["kind"], by_id[u["parent"]]["code"] if u["parent"] else None) for u in items}
    wanted = {
        u["code"]: (u["name"], u.get("kind", "project"), u.get("parent", "HQ")) for u in s.data.get("org_units", [])
    }
    wanted["HQ"] = (s.data["tenant"]["name"], "company", None)
    assert seen == wanted


async def check_people(client: Any, s: Scenario) -> None:
    """Each demo user signs in and `/me` shows the roles the file gives him; every person of the
    file (staff and demo) holds exactly those roles at exactly those units."""
    for person in s.demo_users:
        me = await client.get("/api/v1/me", headers=s.as_(person["email"]))
        assert me.status_code == 200, me.text
        body = me.json()
        assert body["user"]["email"] == person["email"]
        assert body["user"]["display_name"] == person["name"]
        assert body["user"]["kind"] == person.get("kind", "staff")
        assert body["tenant"]["slug"] == s.slug
        assert set(body["roles"]) == {role for role, _ in grants_of(person)}, person["email"]
    codes_by_id = {v: k for k, v in (await s.unit_ids(client)).items()}
    for person in s.people:
        r = await client.get("/api/v1/staff", params={"q": person["email"]}, headers=s.admin)
        assert r.status_code == 200, r.text
        [row] = [p for p in r.json()["items"] if p["email"] == person["email"]]
        assert codes_by_id[row["org_unit"]] == person.get("unit", "HQ"), person["email"]
        detail = await client.get(f"/api/v1/staff/{row['id']}", headers=s.admin)
        assert detail.status_code == 200, detail.text
        held = {(g["role.code"], codes_by_id[g["org_unit"]]) for g in detail.json()["roles"]}
        assert held == grants_of(person), person["email"]


async def check_platform_part(client: Any, s: Scenario) -> None:
    await check_admin_identity(client, s)
    await check_org_units(client, s)
    await check_people(client, s)


async def visible_unit_codes(client: Any, headers: dict[str, str]) -> set[str] | int:
    """The org unit codes someone may read, or the status code when he may read none."""
    r = await client.get("/api/v1/org-units", params={"limit": 200}, headers=headers)
    if r.status_code != 200:
        return int(r.status_code)
    return {u["code"] for u in r.json()["items"]}
