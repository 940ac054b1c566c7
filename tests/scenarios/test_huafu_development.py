"""华府地产城市公司 (tenants/huafu-development.toml, seed 003: 与物业对接管理作业指引).

Platform part: identity, 营销客服部 with its two groups, the projects, the property company,
the approvers of the settlement chains as roles. Later issues add here: monthly budgets, "two
confirmations", cost + 10% fee, unplanned work and sales-office purchase thresholds, countersign
chains, monthly settlement by the 22nd."""

from __future__ import annotations

from typing import Any

from tests.scenarios.helpers import (
    Scenario,
    visible_unit_codes,
)

SLUG = "huafu-development"


async def test_property_company_sees_only_itself(client: Any, scenario: Scenario) -> None:
    headers = scenario.as_("property@huafu-development.example")
    assert await visible_unit_codes(client, headers) == {"PROP", "PROP-FIN"}
