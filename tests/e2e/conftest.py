"""`live_server`: the real app served over HTTP for the browser tests; `tianren`: the demo tenant they use."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from careclub.platform.tenant_file import apply_text
from careclub.settings import PROJECT_ROOT, Settings
from tests.e2e.browser import CHROMIUM, DEMO_SLUG
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


@pytest.fixture
async def tianren(client: Any, owner: Any) -> None:
    """The tianren car club's example tenant with its demo people (password `DEMO_PASSWORD`). Their own
    language choice is cleared: a test that switched it with the menu (kept on the user, outweighing the
    `lang` cookie) must not decide the language of the next test."""
    await apply_text((PROJECT_ROOT / "tenants" / f"{DEMO_SLUG}.toml").read_text(encoding="utf-8"), demo=True)
    async with owner.transaction():
        tenant_id = await owner.fetchval("SELECT id FROM tenant WHERE slug = $1", DEMO_SLUG)
        await owner.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant_id))
        await owner.execute("UPDATE app_user SET locale = NULL WHERE demo")
