"""A property company for the catalogue tests, written as a tenant file (so the `[catalogue]` section is
exercised too): two projects, a customer-service desk and engineering in the first, a general manager who
approves fee standards, a site manager who designs them, a clerk, a cashier, two residents of two units and
a resident of the other project; a subcontractor; published services of every fee basis."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from careclub.core.db import tenant_scope
from careclub.platform import service as platform_service
from careclub.platform.tables import User
from careclub.platform.tenant_file import apply_text
from tests.conftest import unique_slug

WORLD = """
[tenant]
slug = "{slug}"
name = "Jia Yuan"
currency = "CNY"
timezone = "Asia/Shanghai"
locale = "en"

[[org_units]]
code = "FIN"
name = "Finance"
kind = "department"

[[org_units]]
code = "P1"
name = "Garden One"
kind = "project"

[[org_units]]
code = "P1-CS"
name = "Desk"
kind = "department"
parent = "P1"

[[org_units]]
code = "P1-ENG"
name = "Engineering"
kind = "department"
parent = "P1"

[[org_units]]
code = "P2"
name = "Garden Two"
kind = "project"

[[roles]]
code = "general_manager"
name = "General manager"
permissions = ["dashboard.view", "approvals.decide"]

[[roles]]
code = "site_manager"
name = "Site manager"
permissions = ["dashboard.view", "catalogue.read", "catalogue.manage", "tickets.handle", "tickets.dispatch"]

[[staff]]
email = "gm@{slug}.test"
name = "Guo GM"
unit = "HQ"
roles = ["general_manager"]

[[staff]]
email = "site@{slug}.test"
name = "Luo Site"
unit = "P1"
roles = ["site_manager"]

[[staff]]
email = "site2@{slug}.test"
name = "Liang Site"
unit = "P2"
roles = ["site_manager"]

[[staff]]
email = "clerk@{slug}.test"
name = "Tang Clerk"
unit = "P1-CS"
roles = [{{ role = "cs_clerk", unit = "P1" }}]

[[staff]]
email = "eng@{slug}.test"
name = "Deng Engineer"
unit = "P1-ENG"
roles = ["cs_clerk"]

[[staff]]
email = "cashier@{slug}.test"
name = "Cao Cashier"
unit = "FIN"
roles = [{{ role = "finance", unit = "P1" }}]

[[staff]]
email = "res@{slug}.test"
name = "Lin Resident"
unit = "P1"
kind = "member"
roles = ["member"]

[[staff]]
email = "neighbour@{slug}.test"
name = "Neighbour"
unit = "P1"
kind = "member"
roles = ["member"]

[[staff]]
email = "far@{slug}.test"
name = "Far Resident"
unit = "P2"
kind = "member"
roles = ["member"]

[[approvals.policies]]
subject_type = "service_item"
name = "Paid services"

[[approvals.policies.rules]]
name = "all"

[[approvals.policies.rules.steps]]
kind = "single"
name = "The general manager approves"
approvers = [{{ role = "general_manager", at = "company" }}]

[[tickets.buildings]]
project = "P1"
code = "A"
name = "Block A"

[[tickets.buildings]]
project = "P2"
code = "B"
name = "Block B"

[[tickets.units]]
project = "P1"
building = "A"
code = "101"

[[tickets.units]]
project = "P1"
building = "A"
code = "102"

[[tickets.units]]
project = "P2"
building = "B"
code = "201"

[[tickets.people]]
name = "Lin"
phone = "13900000101"
account = "res@{slug}.test"
units = [{{ unit = "A-101", project = "P1", role = "owner" }}]

[[tickets.people]]
name = "Neighbour"
phone = "13900000102"
account = "neighbour@{slug}.test"
units = [{{ unit = "A-102", project = "P1", role = "owner" }}]

[[tickets.people]]
name = "Far"
phone = "13900000201"
account = "far@{slug}.test"
units = [{{ unit = "B-201", project = "P2", role = "owner" }}]

