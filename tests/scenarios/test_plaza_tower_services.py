"""柏彦大厦物业 (tenants/plaza-tower-services.toml, seed 002 第四篇: 客户服务部运行手册).

Platform part: identity, the tower and its departments, 客户服务经理 / 主任 / 助理, 工程主管,
物业经理, 物业总经理. Later issues add here: move-in, renovation permits and inspections,
complaints with apology and return visit, repair orders with sign-off, paid services, move-out."""

from __future__ import annotations

from typing import Any

from tests.scenarios.helpers import (
    Scenario,
    visible_unit_codes,
)

SLUG = "plaza-tower-services"


async def test_customer_service_covers_the_whole_tower(client: Any, scenario: Scenario) -> None:
    # §3.3–3.4: customer service hands complaints and repairs to every department of the tower.
    headers = scenario.as_("assistant@plaza-tower-services.example")
    assert await visible_unit_codes(client, headers) == {"TOWER", "CS", "ENG", "SEC", "CLEAN", "FIN", "LEASE"}
