"""The job queue: SAQ on Redis. Every job that touches tenant data takes `tenant_id` and runs
inside `tenant_scope`, the same context a request gets (see `careclub.jobs.tasks.in_tenant`)."""

from __future__ import annotations

import logging
from typing import Any

from saq import CronJob, Worker

from careclub.approvals import jobs as approvals_jobs
from careclub.catalogue import jobs as catalogue_jobs
from careclub.clubs import jobs as clubs_jobs
from careclub.core import redis as redis_mod
from careclub.core.db import DB
from careclub.core.infra import Infra
from careclub.core.jobqueue import QUEUE_NAME, make_queue
from careclub.core.logging import log_tenant, request_id
from careclub.funds import jobs as funds_jobs
from careclub.jobs import tasks
from careclub.payments import jobs as payments_jobs
from careclub.settlements import jobs as settlements_jobs
from careclub.tickets import jobs as tickets_jobs

log = logging.getLogger("careclub.jobs")

# How long a burst worker waits for one more job before it decides the queue is empty.
BURST_DEQUEUE_TIMEOUT = 1.0


FUNCTIONS: list[Any] = [tasks.heartbeat, tasks.sweep_fanout, tasks.sweep_tenant, tasks.tallies_recount,
                        clubs_jobs.clubs_fanout, clubs_jobs.clubs_housekeeping,
                        approvals_jobs.approvals_fanout, approvals_jobs.approvals_sweep,
                        payments_jobs.payments_inbox, payments_jobs.payments_fanout,
                        payments_jobs.payments_housekeeping, funds_jobs.funds_fanout, funds_jobs.funds_housekeeping,
                        tickets_jobs.tickets_fanout, tickets_jobs.tickets_sla,
                        catalogue_jobs.catalogue_fanout, catalogue_jobs.catalogue_tenant,
                        settlements_jobs.settlements_fanout, settlements_jobs.settlements_tenant]
# SAQ types ctx as its own TypedDict; ours is a plain dict carrying extra keys (owns_pool, …).
CRON_JOBS = [CronJob(tasks.heartbeat, cron="* * * * *", timeout=50),  # type: ignore[type-var]
             CronJob(tasks.sweep_fanout, cron="7 * * * *", timeout=300),  # type: ignore[type-var]
             CronJob(clubs_jobs.clubs_fanout, cron="*/5 * * * *", timeout=120),  # type: ignore[type-var]
             CronJob(approvals_jobs.approvals_fanout, cron="*/5 * * * *", timeout=120),  # type: ignore[type-var]
             CronJob(payments_jobs.payments_fanout, cron="*/5 * * * *", timeout=120),  # type: ignore[type-var]
             CronJob(funds_jobs.funds_fanout, cron="17 * * * *", timeout=120),  # type: ignore[type-var]
             CronJob(tickets_jobs.tickets_fanout, cron="*/5 * * * *", timeout=120),  # type: ignore[type-var]
             CronJob(catalogue_jobs.catalogue_fanout, cron="23 * * * *", timeout=300),  # type: ignore[type-var]
             # 01:31 UTC is the morning in the companies' zones (Asia/Shanghai: 09:31)
             CronJob(settlements_jobs.settlements_fanout, cron="31 1 * * *", timeout=300)]  # type: ignore[type-var]


async def _before_job(ctx: dict[str, Any]) -> None:
    """Log lines of a job carry the job id and, for tenant jobs, the tenant."""
    job = ctx.get("job")
    if job is None:
        return
    request_id.set(f"job:{job.function}:{job.id}"[:64])
    log_tenant.set((job.kwargs or {}).get("tenant_id"))


def make_worker(infra: Infra, *, concurrency: int = 4, burst: bool = False, queue_name: str = QUEUE_NAME) -> Worker:
    """The worker `careclub worker` runs. `burst=True` processes what is queued and returns (tests,
    one-off runs); it schedules no cron jobs, since the next minute may never come."""
    queue = make_queue(infra.redis_url, queue_name)

    async def startup(ctx: dict[str, Any]) -> None:
        # In-process (tests, `serve --with-worker` style embedding) the app may already run a pool
        # and a Redis client on the same servers: reuse them, and leave them to their owner.
        ctx["owns_pool"] = DB.pool is None
        if ctx["owns_pool"]:
            DB.configure(infra.app_dsn, min_size=1, max_size=concurrency + 1)
            await DB.start_connection_pool()
        try:
            redis_mod.redis()
            ctx["owns_redis"] = False
        except RuntimeError:
            redis_mod.connect(infra.redis_url)
            ctx["owns_redis"] = True
        ctx["queue"] = queue

    async def shutdown(ctx: dict[str, Any]) -> None:
        if ctx.get("owns_pool"):
            await DB.close_connection_pool()
        if ctx.get("owns_redis"):
            await redis_mod.close()
        await queue.disconnect()

    return Worker(queue, functions=FUNCTIONS, cron_jobs=[] if burst else CRON_JOBS, concurrency=concurrency,
                  startup=startup, shutdown=shutdown, before_process=_before_job, burst=burst,
                  dequeue_timeout=BURST_DEQUEUE_TIMEOUT if burst else 0.0)
