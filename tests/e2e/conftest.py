"""`live_server`: the real app served over HTTP for the browser tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from careclub.settings import Settings
from tests.e2e.browser import CHROMIUM
from tests.live import serve


def need_chromium() -> None:
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is not installed")


@pytest.fixture
def live_server(settings: Settings, infra: Any) -> Iterator[str]:
    """The real app under uvicorn in a thread (tests/live.py), for a browser to drive."""
    need_chromium()
    with serve(settings, infra) as url:
        yield url
