"""What every example tenant must do, whatever its business: its admin signs in to the right
tenant, the org units of its file are there, and each person holds exactly the file's roles.
Tenant files are discovered, so a new file is covered the moment it is added."""

from __future__ import annotations

from typing import Any

import pytest

from careclub.settings import PROJECT_ROOT
from tests.scenarios.helpers import check_platform_part, open_scenario

SLUGS = sorted(p.stem for p in (PROJECT_ROOT / "tenants").glob("*.toml"))


def test_every_source_document_has_its_tenant() -> None:
    assert len(SLUGS) >= 8


@pytest.mark.parametrize("slug", SLUGS)
async def test_platform_part_of_the_tenant_file(client: Any, slug: str) -> None:
    await check_platform_part(client, await open_scenario(client, slug))
