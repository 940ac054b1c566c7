"""The approval core's scheduled work: deadline reminders and escalation, and sending mail."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from careclub.approvals import service
from careclub.core import clock
from careclub.core.db import tenant_scope
from careclub.core.principal import Actor, set_actor
from careclub.jobs.tasks import fan_out

log = logging.getLogger("careclub.jobs")


async def approvals_fanout(ctx: dict[str, Any]) -> int:
    """Every five minutes: one deadline sweep per active tenant (keyed, so a re-run adds none)."""
    return await fan_out(ctx, "approvals_sweep", period=clock.now().strftime("%Y%m%d%H%M"))


async def approvals_sweep(ctx: dict[str, Any], *, tenant_id: str) -> dict[str, int]:
    """Remind and escalate overdue steps of one tenant; send its mail when SMTP is configured.
    Idempotent: a step is reminded once and escalated once."""
    set_actor(Actor(None, "job:approvals_sweep"))
    async with tenant_scope(uuid.UUID(tenant_id)):
        counts = await service.sweep_deadlines()
        settings = ctx.get("settings")
        smtp_url = getattr(settings, "smtp_url", "") if settings is not None else ""
        if not smtp_url:
            from careclub.settings import Settings

            smtp_url = Settings.from_env().smtp_url
        counts["mailed"] = await service.send_outbox(smtp_url) if smtp_url else 0
    if any(counts.values()):
        log.info("approvals sweep: %s", counts, extra={"job": "approvals_sweep"})
    return counts
