"""嘉园物业 (tenants/jiayuan-services.toml, seed 004: 业主特约服务策划与提供控制程序).

Platform part: identity, two 管理处 with their departments, 总经理 / 管理处经理 / 客户服务中心主管 /
部门主管 / 服务人员 / 收银员, a resident. Later issues add here: the paid-service catalogue and
fee standards, booking, dispatch, prepayment, owner sign-off, settlement, loss review, return
visits and quality rating."""

from __future__ import annotations

from typing import Any

from tests.scenarios.helpers import (
    Scenario,
    visible_unit_codes,
)

SLUG = "jiayuan-services"


async def test_site_manager_sees_only_his_site(client: Any, scenario: Scenario) -> None:
    headers = scenario.as_("site@jiayuan-services.example")
    assert await visible_unit_codes(client, headers) == {"JY1", "JY1-CSC", "JY1-ENG", "JY1-CLEAN"}


async def test_resident_cannot_read_the_organisation(client: Any, scenario: Scenario) -> None:
    headers = scenario.as_("member@jiayuan-services.example")
    assert await visible_unit_codes(client, headers) == 403
