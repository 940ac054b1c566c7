"""The catalogue's scheduled work, per company: every hour, the visits of long-term agreements due within
the week become orders (once each), and last month's loss-making services raise their reviews (once each,
from the month's first hour on). Both are idempotent: running them twice changes nothing."""

from __future__ import annotations

from typing import Any

from careclub.catalogue import service
from careclub.core import clock
from careclub.jobs.tasks import fan_out, in_tenant


async def catalogue_fanout(ctx: dict[str, Any]) -> int:
    return await fan_out(ctx, "catalogue_tenant", period=clock.now().strftime("%Y%m%d%H"))


async def catalogue_tenant(ctx: dict[str, Any], *, tenant_id: str) -> dict[str, int]:
    async with in_tenant(tenant_id, "catalogue_tenant"):
        visits = await service.create_due_visits()
        losses = await service.raise_loss_tasks()
        return {**visits, **losses}
