"""A property company for the ticket tests: a tower (project) with a customer-service desk, an engineering
department and a security department; a building with two units, each with a resident who has an account; a
dispatcher over the tower, a clerk at the desk, an engineer and a guard."""

from __future__ import annotations

import uuid
from typing import Any

from careclub.core.db import tenant_scope
from careclub.tickets.tables import Building, Occupancy, Person, PropertyUnit
from tests.conftest import signup
from tests.integration.clubs.helpers import ok, person, root_unit


async def unit(client: Any, t: dict[str, Any], code: str, parent: str, kind: str = "department") -> dict[str, Any]:
    return await ok(await client.post("/api/v1/org-units", headers=t["headers"], json={
        "code": code, "name": f"Unit {code}", "parent_id": parent, "kind": kind}), 201)


async def tower(client: Any, t: dict[str, Any] | None = None) -> dict[str, Any]:
    t = t or await signup(client)
    root = await root_unit(client, t)
    project = await unit(client, t, "TOWER", root["id"], "project")
    cs = await unit(client, t, "CS", project["id"])
    eng = await unit(client, t, "ENG", project["id"])
    sec = await unit(client, t, "SEC", project["id"])
    w: dict[str, Any] = {"t": t, "project": project, "cs": cs, "eng": eng, "sec": sec,
                         "dispatcher": await person(client, t, kind="staff", roles=["dispatcher"], unit=project["id"]),
                         "clerk": await person(client, t, kind="staff", roles=["cs_clerk"], unit=cs["id"]),
                         "engineer": await person(client, t, kind="staff", roles=["cs_clerk"], unit=eng["id"]),
                         "guard": await person(client, t, kind="staff", roles=["cs_clerk"], unit=sec["id"]),
                         "resident": await person(client, t, kind="member", roles=["member"], unit=project["id"]),
                         "neighbour": await person(client, t, kind="member", roles=["member"], unit=project["id"])}
    async with tenant_scope(uuid.UUID(t["tenant_id"])):
        building = Building(project_id=project["id"], code="A", name="Tower A")
        await building.save()
        for key, code, who in (("unit", "1201", "resident"), ("unit2", "1202", "neighbour")):
            u = PropertyUnit(building=building.id, project_id=project["id"], code=code, status="occupied")
            await u.save()
            p = Person(name=f"Resident {code}", phone=f"1390000{code}", user_id=uuid.UUID(w[who]["id"]))
            await p.save()
            await Occupancy(unit=u.id, person=p.id, role="owner").save()
            w[key] = str(u.id)
            w[f"{who}_person"] = str(p.id)
    return w


async def raise_ticket(client: Any, who: dict[str, Any], **body: Any) -> dict[str, Any]:
    payload = {"type": "repair", "title": "Leaking tap", "description": "kitchen tap drips", "priority": "normal",
               **body}
    return await ok(await client.post("/api/v1/tickets", headers=who["headers"], json=payload), 201)


async def move(client: Any, who: dict[str, Any], ticket_id: str, to: str, status: int = 200,
               **body: Any) -> dict[str, Any]:
    r = await client.post(f"/api/v1/tickets/{ticket_id}/transitions", headers=who["headers"], json={"to": to, **body})
    assert r.status_code == status, r.text
    return r.json()


async def get(client: Any, who: dict[str, Any], ticket_id: str, status: int = 200) -> dict[str, Any]:
    r = await client.get(f"/api/v1/tickets/{ticket_id}", headers=who["headers"])
    assert r.status_code == status, r.text
    return r.json()
