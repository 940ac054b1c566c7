"""安保财险客户俱乐部 (tenants/anbao-car-club.toml, seed 002 第二、三篇: the insurer's car club).

Platform part: identity, two 支公司, the three permission levels (club admin, branch operator,
merchant operator), a member. Later issues add here: free membership, one car one member,
validity = policy term + 10 days renewed with the policy, card AB-000001, the branch operator
limited to his branch's members."""

from __future__ import annotations

from typing import Any

from tests.scenarios.helpers import (
    Scenario,
    visible_unit_codes,
)

SLUG = "anbao-car-club"


async def test_branch_operator_sees_only_his_branch(client: Any, scenario: Scenario) -> None:
    headers = scenario.as_("branch@anbao-car-club.example")
    assert await visible_unit_codes(client, headers) == {"BR-EAST"}


async def test_member_cannot_read_the_organisation(client: Any, scenario: Scenario) -> None:
    headers = scenario.as_("member@anbao-car-club.example")
    assert await visible_unit_codes(client, headers) == 403
    assert (await client.get("/api/v1/staff", headers=headers)).status_code == 403
