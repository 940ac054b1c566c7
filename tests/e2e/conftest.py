"""`live_server`: the real app served over HTTP for the browser tests."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from careclub.core import redis as redis_mod
from careclub.core.db import DB
from careclub.settings import Settings
from tests.e2e.browser import CHROMIUM, free_port


@pytest.fixture
def live_server(settings: Settings, infra: Any) -> Iterator[str]:
    """The real app under uvicorn on its own event loop in a thread. The database pool and the
    Redis client are process-wide; the server's start-up replaces them, so the ones the rest of
    the test session uses are put aside and restored afterwards."""
    from careclub.app import create_app

    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is not installed")
    saved_pool, saved_config, saved_redis = DB.pool, dict(DB.config), redis_mod._client
    DB.pool = None
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, infra), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="e2e-uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("the app did not start under uvicorn")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        DB.pool, DB.config, redis_mod._client = saved_pool, saved_config, saved_redis
