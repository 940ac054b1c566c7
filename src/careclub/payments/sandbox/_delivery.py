"""Webhook delivery: Stripe's signature scheme, one-off deliveries for tests, and the background loop that
posts each new event to the app with retries."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import hmac
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from careclub.payments.sandbox._common import now
from careclub.payments.sandbox._store import SandboxEvent, Store

log = logging.getLogger("careclub.payments.sandbox")

Post = Callable[[bytes, dict[str, str]], Awaitable[int]]


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The Stripe-Signature header value: HMAC-SHA256 of "{timestamp}.{payload}" under the endpoint secret."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass
class _Retry:
    first_failure: float
    attempts: int
    next_at: float


class Delivery:
    def __init__(self, store: Store, *, platform_secret: str, connect_secret: str, webhook_url: str | None) -> None:
        self.store = store
        self.platform_secret = platform_secret
        self.connect_secret = connect_secret
        self.webhook_url = webhook_url
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._retries: dict[str, _Retry] = {}
        # Tests replace these to post through a mock transport without waiting for real seconds.
        self.client_factory: Callable[[], httpx.AsyncClient] = lambda: httpx.AsyncClient(timeout=10.0)
        self.base_delay = 1.0
        self.max_delay = 300.0
        self.give_up_after = 3600.0
        store.on_event.append(self._wake.set)

    async def deliver(self, event: SandboxEvent, post: Post, *, timestamp: int | None = None,
                      corrupt_signature: bool = False) -> int:
        secret = self.connect_secret if event.account else self.platform_secret
        header = sign(event.payload, secret, now() if timestamp is None else timestamp)
        if corrupt_signature:
            header = header[:-1] + ("0" if header[-1] != "0" else "1")
        status = await post(event.payload, {"Stripe-Signature": header, "Content-Type": "application/json"})
        if 200 <= status < 300:
            self.store.mark_delivered(event.id)
            self.store.flush()
        return status

    def start(self) -> None:
        if not self.webhook_url or (self._task is not None and not self._task.done()):
            return
        loop = asyncio.get_running_loop()
        # A fresh context: the loop must not inherit whatever request or tenant context its starter had.
        self._task = loop.create_task(self._run(), name="stripe-sandbox-delivery", context=contextvars.Context())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.store.flush()

    async def _run(self) -> None:
        url = self.webhook_url
        assert url is not None
        async with self.client_factory() as client:
            async def post(body: bytes, headers: dict[str, str]) -> int:
                response = await client.post(url, content=body, headers=headers)
                return response.status_code

            while True:
                self._wake.clear()
                wait = await self._pass(post)
                if wait is None:
                    await self._wake.wait()
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), wait)

    async def _pass(self, post: Post) -> float | None:
        """Tries every event that is due, oldest first; an event that fails holds back the later events about
        the same object until it goes through. Answers how long until the next retry is due, if any."""
        blocked: set[str] = set()
        next_due = math.inf
        for event in self.store.outbox():
            key = self.store.event_object_id(event.id) or event.id
            if key in blocked:
                continue
            retry = self._retries.get(event.id)
            clock = time.monotonic()
            if retry is not None and retry.next_at > clock:
                blocked.add(key)
                next_due = min(next_due, retry.next_at - clock)
                continue
            try:
                status = await self.deliver(event, post)
                reason = f"status {status}"
            except (httpx.HTTPError, OSError) as exc:
                status, reason = 0, f"{type(exc).__name__}: {exc}"
            if 200 <= status < 300:
                self._retries.pop(event.id, None)
                continue
            clock = time.monotonic()
            retry = self._retries.setdefault(event.id, _Retry(first_failure=clock, attempts=0, next_at=clock))
            retry.attempts += 1
            if clock - retry.first_failure >= self.give_up_after:
                log.warning("stripe sandbox: gave up delivering %s (%s) after %d attempts, last: %s",
                            event.id, event.type, retry.attempts, reason)
                self._retries.pop(event.id, None)
                self.store.mark_failed(event.id)
                self.store.flush()
                continue
            delay = min(self.base_delay * 2 ** (retry.attempts - 1), self.max_delay)
            retry.next_at = clock + delay
            blocked.add(key)
            next_due = min(next_due, delay)
            log.info("stripe sandbox: delivering %s (%s) failed with %s; retrying in %.0f s",
                     event.id, event.type, reason, delay)
        return None if next_due == math.inf else next_due
