"""维维食品饮料 (tenants/weiwei-distributors.toml, seed 002 第一篇: 二级经销商联销体).

Platform part: identity, 销售中心 / 大区 / 分公司 / 市场, the alliance's officers as roles, a
second-level distributor as a member. Later issues add here: membership by market share and
the anti-counterfeit agreement, monthly visits and sales reports, half-yearly scoring."""

from __future__ import annotations

from typing import Any

from tests.scenarios.helpers import (
    Scenario,
    visible_unit_codes,
)

SLUG = "weiwei-distributors"


async def test_officers_see_their_own_part_of_the_network(client: Any, scenario: Scenario) -> None:
    director = scenario.as_("director@weiwei-distributors.example")
    region = scenario.as_("region@weiwei-distributors.example")
    assert await visible_unit_codes(client, director) == {"NORTH-BD-MKT"}
    assert await visible_unit_codes(client, region) == {"NORTH", "NORTH-BD", "NORTH-BD-MKT"}
