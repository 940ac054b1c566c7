"""The funds' scheduled work, per company, every hour (idempotent: a second run changes nothing).

- Accrual periods past their due date with money outstanding are flagged once (the pages show every
  overdue period; the flag and its audit entry record when it was first seen).
- The year-end rollover: on any day of a new year, each fund's money left available in the last year
  moves into this year's fund. Run again, it moves only money that arrived since (a late payment)."""

from __future__ import annotations

from typing import Any

from careclub.core import clock
from careclub.funds import service
from careclub.jobs.tasks import fan_out, in_tenant


async def funds_fanout(ctx: dict[str, Any]) -> int:
    return await fan_out(ctx, "funds_housekeeping", period=clock.now().strftime("%Y%m%d%H"))


async def funds_housekeeping(ctx: dict[str, Any], *, tenant_id: str) -> dict[str, int]:
    async with in_tenant(tenant_id, "funds_overdue"):
        flagged = await service.flag_overdue()
    async with in_tenant(tenant_id, "funds_rollover"):
        moved = await service.rollover((await service.today()).year - 1)
    return {"overdue_flagged": len(flagged), "rolled_over": len(moved)}
