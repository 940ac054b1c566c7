"""天人车友俱乐部 (tenants/tianren-car-club.toml, seed 002 第五篇: the 365-CNY VIP card).

Platform part: identity, the three service areas and the call centre, club manager, dispatcher,
merchant operator, member. Later issues add here: the VIP plan, partner merchants, rescue and
washing benefits with quotas, card TR-000001, QR check-ins at the merchant."""

from __future__ import annotations

from typing import Any

from tests.scenarios.helpers import (
    Scenario,
    visible_unit_codes,
)

SLUG = "tianren-car-club"


async def test_merchant_operator_cannot_reach_staff_or_organisation(client: Any, scenario: Scenario) -> None:
    headers = scenario.as_("merchant@tianren-car-club.example")
    assert await visible_unit_codes(client, headers) == 403
    assert (await client.get("/api/v1/staff", headers=headers)).status_code == 403


async def test_member_cannot_reach_staff(client: Any, scenario: Scenario) -> None:
    headers = scenario.as_("member@tianren-car-club.example")
    assert (await client.get("/api/v1/staff", headers=headers)).status_code == 403
