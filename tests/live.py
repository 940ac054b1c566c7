"""The real app served over HTTP, for tests that need a real client outside the test's event loop
(a browser, schemathesis)."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from careclub.core import redis as redis_mod
from careclub.core.db import DB
from careclub.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def app_state_set_aside() -> Iterator[None]:
    """Another app's start-up in this process (a live server, a differently configured app) replaces the
    process-wide state every start-up sets: the database pool, the Redis client, the job queue, the Stripe
    gateway, the file storage. The test session's own are put aside and restored afterwards, so the other
    app's shutdown closes only its own (and the session's are never dropped unclosed)."""
    from careclub.core import jobqueue, storage
    from careclub.payments import gateway

    saved = (DB.pool, dict(DB.config), redis_mod._client, jobqueue._queue, gateway._gateway, storage._storage)
    DB.pool = None
    try:
        yield
    finally:
        (DB.pool, DB.config, redis_mod._client, jobqueue._queue, gateway._gateway, storage._storage) = saved


@contextmanager
def serve(settings: Settings, infra: Any, *, stripe_delivery: bool = False) -> Iterator[str]:
    """The app under uvicorn on its own event loop in a thread. The database pool and the Redis
    client are process-wide; the server's start-up replaces them, so the ones the rest of the test
    session uses are put aside and restored afterwards. `stripe_delivery`: the Stripe sandbox posts
    its events to the server's /webhooks/stripe by itself, as `make run`'s does."""
    from careclub.app import create_app
    from careclub.payments.sandboxing import make_sandbox

    port = free_port()
    settings = dataclasses.replace(settings, port=port)  # the pages' and the sandbox's own links point here
    sandbox = make_sandbox(settings, deliver=stripe_delivery)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, infra, sandbox), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    with app_state_set_aside():
        thread = threading.Thread(target=server.run, name="live-uvicorn", daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 30
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("the app did not start under uvicorn")
                time.sleep(0.05)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=30)
