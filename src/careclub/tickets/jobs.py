"""The ticket core's scheduled work, per company, every five minutes (idempotent: each ticket is warned
once per deadline, breached once, and each person told once per ticket, kind and deadline, in one digest
outside quiet hours)."""

from __future__ import annotations

from typing import Any

from careclub.core import clock
from careclub.jobs.tasks import fan_out, in_tenant
from careclub.tickets import service


async def tickets_fanout(ctx: dict[str, Any]) -> int:
    return await fan_out(ctx, "tickets_sla", period=clock.now().strftime("%Y%m%d%H%M"))


async def tickets_sla(ctx: dict[str, Any], *, tenant_id: str) -> dict[str, int]:
    async with in_tenant(tenant_id, "tickets_sla"):
        return await service.watch()
