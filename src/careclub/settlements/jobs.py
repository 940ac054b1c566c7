"""The settlements' scheduled work, per company, every morning: the month-end and due-date reminders
(service._reminders). Idempotent: each reminder goes out once."""

from __future__ import annotations

from typing import Any

from careclub.core import clock
from careclub.jobs.tasks import fan_out, in_tenant
from careclub.settlements.service import _reminders


async def settlements_fanout(ctx: dict[str, Any]) -> int:
    return await fan_out(ctx, "settlements_tenant", period=clock.now().strftime("%Y%m%d"))


async def settlements_tenant(ctx: dict[str, Any], *, tenant_id: str) -> dict[str, int]:
    async with in_tenant(tenant_id, "settlements_tenant"):
        return await _reminders.remind_due()
