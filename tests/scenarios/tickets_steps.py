"""Steps the ticket scenarios share: find a unit of the archive, move a ticket, read it."""

from __future__ import annotations

import uuid
from typing import Any

from careclub.core.db import tenant_scope
from careclub.platform.tables import Tenant
from careclub.tickets.tables import Building, PropertyUnit


async def unit_id(slug: str, building: str, code: str) -> str:
    tenant = await Tenant.select(Tenant.id).where(Tenant.slug == slug).first()
    async with tenant_scope(uuid.UUID(str(tenant["id"]))):
        b = await Building.select(Building.id).where(Building.code == building).first()
        u = await PropertyUnit.select(PropertyUnit.id).where(PropertyUnit.building == b["id"],
                                                             PropertyUnit.code == code).first()
    return str(u["id"])


async def raise_(client: Any, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    r = await client.post("/api/v1/tickets", headers=headers, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def step(client: Any, headers: dict[str, str], ticket_id: str, to: str, **body: Any) -> dict[str, Any]:
    r = await client.post(f"/api/v1/tickets/{ticket_id}/transitions", headers=headers, json={"to": to, **body})
    assert r.status_code == 200, (to, r.text)
    return dict(r.json())


async def read(client: Any, headers: dict[str, str], ticket_id: str) -> dict[str, Any]:
    r = await client.get(f"/api/v1/tickets/{ticket_id}", headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())
