"""兰亭物业集团 (tenants/lanting-property.toml, seed 000: 客户关怀基金管理细则).

Platform part: identity, the 住宅事业部 / 区域公司 / 项目 tree, the fund's bodies as roles.
Later issues add here: the care fund (quarterly accrual, annual plan and June revision, off-plan
requests by countersign or the monthly leadership meeting, the CRM brand committee above
3,000,000, set-up, acceptance, ledger, rollover)."""

from __future__ import annotations

from typing import Any

from tests.scenarios.helpers import (
    Scenario,
    visible_unit_codes,
)

SLUG = "lanting-property"


async def test_region_reviewer_sees_only_his_region(client: Any, scenario: Scenario) -> None:
    # 000 §4.4: a regional reviewing unit reviews use within its own regional company.
    headers = scenario.as_("region@lanting-property.example")
    assert await visible_unit_codes(client, headers) == {"CD", "CD-LT1", "CD-LT2", "CD-QM", "CD-EM", "CD-CS"}
