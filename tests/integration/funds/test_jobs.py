"""The funds' hourly housekeeping through the real SAQ worker: overdue accruals flagged once, last year's
money rolled into this year's fund, and a second run changing nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from saq.job import Status

from careclub.core.db import tenant_scope
from careclub.core.infra import Infra
from careclub.funds import service
from tests.integration.funds.helpers import balanced, balances_of, new_fund
from tests.integration.test_jobs import queue_name, run_jobs  # noqa: F401 - the fixture is used by name

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")


async def test_housekeeping_flags_overdue_accruals_and_rolls_last_year_over_once(
        infra: Infra, queue_name: str, tenant: dict[str, Any]) -> None:  # noqa: F811
    async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
        this_year = (await service.today()).year
    last = await new_fund(tenant, year=this_year - 1, contribute=12_345)
    async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
        rule = await service.save_rule(fund_code="CARE", code="SALES", name="sales", rate_bp=5)
        await service.enter_base(rule["id"], f"{this_year - 1}Q2", 1_000_000)
    for _ in range(2):
        [job] = await run_jobs(infra, queue_name, ("funds_housekeeping", {"tenant_id": tenant["tenant_id"]}))
        assert job.status == Status.COMPLETE, job.error
    async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
        [period], _total, _more = await service.period_page(codes={"CARE"})
        new = await service.fund_by_code("CARE", this_year)
    assert period["overdue_flagged"] and period["status"] == "overdue"
    assert new is not None
    assert (await balances_of(tenant, new["id"]))["available"] == 12_345
    assert (await balances_of(tenant, last["id"]))["carried_forward"] == 12_345
    assert await balanced(tenant, last["id"]) and await balanced(tenant, new["id"])
