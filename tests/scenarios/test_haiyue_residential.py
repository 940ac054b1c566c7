"""海悦地产 (tenants/haiyue-residential.toml, seed 001: 商品住宅客户服务管理指导书).

Platform part: identity, departments and the property company's communities, 总经理 / 开发部总监 /
客户服务经理 / 区域总部 as roles. Later issues add here: the customer-service fund with its
tiered approval (<10,000 / 10,000–100,000 / >100,000), fund sources, and 客户服务联系单 dispatched
to departments and tracked to closure."""

from __future__ import annotations

from typing import Any

from tests.scenarios.helpers import (
    Scenario,
    visible_unit_codes,
)

SLUG = "haiyue-residential"


async def test_community_clerk_sees_only_his_community(client: Any, scenario: Scenario) -> None:
    headers = scenario.as_("clerk@haiyue-residential.example")
    assert await visible_unit_codes(client, headers) == {"PM-HYHY"}
