"""The job queue: SAQ on Redis. Every job that touches tenant data takes `tenant_id` and runs
inside `tenant_scope`, the same context a request gets."""

from __future__ import annotations

import logging
from typing import Any

from redis.asyncio import Redis
from saq import CronJob, Queue, Worker
from saq.queue.redis import RedisQueue

from careclub.core import redis as redis_mod
from careclub.core.db import DB
from careclub.core.infra import Infra
from careclub.jobs import tasks

log = logging.getLogger("careclub.jobs")

QUEUE_NAME = "careclub"


def make_queue(redis_url: str) -> Queue:
    # SAQ's from_url only knows redis://; the embedded Redis listens on a unix socket.
    return RedisQueue(Redis.from_url(redis_url), name=QUEUE_NAME)


FUNCTIONS: list[Any] = [tasks.heartbeat, tasks.sweep_tenant]
CRON_JOBS = [CronJob(tasks.heartbeat, cron="* * * * *", timeout=50)]


def make_worker(infra: Infra, *, concurrency: int = 4, burst: bool = False) -> Worker:
    queue = make_queue(infra.redis_url)

    async def startup(ctx: dict[str, Any]) -> None:
        DB.configure(infra.app_dsn, min_size=1, max_size=concurrency + 1)
        await DB.start_connection_pool()
        redis_mod.connect(infra.redis_url)
        ctx["queue"] = queue

    async def shutdown(ctx: dict[str, Any]) -> None:
        await DB.close_connection_pool()
        await redis_mod.close()

    return Worker(queue, functions=FUNCTIONS, cron_jobs=CRON_JOBS, concurrency=concurrency,
                  startup=startup, shutdown=shutdown, burst=burst)
