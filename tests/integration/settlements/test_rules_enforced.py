"""What must hold whatever the order of events: racing confirmations and payments, unconfirmed payments
never settled, an approved month never changed (corrections go into the next), late approvals flagged
after the approval core escalated, and each party seeing only what it may."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from careclub.approvals import service as approvals_service
from careclub.core import clock
from careclub.core.db import tenant_scope
from tests.integration.settlements.helpers import (
    GY,
    YY,
    approved_budget,
    budget,
    confirm,
    make_world,
    money,
    ok,
    pay,
    walk,
)


async def as_owner(owner: Any, tenant_id: Any, sql: str, *args: Any) -> None:
    """Hand-written SQL as the tables' owner, inside the company's context (row-level security is forced)."""
    async with owner.transaction():
        await owner.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant_id))
        await owner.execute(sql, *args)


async def compile_month(client: Any, w: Any, project: str, month: str, status: int = 201,
                        who: str = "property-finance") -> Any:
    return await ok(await client.post("/api/v1/settlements", headers=w.h(who),
                                      json={"project": project, "month": month}), status)


async def test_racing_confirmations_of_one_payment(client: Any) -> None:
    w = await make_world(client)
    b = await approved_budget(client, w, project=YY, month="2026-11", amounts=["800.00"])
    p = await pay(client, w, b["lines"][0]["id"], "800.00", "2026-11-03")
    deciders = ["sales-lead", "cs-lead", "mcs", "admin"] * 2
    answers = await asyncio.gather(*[
        client.post(f"/api/v1/settlement-payments/{p['id']}/confirm", headers=w.h(who)) if i % 3 else
        client.post(f"/api/v1/settlement-payments/{p['id']}/refuse", headers=w.h(who), json={"reason": "no receipt"})
        for i, who in enumerate(deciders)])
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] + [409] * 7, [r.text for r in answers]
    assert all(r.json()["error"]["code"] == "payment_already_decided" for r in answers if r.status_code == 409)
    final = await ok(await client.get(f"/api/v1/settlement-payments/{p['id']}", headers=w.h("auditor")))
    winner = next(r for r in answers if r.status_code == 200).json()
    assert final["status"] == winner["status"] in ("confirmed", "refused")


async def test_racing_payments_against_one_line_never_exceed_it(client: Any) -> None:
    w = await make_world(client)
    b = await approved_budget(client, w, project=YY, month="2026-11", amounts=["300.00"])
    answers = await asyncio.gather(*[client.post("/api/v1/settlement-payments", headers=w.h("property"), json={
        "line": b["lines"][0]["id"], "amount": money("100.00"), "paid_on": "2026-11-05", "payee": f"P{i}"})
        for i in range(8)])
    assert sorted(r.status_code for r in answers) == [201] * 3 + [409] * 5
    assert {r.json()["error"]["code"] for r in answers if r.status_code == 409} == {"exceeds_budget_line"}
    line = (await ok(await client.get(f"/api/v1/settlement-budgets/{b['id']}", headers=w.h("property"))))["lines"][0]
    assert line["pending"]["amount"] == "300.00" and line["remaining"]["amount"] == "0.00"


async def test_racing_compiles_make_one_settlement(client: Any) -> None:
    w = await make_world(client)
    b = await approved_budget(client, w, project=YY, month="2026-11", amounts=["300.00"])
    await confirm(client, w, (await pay(client, w, b["lines"][0]["id"], "300.00", "2026-11-05"))["id"])
    answers = await asyncio.gather(*[client.post("/api/v1/settlements", headers=w.h("property-finance"),
                                                 json={"project": YY, "month": "2026-11"}) for _ in range(6)])
    assert [r.status_code for r in answers] == [201] * 6
    assert len({r.json()["id"] for r in answers}) == 1
    assert {r.json()["confirmed_cost"]["amount"] for r in answers} == {"300.00"}


async def test_unconfirmed_and_refused_payments_are_never_settled(client: Any, owner: Any) -> None:
    w = await make_world(client)
    b = await approved_budget(client, w, project=YY, month="2026-11", amounts=["500.00", "200.00"])
    waiting = await pay(client, w, b["lines"][0]["id"], "120.00", "2026-11-05")
    refused = await pay(client, w, b["lines"][1]["id"], "200.00", "2026-11-06")
    r = await client.post(f"/api/v1/settlement-payments/{refused['id']}/refuse", headers=w.h("cs-lead"),
                          json={"reason": " "})
    assert r.status_code == 422 and r.json()["error"]["field"] == "reason"
    await ok(await client.post(f"/api/v1/settlement-payments/{refused['id']}/refuse", headers=w.h("cs-lead"),
                               json={"reason": "发票抬头错误"}))
    s = await compile_month(client, w, YY, "2026-11")
    assert s["payment_count"] == 0 and s["confirmed_cost"]["amount"] == "0.00" and s["waiting_count"] == 1
    r = await client.post(f"/api/v1/settlements/{s['id']}/submit", headers=w.h("property-finance"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "nothing_to_settle"
    # the database itself refuses a settled payment that is not confirmed
    with pytest.raises(Exception, match="settlement_payment_settled"):
        await as_owner(owner, w.tenant_id, "UPDATE settlement_payment SET settlement = $1 WHERE id = $2",
                       s["id"], waiting["id"])
    # a refused payment frees its line again
    line = (await ok(await client.get(f"/api/v1/settlement-budgets/{b['id']}", headers=w.h("property"))))["lines"][1]
    assert line["remaining"]["amount"] == "200.00"


async def test_an_approved_month_never_changes_and_corrections_go_into_the_next(client: Any, owner: Any) -> None:
    w = await make_world(client)
    b = await approved_budget(client, w, project=YY, month="2026-10", amounts=["1000.00"])
    await confirm(client, w, (await pay(client, w, b["lines"][0]["id"], "1000.00", "2026-10-09"))["id"])
    s = await compile_month(client, w, YY, "2026-10")
    s = await ok(await client.post(f"/api/v1/settlements/{s['id']}/submit", headers=w.h("property-finance")))
    r = await client.post("/api/v1/settlement-payments", headers=w.h("property"), json={
        "line": b["lines"][0]["id"], "amount": money("1.00"), "paid_on": "2026-10-30", "payee": "late"})
    assert r.status_code == 409  # the line is spent, and October is submitted
    await walk(client, w, s["approval_request"])
    s = await ok(await client.get(f"/api/v1/settlements/{s['id']}", headers=w.h("auditor")))
    assert s["status"] == "approved" and s["late"] is True  # October's was due on 22 November
    again = await compile_month(client, w, YY, "2026-10", status=409)
    assert again["error"]["code"] == "settlement_locked"
    with pytest.raises(Exception, match="is approved and cannot change"):
        await as_owner(owner, w.tenant_id, "UPDATE settlement SET total = 1 WHERE id = $1", s["id"])
    with pytest.raises(Exception, match="is approved and cannot change"):
        await as_owner(owner, w.tenant_id, "DELETE FROM settlement WHERE id = $1", s["id"])
    corrected = await ok(await client.post(f"/api/v1/settlements/{s['id']}/adjustments",
                                           headers=w.h("property-finance"),
                                           json={"cost_type": "purchase", "amount": "-100.05",
                                                 "reason": "供应商退款"}), 201)
    assert corrected["total"]["amount"] == "1100.00" and corrected["corrections"][0]["month"] == "2026-11"
    nov = await compile_month(client, w, YY, "2026-11")
    assert nov["adjustments"]["amount"] == "-100.05" and nov["confirmed_cost"]["amount"] == "-100.05"
    assert nov["management_fee"]["amount"] == "-10.01"  # half away from zero: the reversal of 10.005


async def test_a_late_step_is_escalated_and_the_month_marked_late(client: Any) -> None:
    w = await make_world(client)
    b = await approved_budget(client, w, project=GY, month="2026-11", amounts=["12345.65"], who="property2")
    await confirm(client, w, (await pay(client, w, b["lines"][0]["id"], "12345.65", "2026-11-20",
                                        who="property2"))["id"], who="sales-lead")
    s = await compile_month(client, w, GY, "2026-11")
    assert s["management_fee"]["amount"] == "1234.57" and s["total"]["amount"] == "13580.22"
    assert s["due_on"] == "2026-12-22"
    s = await ok(await client.post(f"/api/v1/settlements/{s['id']}/submit", headers=w.h("property-finance")))
    await walk(client, w, s["approval_request"], stop_after=1)
    try:
        clock.travel(timedelta(days=25))
        async with tenant_scope(w.tenant_id):
            swept = await approvals_service.sweep_deadlines()
        assert swept["escalated"] >= 1
        detail = await ok(await client.get(f"/api/v1/approvals/requests/{s['approval_request']}",
                                           headers=w.h("admin")))
        assert any(e["kind"] == "escalated" for e in detail["timeline"])
        await walk(client, w, s["approval_request"])
    finally:
        clock.reset()
    s = await ok(await client.get(f"/api/v1/settlements/{s['id']}", headers=w.h("property2")))
    assert s["status"] == "approved" and s["late"] is True


async def test_each_party_sees_only_its_projects_and_the_auditor_changes_nothing(client: Any) -> None:
    w = await make_world(client)
    b = await approved_budget(client, w, project=YY, month="2026-11", amounts=["900.00"])
    p = await pay(client, w, b["lines"][0]["id"], "900.00", "2026-11-05")
    s = await compile_month(client, w, YY, "2026-11")
    # property staff of the other project: 404 for each, absent from lists
    for path in (f"/api/v1/settlement-budgets/{b['id']}", f"/api/v1/settlement-payments/{p['id']}",
                 f"/api/v1/settlements/{s['id']}", f"/api/v1/settlement-projects/{YY}"):
        r = await client.get(path, headers=w.h("property2"))
        assert r.status_code == 404, (path, r.text)
    assert await ok(await client.get("/api/v1/settlements", headers=w.h("property2"))) == []
    assert (await ok(await client.get("/api/v1/settlement-budgets", headers=w.h("property2"))))["total"] == 0
    assert (await ok(await client.get("/api/v1/settlement-payments", headers=w.h("property2"))))["items"] == []
    assert [x["code"] for x in await ok(await client.get("/api/v1/settlement-projects",
                                                         headers=w.h("property2")))] == [GY]
    r = await client.post("/api/v1/settlement-payments", headers=w.h("property2"), json={
        "line": b["lines"][0]["id"], "amount": money("1.00"), "paid_on": "2026-11-05", "payee": "x"})
    assert r.status_code == 404
    r = await client.get("/api/v1/settlements", headers=w.h("property2"), params={"project": YY})
    assert r.status_code == 404
    # the developer's auditor reads every account ...
    assert [x["id"] for x in await ok(await client.get("/api/v1/settlements", headers=w.h("auditor")))] == [s["id"]]
    await ok(await client.get(f"/api/v1/settlement-payments/{p['id']}", headers=w.h("auditor")))
    # ... and changes nothing
    writes = [
        ("post", "/api/v1/settlements", {"project": YY, "month": "2026-11"}),
        ("post", f"/api/v1/settlements/{s['id']}/submit", None),
        ("post", f"/api/v1/settlement-payments/{p['id']}/confirm", None),
        ("post", f"/api/v1/settlement-payments/{p['id']}/refuse", {"reason": "x"}),
        ("post", "/api/v1/settlement-payments", {"line": b["lines"][0]["id"], "amount": money("1.00"),
                                                 "paid_on": "2026-11-05", "payee": "x"}),
        ("put", f"/api/v1/settlement-projects/{YY}", {"stage": "pre_move_in"}),
        ("put", "/api/v1/settlement-terms", {"fee_rate": "12", "due_day": 20}),
        ("post", f"/api/v1/settlement-budgets/{b['id']}/submit", None),
    ]
    for method, path, body in writes:
        r = await getattr(client, method)(path, headers=w.h("auditor"), **({"json": body} if body else {}))
        assert r.status_code in (403, 404), (path, r.status_code, r.text)
    r = await client.post("/api/v1/settlement-budgets", headers=w.h("auditor"), json={
        "project": YY, "kind": "monthly", "month": "2026-11", "title": "x", "cost_type": "staff",
        "lines": [{"description": "x", "amount": money("1.00")}]})
    assert r.status_code == 403
    after = await ok(await client.get(f"/api/v1/settlement-payments/{p['id']}", headers=w.h("auditor")))
    assert after["status"] == "recorded"


async def test_two_companies_never_see_each_others_accounts(client: Any) -> None:
    a, b = await make_world(client), await make_world(client)
    budget_a = await approved_budget(client, a, project=YY, month="2026-11", amounts=["700.00"])
    pay_a = await pay(client, a, budget_a["lines"][0]["id"], "700.00", "2026-11-05")
    s_a = await compile_month(client, a, YY, "2026-11")
    draft_b = await budget(client, b, "property", project=YY, kind="monthly", month="2026-11", amounts=["1.00"])
    for path in (f"/api/v1/settlement-budgets/{budget_a['id']}", f"/api/v1/settlement-payments/{pay_a['id']}",
                 f"/api/v1/settlements/{s_a['id']}"):
        r = await client.get(path, headers=b.h("admin"))
        assert r.status_code == 404, (path, r.text)
    r = await client.post(f"/api/v1/settlement-payments/{pay_a['id']}/confirm", headers=b.h("admin"))
    assert r.status_code == 404
    r = await client.post("/api/v1/settlement-payments", headers=b.h("admin"), json={
        "line": budget_a["lines"][0]["id"], "amount": money("1.00"), "paid_on": "2026-11-05", "payee": "x"})
    assert r.status_code == 404
    assert await ok(await client.get("/api/v1/settlements", headers=b.h("admin"))) == []
    listed = await ok(await client.get("/api/v1/settlement-budgets", headers=b.h("admin")))
    assert [x["id"] for x in listed["items"]] == [draft_b["id"]]
    assert (await ok(await client.get("/api/v1/settlement-payments", headers=b.h("admin"))))["items"] == []
    # the same budget number in both companies: numbers are per company and project
    assert draft_b["number"] == budget_a["number"]
    # the running sums, phases, terms and corrections stay in their company too
    await ok(await client.post(f"/api/v1/settlement-projects/{YY}/phases", headers=a.h("admin"),
                               json={"code": "A-ONLY", "name": "A", "stage": "pre_move_in"}))
    await ok(await client.put("/api/v1/settlement-terms", headers=a.h("admin"), json={"fee_rate": "7.5",
                                                                                    "due_day": 15}))
    report_b = await ok(await client.get("/api/v1/settlement-reports/budget-vs-actual", headers=b.h("admin"),
                                         params={"year": 2026}))
    assert report_b["projects"] == [] and report_b["total"]["budget"]["amount"] == "0.00"
    report_a = await ok(await client.get("/api/v1/settlement-reports/budget-vs-actual", headers=a.h("admin"),
                                         params={"year": 2026}))
    assert report_a["total"]["budget"]["amount"] == "700.00"
    phases_b = (await ok(await client.get(f"/api/v1/settlement-projects/{YY}", headers=b.h("admin"))))["phases"]
    assert "A-ONLY" not in {p["code"] for p in phases_b}
    terms_b = await ok(await client.get("/api/v1/settlement-terms", headers=b.h("admin")))
    assert (terms_b["fee_rate"], terms_b["due_day"]) == ("10.00", 22)


async def test_a_month_above_its_budget_goes_to_the_regional_head(client: Any) -> None:
    w = await make_world(client)
    oct_form = await approved_budget(client, w, project=GY, month="2026-10", amounts=["1000.00"], who="property2")
    await confirm(client, w, (await pay(client, w, oct_form["lines"][0]["id"], "1000.00", "2026-10-09",
                                        who="property2"))["id"], who="sales-lead")
    october = await compile_month(client, w, GY, "2026-10")
    october = await ok(await client.post(f"/api/v1/settlements/{october['id']}/submit",
                                         headers=w.h("property-finance")))
    await walk(client, w, october["approval_request"])
    # October under-counted a supplier's invoice: 500.00 more, carried into November
    await ok(await client.post(f"/api/v1/settlements/{october['id']}/adjustments", headers=w.h("property-finance"),
                               json={"cost_type": "special", "amount": "500.00", "reason": "补计10月保洁费"}), 201)
    nov_form = await approved_budget(client, w, project=GY, month="2026-11", amounts=["200.00"], who="property2")
    await confirm(client, w, (await pay(client, w, nov_form["lines"][0]["id"], "200.00", "2026-11-02",
                                        who="property2"))["id"], who="sales-lead")
    november = await compile_month(client, w, GY, "2026-11")
    assert (november["confirmed_cost"]["amount"], november["budget_total"]["amount"]) == ("700.00", "200.00")
    november = await ok(await client.post(f"/api/v1/settlements/{november['id']}/submit",
                                          headers=w.h("property-finance")))
    walked = await walk(client, w, november["approval_request"])
    assert [n for n, _ in walked][-1] == "区域分管总审定"
    assert walked[-1][1] == ["regional"]


async def test_a_withdrawn_month_is_a_draft_again(client: Any) -> None:
    w = await make_world(client)
    form = await approved_budget(client, w, project=GY, month="2026-11", amounts=["80.00"], who="property2")
    await confirm(client, w, (await pay(client, w, form["lines"][0]["id"], "80.00", "2026-11-02",
                                        who="property2"))["id"], who="sales-lead")
    s = await compile_month(client, w, GY, "2026-11")
    s = await ok(await client.post(f"/api/v1/settlements/{s['id']}/submit", headers=w.h("property-finance")))
    s = await ok(await client.post(f"/api/v1/settlements/{s['id']}/withdraw", headers=w.h("property-finance")))
    assert (s["status"], s["payment_count"]) == ("draft", 1)
    assert s["payments"] == []  # released with the month: compiled again, they are taken again
    s = await compile_month(client, w, GY, "2026-11")
    assert (s["status"], len(s["payments"])) == ("draft", 1)


async def test_a_correction_made_by_mistake_is_taken_back_until_a_month_in_approval_takes_it(client: Any) -> None:
    w = await make_world(client)
    form = await approved_budget(client, w, project=GY, month="2026-10", amounts=["500.00"], who="property2")
    await confirm(client, w, (await pay(client, w, form["lines"][0]["id"], "500.00", "2026-10-09",
                                        who="property2"))["id"], who="sales-lead")
    october = await compile_month(client, w, GY, "2026-10")
    october = await ok(await client.post(f"/api/v1/settlements/{october['id']}/submit",
                                         headers=w.h("property-finance")))
    await walk(client, w, october["approval_request"])
    fix = lambda amount: client.post(f"/api/v1/settlements/{october['id']}/adjustments",  # noqa: E731
                                     headers=w.h("property-finance"),
                                     json={"cost_type": "staff", "amount": amount, "reason": "typo"})
    wrong = (await ok(await fix("-5000.00"), 201))["corrections"][0]
    r = await client.delete(f"/api/v1/settlement-adjustments/{wrong['id']}", headers=w.h("auditor"))
    assert r.status_code == 403
    r = await client.delete(f"/api/v1/settlement-adjustments/{wrong['id']}", headers=w.h("property-finance"))
    assert r.status_code == 204, r.text
    right = (await ok(await fix("-50.00"), 201))["corrections"][0]
    november = await compile_month(client, w, GY, "2026-11")
    assert november["adjustments"]["amount"] == "-50.00"
    # a draft that took it lets it go, and is compiled again without it
    assert (await client.delete(f"/api/v1/settlement-adjustments/{right['id']}",
                                headers=w.h("property-finance"))).status_code == 204
    november = await ok(await client.get(f"/api/v1/settlements/{november['id']}", headers=w.h("auditor")))
    assert november["adjustments"]["amount"] == "0.00" and november["adjustments_taken"] == []
    kept = (await ok(await fix("-50.00"), 201))["corrections"][0]
    await compile_month(client, w, GY, "2026-11")
    november = await ok(await client.post(f"/api/v1/settlements/{november['id']}/submit",
                                          headers=w.h("property-finance")))
    r = await client.delete(f"/api/v1/settlement-adjustments/{kept['id']}", headers=w.h("property-finance"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "adjustment_settled"


async def test_whoever_reads_the_account_reads_its_approval_request(client: Any) -> None:
    w = await make_world(client)
    form = await approved_budget(client, w, project=YY, month="2026-11", amounts=["10.00"])
    path = f"/api/v1/approvals/requests/{form['approval_request']}"
    seen = await ok(await client.get(path, headers=w.h("auditor")))  # on no step of it: reads it all the same
    assert seen["subject_id"] == form["id"] and not any(s["can_decide"] for s in seen["steps"])
    assert (await client.get(path, headers=w.h("property2"))).status_code == 404  # the other project's staff
    other = await make_world(client)
    assert (await client.get(path, headers=other.h("auditor"))).status_code == 404  # another company
