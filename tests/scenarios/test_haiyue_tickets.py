"""海悦地产 (tenants/haiyue-residential.toml, seed 001): the estate's complaints and repairs, and the
customer-service manager's contact slips to the departments, whose heads answer for them."""

from __future__ import annotations

from typing import Any

from tests.scenarios.helpers import Scenario
from tests.scenarios.tickets_steps import raise_, read, step, unit_id

SLUG = "haiyue-residential"
E = "@haiyue-residential.example"


def who(scenario: Scenario, name: str) -> dict[str, str]:
    return scenario.as_(f"{name}{E}")


async def test_an_owners_complaint_reopened_after_a_bad_rating_then_closed(client: Any, scenario: Scenario) -> None:
    flat = await unit_id(SLUG, "1", "1102")
    owner, clerk = who(scenario, "owner"), who(scenario, "clerk")
    t = await raise_(client, owner, type="complaint", title="楼道灯坏了一周没人修", unit=flat)
    await step(client, clerk, t["id"], "accepted")
    await step(client, clerk, t["id"], "resolved", note="已更换灯管")
    t = await step(client, owner, t["id"], "visited", satisfaction=2, reason="slow", note="拖了一周")
    assert t["status"] == "in_progress" and t["reopen_count"] == 1
    await step(client, clerk, t["id"], "resolved", note="增加每周巡查")
    await step(client, clerk, t["id"], "visited", satisfaction=4, reason="satisfied", note="电话回访")
    t = await step(client, clerk, t["id"], "closed")
    assert t["status"] == "closed"
    # the neighbour's owner account does not exist; the other owner's flat is not his
    r = await client.post("/api/v1/tickets", headers=owner, json={
        "type": "repair", "title": "x", "unit": await unit_id(SLUG, "1", "1103")})
    assert r.status_code == 422 and r.json()["error"]["field"] == "unit"


async def test_a_serious_complaint_reaches_the_customer_service_manager(client: Any, scenario: Scenario) -> None:
    flat = await unit_id(SLUG, "1", "1102")
    t = await raise_(client, who(scenario, "clerk"), type="complaint", title="外墙渗水导致室内墙面发霉",
                     unit=flat, priority="urgent")
    seen = await read(client, who(scenario, "csm"), t["id"])
    assert "escalated" in [e["kind"] for e in seen["timeline"]]


async def test_a_contact_slip_to_engineering_scored_on_its_department(client: Any, scenario: Scenario) -> None:
    ids = await scenario.unit_ids(client)
    flat = await unit_id(SLUG, "1", "1102")
    csm, eng = who(scenario, "csm"), who(scenario, "engineering")
    slip = await raise_(client, csm, type="contact_slip", title="1-1102 外墙渗水整改", unit=flat,
                        department=ids["ENG"], description="按投诉内容分发客户服务联系单")
    assert slip["number"].startswith("LX-")
    seen = await read(client, eng, slip["id"])
    assert seen["department"] == ids["ENG"] and "accepted" in seen["allowed_transitions"]
    # marketing's head does not see engineering's slip
    assert (await client.get(f"/api/v1/tickets/{slip['id']}", headers=who(scenario, "clerk"))).status_code == 404
    await step(client, eng, slip["id"], "accepted")
    await step(client, eng, slip["id"], "resolved", note="外墙防水修补完成")
    await step(client, csm, slip["id"], "visited", satisfaction=5, reason="satisfied", note="回访业主满意")
    t = await step(client, csm, slip["id"], "closed")
    assert t["status"] == "closed" and not t["breached"]


async def test_a_repair_signed_off_by_the_owner(client: Any, scenario: Scenario) -> None:
    flat = await unit_id(SLUG, "1", "1102")
    owner, clerk = who(scenario, "owner"), who(scenario, "clerk")
    t = await raise_(client, owner, type="repair", title="卫生间地漏堵塞", unit=flat)
    await step(client, clerk, t["id"], "accepted")
    await step(client, clerk, t["id"], "resolved")
    mine = await read(client, owner, t["id"])
    assert set(mine["allowed_transitions"]) == {"confirmed", "in_progress"}
    await step(client, owner, t["id"], "in_progress", note="还是慢")  # a dispute: the work goes back
    await step(client, clerk, t["id"], "resolved", note="疏通并更换地漏芯")
    await step(client, owner, t["id"], "confirmed")
    await step(client, owner, t["id"], "visited", satisfaction=5, reason="satisfied")
    t = await step(client, clerk, t["id"], "closed")
    assert t["status"] == "closed" and t["reopen_count"] == 1
