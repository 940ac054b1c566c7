"""The clubs' scheduled work: retire and rotate QR signing keys, prune used nonces."""

from __future__ import annotations

import uuid
from typing import Any

from careclub.clubs import (
    payable,  # noqa: F401  (registers membership periods as payables)
    service,
)
from careclub.core import clock
from careclub.core.db import fetch, tenant_scope
from careclub.core.principal import Actor, set_actor
from careclub.jobs.tasks import fan_out


async def clubs_fanout(ctx: dict[str, Any]) -> int:
    """Every five minutes: check-in partitions ahead, then one housekeeping job per active tenant
    (keyed, so a re-run adds none)."""
    # Monthly check-in partitions, three months ahead (a SECURITY DEFINER function of the
    # migrations: the app role cannot create tables itself).
    await fetch("SELECT club_checkin_add_partitions(3)")
    return await fan_out(ctx, "clubs_housekeeping", period=clock.now().strftime("%Y%m%d%H%M"))


async def clubs_housekeeping(ctx: dict[str, Any], *, tenant_id: str) -> dict[str, int]:
    """Retire signing keys past their overlap, rotate old ones, prune nonces. Idempotent."""
    set_actor(Actor(None, "job:clubs_housekeeping"))
    async with tenant_scope(uuid.UUID(tenant_id)):
        result = await service.keys_housekeeping()
        result["nonces_pruned"] = await service.prune_nonces()
    return result
