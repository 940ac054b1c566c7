"""The running sums behind budget against actual stay equal to a recount from the forms and payments, whatever
the order and concurrency of the writes that move them."""

from __future__ import annotations

import asyncio
from typing import Any

from careclub.core.db import tenant_scope
from careclub.settlements.service import _figures
from careclub.settlements.tables import SettlementFigure
from tests.integration.settlements.helpers import GY, YY, approved_budget, make_world, money, ok


async def sums(tenant_id: Any) -> dict[tuple[Any, ...], tuple[int, ...]]:
    async with tenant_scope(tenant_id):
        rows = await SettlementFigure.select()
    return {(r["project_id"], r["month"], r["cost_type"]): (r["budget"], r["annual"], r["confirmed"], r["pending"])
            for r in rows if any((r["budget"], r["annual"], r["confirmed"], r["pending"]))}


async def test_running_sums_equal_a_recount(client: Any) -> None:
    w = await make_world(client)
    await approved_budget(client, w, project=GY, month="2026-01", kind="annual", amounts=["120000.00", "3000.00"],
                          cost_type=None, who="property2")
    forms = [await approved_budget(client, w, project=YY, month="2026-11", amounts=["500.00", "250.00"]),
             await approved_budget(client, w, project=GY, month="2026-11", amounts=["900.00"], cost_type="staff",
                                   who="property2")]
    recorded = await asyncio.gather(*[client.post("/api/v1/settlement-payments", headers=w.h(who), json={
        "line": line, "amount": money(amount), "paid_on": "2026-11-10", "payee": "P"})
        for who, line, amount in [("property", forms[0]["lines"][0]["id"], "100.00"),
                                  ("property", forms[0]["lines"][0]["id"], "150.50"),
                                  ("property", forms[0]["lines"][1]["id"], "250.00"),
                                  ("property2", forms[1]["lines"][0]["id"], "899.99")]])
    ids = [(await ok(r, 201))["id"] for r in recorded]
    # confirmations and refusals racing each other on the same payments
    await asyncio.gather(*[client.post(f"/api/v1/settlement-payments/{pid}/{verb}", headers=w.h(who),
                                       json={"reason": "no receipt"} if verb == "refuse" else None)
                           for pid in ids[:3] for verb, who in (("confirm", "cs-lead"), ("refuse", "sales-lead"),
                                                                ("confirm", "mcs"))])
    running = await sums(w.tenant_id)
    async with tenant_scope(w.tenant_id):
        await _figures.rebuild()
    assert running == await sums(w.tenant_id)
    assert sum(v[0] for v in running.values()) == 165000  # the two November forms (the annual one apart)
    assert sum(v[1] for v in running.values()) == 12300000
    assert sum(v[3] for v in running.values()) == 89999  # the fourth payment still awaits confirmation
    report = await ok(await client.get("/api/v1/settlement-reports/budget-vs-actual", headers=w.h("auditor"),
                                       params={"year": 2026}))
    assert report["total"]["pending"]["amount"] == "899.99"
