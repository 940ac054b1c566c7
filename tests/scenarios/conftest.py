"""The `scenario` fixture: the module's tenant file (its `SLUG`) applied in demo mode, every demo
user signed in. See helpers.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.scenarios.helpers import Scenario, open_scenario


@pytest.fixture(scope="module")
async def scenario(request: pytest.FixtureRequest, client: Any) -> Scenario:
    return await open_scenario(client, request.module.SLUG)
