"""Queueing a job from a request: the SAQ queue the worker (`careclub worker`) serves.

Call `enqueue` from an `after_commit` callback, never straight from a transaction: a job must not
run before the data it acts on is committed, nor for a request that rolled back."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from saq import Queue
from saq.queue.redis import RedisQueue

QUEUE_NAME = "careclub"

_queue: Queue | None = None


def make_queue(redis_url: str, name: str = QUEUE_NAME) -> Queue:
    # SAQ's from_url only knows redis://; the embedded Redis listens on a unix socket.
    return RedisQueue(Redis.from_url(redis_url), name=name)


def configure(redis_url: str) -> None:
    global _queue
    _queue = make_queue(redis_url)


async def close() -> None:
    global _queue
    if _queue is not None:
        await _queue.disconnect()
        _queue = None


async def enqueue(function: str, *, key: str | None = None, **kwargs: Any) -> None:
    if _queue is None:
        raise RuntimeError("core.jobqueue.configure() was not called at start-up")
    # Retries: SAQ's start-up sweep can abort a job caught between dequeue and start; every job is
    # idempotent, so running one again is always safe.
    await _queue.enqueue(function, key=key, retries=3, **kwargs)
