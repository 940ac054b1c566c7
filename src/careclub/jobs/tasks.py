"""Scheduled and queued work. Each job is idempotent: running it twice leaves the same state.

A job that touches tenant data takes `tenant_id` (a string: job arguments travel as JSON) and
does its work inside `in_tenant`, which opens the same tenant-bound transaction a request gets,
so row-level security scopes it exactly as it scopes a request.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from piccolo.engine.postgres import PostgresTransaction

from careclub.core import clock
from careclub.core.db import tenant_scope
from careclub.core.logging import log_tenant
from careclub.core.principal import Actor, set_actor
from careclub.core.redis import redis, tenant_key
from careclub.platform import audit
from careclub.platform.service import recount_tallies
from careclub.platform.tables import ApiToken, Tenant

log = logging.getLogger("careclub.jobs")

HEARTBEAT_KEY = "worker:heartbeat"
TOKEN_RETENTION = timedelta(days=7)


@asynccontextmanager
async def in_tenant(tenant_id: str | uuid.UUID, job_name: str) -> AsyncIterator[PostgresTransaction]:
    """One transaction bound to the tenant, with the job as the audit actor and in the logs."""
    tid = tenant_id if isinstance(tenant_id, uuid.UUID) else uuid.UUID(tenant_id)
    set_actor(Actor(None, f"job:{job_name}"))
    log_tenant.set(str(tid))
    async with tenant_scope(tid) as tx:
        yield tx


async def heartbeat(ctx: dict[str, Any]) -> str:
    """Every minute: prove the worker is alive (the worker's health check reads this key)."""
    now = clock.now().isoformat()
    await redis().set(HEARTBEAT_KEY, now)
    return now


async def fan_out(ctx: dict[str, Any], function: str, *, period: str) -> int:
    """Queue `function(tenant_id=…)` once per active tenant and period (when the worker gave a
    queue); answers the number of active tenants. The job key makes it unique per tenant and
    period, so a second run in the same period queues nothing new."""
    queue = ctx.get("queue")
    # The tenant registry is readable without a tenant context (its policy allows SELECT).
    tenants = await Tenant.select(Tenant.id).where(Tenant.status == "active")
    ids = [str(t["id"]) for t in tenants]
    if queue is None:
        return len(ids)
    for start in range(0, len(ids), 200):  # bounded batches: thousands of tenants, few round trips
        # Retries: SAQ's start-up sweep can abort a job caught between dequeue and start; every
        # job here is idempotent, so running it again is always safe.
        await asyncio.gather(*(queue.enqueue(function, tenant_id=tid, key=f"{function}:{tid}:{period}", retries=3)
                               for tid in ids[start:start + 200]))
    log.info("%s queued for %d tenant(s)", function, len(ids), extra={"job": f"{function}_fanout"})
    return len(ids)


async def sweep_fanout(ctx: dict[str, Any]) -> int:
    """Every hour: a token sweep per tenant."""
    return await fan_out(ctx, "sweep_tenant", period=clock.now().strftime("%Y-%m-%dT%H"))


async def sweep_tenant(ctx: dict[str, Any], *, tenant_id: str) -> int:
    """Remove API tokens that expired or were revoked more than a week ago."""
    cutoff = clock.now() - TOKEN_RETENTION
    async with in_tenant(tenant_id, "sweep_tenant"):
        gone = await ApiToken.delete().where(
            (ApiToken.expires_at < cutoff) | (ApiToken.revoked_at < cutoff)).returning(ApiToken.id)
        if gone:
            await audit.record("token.purge", "api_token", "",
                               after={"count": len(gone), "ids": [str(g["id"]) for g in gone]})
    await redis().set(tenant_key(uuid.UUID(tenant_id), "jobs", "last_sweep"), clock.now().isoformat())
    if gone:
        log.info("sweep: %d token(s) purged", len(gone), extra={"job": "sweep_tenant"})
    return len(gone)


async def tallies_recount(ctx: dict[str, Any], *, tenant_id: str) -> int:
    """Count a company's statistics tallies again (club and tickets) from its rows, after its time zone changed
    (`platform.service.update_company`): they are kept per company day and month, which begin at other moments in
    another zone. Minutes at a million members, so a job, queued once the change is committed."""
    async with in_tenant(tenant_id, "tallies_recount"):
        return await recount_tallies()
