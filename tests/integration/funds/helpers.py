"""Shared set-up of the funds tests: a fund with money in it, inside a tenant's scope."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from careclub.core.db import tenant_scope
from careclub.funds import service


async def new_fund(tenant: dict[str, Any], *, code: str = "CARE", year: int = 2026, contribute: int = 0,
                   **extra: Any) -> dict[str, Any]:
    async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
        fund = await service.create_fund(code=code, name=f"Care fund {code}", year=year, **extra)
        if contribute:
            await service.record_contribution(fund["id"], kind="reserve", source="project set-up reserve",
                                              amount=contribute, received_on=date(year, 1, 5))
        return await service.get_fund(None, fund["id"])


async def balances_of(tenant: dict[str, Any], fund_id: uuid.UUID) -> dict[str, int]:
    async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
        return (await service.balances([fund_id]))[fund_id]


async def balanced(tenant: dict[str, Any], fund_id: uuid.UUID) -> bool:
    async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
        return bool((await service.trial_balance(fund_id))["balanced"])
