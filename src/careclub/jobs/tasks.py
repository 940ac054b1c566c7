"""Scheduled and queued work. Each job is idempotent: running it twice leaves the same state."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from careclub.core import clock
from careclub.core.db import tenant_scope
from careclub.core.principal import Actor, set_actor
from careclub.core.redis import redis, tenant_key
from careclub.platform import audit
from careclub.platform.tables import ApiToken, Tenant

log = logging.getLogger("careclub.jobs")

HEARTBEAT_KEY = "worker:heartbeat"
TOKEN_RETENTION = timedelta(days=7)


async def heartbeat(ctx: dict[str, Any]) -> str:
    """Every minute: prove the worker is alive and fan the per-tenant sweep out."""
    now = clock.now().isoformat()
    await redis().set(HEARTBEAT_KEY, now)
    queue = ctx.get("queue")
    tenants = await Tenant.select(Tenant.id).where(Tenant.status == "active")
    if queue is not None:
        minute = now[:16]
        for t in tenants:
            # The key makes the sweep unique per tenant and minute, so a re-run enqueues nothing new.
            await queue.enqueue("sweep_tenant", tenant_id=str(t["id"]), key=f"sweep:{t['id']}:{minute}")
    return now


async def sweep_tenant(ctx: dict[str, Any], *, tenant_id: str) -> int:
    """Remove API tokens that expired or were revoked more than a week ago."""
    tid = uuid.UUID(tenant_id)
    set_actor(Actor(None, "job:sweep_tenant"))
    cutoff = clock.now() - TOKEN_RETENTION
    async with tenant_scope(tid):
        gone = await ApiToken.delete().where(
            (ApiToken.expires_at < cutoff) | (ApiToken.revoked_at < cutoff)).returning(ApiToken.id)
        if gone:
            await audit.record("token.purge", "api_token", "", after={"count": len(gone)})
    await redis().set(tenant_key(tid, "jobs", "last_sweep"), clock.now().isoformat())
    return len(gone)
