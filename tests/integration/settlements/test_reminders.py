"""The daily job: a month over with confirmed payments reminds the property company to submit it, a settlement
close to its due date reminds whoever holds it up; each once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from careclub.approvals.tables import Notification
from careclub.core import clock
from careclub.core.db import tenant_scope
from careclub.settlements import jobs
from tests.integration.settlements.helpers import YY, approved_budget, confirm, make_world, ok, pay, set_stage, walk


async def notified(w: Any, kind: str) -> set[str]:
    async with tenant_scope(w.tenant_id):
        rows = await Notification.select(Notification.user_id).where(Notification.kind == kind)
    return {w.by_id[str(r["user_id"])] for r in rows}


async def test_month_end_and_due_date_reminders(client: Any) -> None:
    w = await make_world(client)
    await set_stage(client, w, YY, "pre_move_in")
    b = await approved_budget(client, w, project=YY, month="2026-11", amounts=["100.00"])
    await confirm(client, w, (await pay(client, w, b["lines"][0]["id"], "100.00", "2026-11-30"))["id"])
    run = lambda: jobs.settlements_tenant({}, tenant_id=str(w.tenant_id))  # noqa: E731
    assert (await run())["to_submit"] == 1  # November is over (today is 1 December)
    assert await run() == {"to_submit": 0, "due_soon": 0}
    # the project's preparers, and nobody of the other project
    people = await notified(w, "settlement_to_submit")
    assert {"property", "property-finance", "property-lead", "lv.wuye", "admin"} <= people
    assert "property2" not in people and "fang.wuye" not in people
    s = await ok(await client.post("/api/v1/settlements", headers=w.h("property-finance"),
                                   json={"project": YY, "month": "2026-11"}), 201)
    s = await ok(await client.post(f"/api/v1/settlements/{s['id']}/submit", headers=w.h("property-finance")))
    await walk(client, w, s["approval_request"], stop_after=2)  # waiting on the sales group now
    try:
        clock.travel(timedelta(days=18))  # 19 December: due on the 22nd, three days on
        assert (await run())["due_soon"] == 1
        assert (await run())["due_soon"] == 0
    finally:
        clock.reset()
    assert await notified(w, "settlement_due_soon") == {"sales-lead", "xu.yingxiao"}  # the project is before move-in