[[catalogue.subcontractors]]
code = "MOVE"
name = "Swift Movers"
services = "moving, pick-ups"
contact_phone = "02100000000"

[[catalogue.items]]
code = "CLEAN"
name = "Deep cleaning"
category = "cleaning"
project = "P1"
department = "P1-CS"
fee_basis = "per_m2"
fee = "5.00"
prepay_kind = "prepayment"
prepay = "500.00"

[[catalogue.items]]
code = "WASH"
name = "Car wash"
category = "car_wash"
department = "P1-CS"
fee = "30.00"
daily_capacity = 3

[[catalogue.items]]
code = "FIX"
name = "Appliance repair"
category = "repair"
project = "P1"
department = "P1-ENG"
fee_basis = "quoted"
fee_min = "50.00"
fee_max = "300.00"
prepay_kind = "deposit"
prepay = "100.00"

[[catalogue.items]]
code = "MOVE"
name = "Moving help"
category = "moving"
subcontractor = "MOVE"
fee_basis = "per_hour"
fee = "80.00"
"""

PEOPLE = ("gm", "site", "site2", "clerk", "eng", "cashier", "res", "neighbour", "far")


@dataclass
class World:
    slug: str
    tenant_id: uuid.UUID
    users: dict[str, uuid.UUID] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    items: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    org: dict[str, str] = field(default_factory=dict)

    def h(self, who: str) -> dict[str, str]:
        return self.headers[who]


async def make_world(client: httpx.AsyncClient) -> World:
    from careclub.catalogue.tables import ServiceItem
    from careclub.platform.tables import OrgUnit
    from careclub.tickets.tables import Building, PropertyUnit

    slug = unique_slug("cat")
    await apply_text(WORLD.format(slug=slug), demo=False)
    tenant = await platform_service.tenant_by_slug(slug)
    assert tenant is not None
    w = World(slug=slug, tenant_id=tenant.id)
    async with tenant_scope(tenant.id):
        for short in PEOPLE:
            row = await User.select(User.id).where(User.email == f"{short}@{slug}.test").first()
            assert row is not None
            w.users[short] = row["id"]
            token, _ = await platform_service.issue_token(row["id"], kind="login", hours=24 * 400)
            w.headers[short] = {"Authorization": f"Bearer {token}"}
        w.items = {r["code"]: str(r["id"]) for r in await ServiceItem.select(ServiceItem.id, ServiceItem.code)}
        w.org = {r["code"]: str(r["id"]) for r in await OrgUnit.select(OrgUnit.id, OrgUnit.code)}
        for u in await PropertyUnit.select(PropertyUnit.id, PropertyUnit.code, PropertyUnit.building.code):
            w.units[f"{u['building.code']}-{u['code']}"] = str(u["id"])
        assert await Building.count() == 2
    return w


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


async def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


async def book(client: httpx.AsyncClient, w: World, who: str, item: str, status: int = 201, **body: Any) -> Any:
    return await ok(await client.post("/api/v1/service-orders", headers=w.h(who),
                                      json={"item": w.items[item], **body}), status)


async def move(client: httpx.AsyncClient, w: World, who: str, ticket: str, to: str, status: int = 200,
               **body: Any) -> Any:
    return await ok(await client.post(f"/api/v1/tickets/{ticket}/transitions", headers=w.h(who),
                                      json={"to": to, **body}), status)


async def pay_offline(client: httpx.AsyncClient, w: World, kind: str, order_id: str, reference: str = "R-1",
                      status: int = 201) -> Any:
    return await ok(await client.post("/api/v1/payments/offline", headers=w.h("cashier"), json={
        "payable_kind": kind, "payable_id": order_id, "method": "cash", "reference": reference}), status)


async def work_done(client: httpx.AsyncClient, w: World, ticket: str, handler: str = "clerk") -> None:
    """Taken on, done, signed off by the resident: what comes before the cashier's settlement."""
    await move(client, w, handler, ticket, "accepted")
    await move(client, w, handler, ticket, "resolved")
    await move(client, w, "res", ticket, "confirmed")
