"""The SAQ worker really runs our jobs, on the real Redis and PostgreSQL, inside the tenant context."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from saq import Queue
from saq.job import Status

from careclub.core import clock
from careclub.core.db import tenant_scope
from careclub.core.infra import Infra
from careclub.core.redis import redis, tenant_key
from careclub.jobs.queue import make_queue, make_worker
from careclub.jobs.tasks import HEARTBEAT_KEY
from careclub.platform.tables import ApiToken, AuditEntry, User

# SAQ 0.26 still calls redis-py's `setex`, which redis-py 8 marks deprecated; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")


@pytest.fixture
async def queue_name(infra: Infra) -> AsyncIterator[str]:
    """A queue of this test's own, so nothing else on the Redis database interferes; removed after."""
    name = f"careclub-test-{uuid.uuid4().hex[:8]}"
    yield name
    keys = [k async for k in redis().scan_iter(match=f"saq:{name}*")]
    keys += [k async for k in redis().scan_iter(match=f"*{name}*")]
    if keys:
        await redis().delete(*set(keys))


async def run_jobs(infra: Infra, queue_name: str, *jobs: tuple[str, dict[str, Any]]) -> list[Any]:
    """Enqueue jobs, let a burst worker drain the queue, and answer the jobs as they finished."""
    queue: Queue = make_queue(infra.redis_url, queue_name)
    try:
        # A starting worker sweeps "stuck" jobs at once, and can take a job it has just dequeued
        # (not yet marked active) for one: sweeping first holds that off for a minute.
        await queue.sweep()
        enqueued = [await queue.enqueue(name, **kwargs) for name, kwargs in jobs]
        worker = make_worker(infra, concurrency=2, burst=True, queue_name=queue_name)
        await asyncio.wait_for(worker.start(), timeout=60)
        for job in enqueued:
            await job.refresh()
        return enqueued
    finally:
        await queue.disconnect()


async def add_token(tenant_id: str, *, expires_in: timedelta | None = None,
                    revoked_ago: timedelta | None = None) -> uuid.UUID:
    async with tenant_scope(uuid.UUID(tenant_id)):
        user = await User.select(User.id).first()
        token = ApiToken(user=user["id"], name="test", kind="api",
                         token_hash=hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
                         expires_at=clock.now() + expires_in if expires_in is not None else None,
                         revoked_at=clock.now() - revoked_ago if revoked_ago is not None else None)
        await token.save()
        return token.id


async def token_ids(tenant_id: str) -> set[uuid.UUID]:
    async with tenant_scope(uuid.UUID(tenant_id)):
        return {r["id"] for r in await ApiToken.select(ApiToken.id)}


async def purges(tenant_id: str) -> list[dict[str, Any]]:
    async with tenant_scope(uuid.UUID(tenant_id)):
        return await AuditEntry.select().where(AuditEntry.action == "token.purge").output(load_json=True)


async def test_sweep_purges_old_tokens_of_its_tenant_only(infra: Infra, queue_name: str, tenant: dict[str, Any],
                                                          other_tenant: dict[str, Any]) -> None:
    a, b = tenant["tenant_id"], other_tenant["tenant_id"]
    a_expired_long_ago = await add_token(a, expires_in=timedelta(days=-8))
    a_revoked_long_ago = await add_token(a, expires_in=timedelta(days=30), revoked_ago=timedelta(days=10))
    a_expired_yesterday = await add_token(a, expires_in=timedelta(days=-1))
    a_fresh = await add_token(a, expires_in=timedelta(hours=1))
    b_expired_long_ago = await add_token(b, expires_in=timedelta(days=-8))
    a_before, b_before = await token_ids(a), await token_ids(b)

    [job] = await run_jobs(infra, queue_name, ("sweep_tenant", {"tenant_id": a}))

    assert job.status == Status.COMPLETE, job.error
    assert job.result == 2
    a_after = await token_ids(a)
    assert a_after == a_before - {a_expired_long_ago, a_revoked_long_ago}
    assert {a_expired_yesterday, a_fresh} <= a_after
    assert await token_ids(b) == b_before
    assert b_expired_long_ago in b_before
    [entry] = await purges(a)
    assert entry["after"]["count"] == 2
    assert set(entry["after"]["ids"]) == {str(a_expired_long_ago), str(a_revoked_long_ago)}
    assert entry["actor_name"] == "job:sweep_tenant"
    assert entry["tenant_id"] == uuid.UUID(a)
    assert await purges(b) == []
    assert await redis().get(tenant_key(uuid.UUID(a), "jobs", "last_sweep"))
    assert await redis().get(tenant_key(uuid.UUID(b), "jobs", "last_sweep")) is None

    # Idempotent: a second sweep finds nothing and writes no second audit entry.
    [again] = await run_jobs(infra, queue_name, ("sweep_tenant", {"tenant_id": a}))
    assert again.status == Status.COMPLETE and again.result == 0
    assert len(await purges(a)) == 1


async def test_heartbeat_marks_redis_and_the_fan_out_sweeps_every_tenant(
        infra: Infra, queue_name: str, tenant: dict[str, Any], other_tenant: dict[str, Any]) -> None:
    started = clock.now()
    b_old = await add_token(other_tenant["tenant_id"], expires_in=timedelta(days=-9))

    beat_job, fan_job = await run_jobs(infra, queue_name, ("heartbeat", {}), ("sweep_fanout", {"timeout": 120}))

    assert beat_job.status == Status.COMPLETE, beat_job.error
    assert fan_job.status == Status.COMPLETE, fan_job.error
    beat = await redis().get(HEARTBEAT_KEY)
    assert beat is not None and datetime.fromisoformat(beat) >= started - timedelta(seconds=1)
    # The sweeps the fan-out queued ran too, each in its own tenant.
    for t in (tenant, other_tenant):
        swept = await redis().get(tenant_key(uuid.UUID(t["tenant_id"]), "jobs", "last_sweep"))
        assert swept is not None and datetime.fromisoformat(swept) >= started
    assert b_old not in await token_ids(other_tenant["tenant_id"])
    [entry] = await purges(other_tenant["tenant_id"])
    assert entry["after"]["ids"] == [str(b_old)]


async def test_a_failing_job_is_reported_failed_not_swallowed(infra: Infra, queue_name: str) -> None:
    # A tenant id that is not a UUID cannot open a tenant context: the job fails loudly.
    [job] = await run_jobs(infra, queue_name, ("sweep_tenant", {"tenant_id": "not-a-uuid"}))
    assert job.status == Status.FAILED
    assert "ValueError" in (job.error or "")
