"""Budget against actual and the month's application form: the figures per project, cost type and month (refused
payments count for nothing, those awaiting confirmation apart), scoped to the projects in reach, on the API, the
page and its Excel download; the settlement as the guide's form, opened with openpyxl."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar
from openpyxl import load_workbook

from careclub.core import sessions
from careclub.web.exports import XLSX
from tests.integration.platform.pages import browser
from tests.integration.settlements.helpers import (
    GY,
    YY,
    World,
    approved_budget,
    budget,
    confirm,
    make_world,
    ok,
    pay,
    walk,
)

REPORT = "/api/v1/settlement-reports/budget-vs-actual"


@asynccontextmanager
async def as_user(app: Litestar, w: World, who: str, lang: str = "en") -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in as one of the world's people (a session of their own)."""
    user_id = next(uuid.UUID(i) for i, short in w.by_id.items() if short == who)
    async with browser(app, lang=lang) as c:
        session_id = await sessions.create(w.tenant_id, user_id, idle_seconds=3600, absolute_seconds=7200)
        c.cookies.set(sessions.COOKIE, session_id, domain="testserver.local")
        yield c


def workbook_rows(r: httpx.Response) -> list[tuple[Any, ...]]:
    assert r.status_code == 200 and r.headers["content-type"].startswith(XLSX), (r.status_code, r.text[:300])
    return list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))


async def _refuse(client: httpx.AsyncClient, w: World, payment: str) -> Any:
    return await ok(await client.post(f"/api/v1/settlement-payments/{payment}/refuse", headers=w.h("cs-lead"),
                                      json={"reason": "no receipt"}))


async def _year(client: httpx.AsyncClient, w: World) -> dict[str, Any]:
    """Two projects' year: approved forms, a draft, payments confirmed, refused and awaiting confirmation."""
    purchase = await approved_budget(client, w, project=YY, month="2026-10", amounts=["1000.00", "500.00"])
    staff = await approved_budget(client, w, project=YY, month="2026-10", amounts=["3000.00"], cost_type="staff")
    special = await approved_budget(client, w, project=YY, month="2026-11", amounts=["800.00"], kind="unplanned",
                                    cost_type="special")
    await approved_budget(client, w, project=YY, month="2026-01", amounts=["50000.00", "20000.00"], kind="annual",
                          cost_type="purchase")
    await budget(client, w, "property", project=YY, kind="monthly", month="2026-10", amounts=["999.00"])  # a draft
    p1, p2 = purchase["lines"][0]["id"], purchase["lines"][1]["id"]
    await confirm(client, w, (await pay(client, w, p1, "400.00", "2026-10-05"))["id"])
    await _refuse(client, w, (await pay(client, w, p1, "100.00", "2026-10-06"))["id"])
    await pay(client, w, p2, "250.00", "2026-10-07")  # awaiting confirmation
    await confirm(client, w, (await pay(client, w, p2, "200.00", "2026-11-02"))["id"])  # November: no budget
    await confirm(client, w, (await pay(client, w, staff["lines"][0]["id"], "2900.00", "2026-10-10"))["id"])
    await confirm(client, w, (await pay(client, w, special["lines"][0]["id"], "800.00", "2026-11-03"))["id"])
    other = await approved_budget(client, w, project=GY, month="2026-10", amounts=["700.00"], who="property2")
    await confirm(client, w, (await pay(client, w, other["lines"][0]["id"], "650.00", "2026-10-08",
                                        who="property2"))["id"], who="sales-lead")
    return {"purchase": purchase}


def _rows(project: dict[str, Any]) -> dict[tuple[str, str], tuple[str, str, str, str, bool]]:
    return {(r["month"], r["cost_type"]): (r["budget"]["amount"], r["actual"]["amount"], r["pending"]["amount"],
                                           r["variance"]["amount"], r["over_budget"]) for r in project["rows"]}


async def test_budget_vs_actual_per_type_and_month(client: Any) -> None:
    w = await make_world(client)
    await _year(client, w)
    report = await ok(await client.get(REPORT, headers=w.h("auditor"), params={"year": 2026}))
    assert report["year"] == 2026 and report["currency"] == "CNY"
    assert [p["project"] for p in report["projects"]] == [GY, YY]
    yy = report["projects"][1]
    assert _rows(yy) == {
        # the draft's 999.00 and the refused 100.00 count for nothing; 250.00 awaits confirmation
        ("2026-10", "staff"): ("3000.00", "2900.00", "0.00", "100.00", False),
        ("2026-10", "purchase"): ("1500.00", "400.00", "250.00", "1100.00", False),
        ("2026-11", "purchase"): ("0.00", "200.00", "0.00", "-200.00", True),
        ("2026-11", "special"): ("800.00", "800.00", "0.00", "0.00", False),
    }
    assert [r["month"] for r in yy["rows"]] == ["2026-10", "2026-10", "2026-11", "2026-11"]
    months = {m["month"]: (m["budget"]["amount"], m["actual"]["amount"]) for m in yy["months"]}
    assert months == {"2026-10": ("4500.00", "3300.00"), "2026-11": ("800.00", "1000.00")}
    types = {t["cost_type"]: (t["annual_budget"]["amount"], t["actual"]["amount"], t["annual_variance"]["amount"])
             for t in yy["types"]}
    assert types["purchase"] == ("70000.00", "600.00", "69400.00")
    assert types["staff"] == ("0.00", "2900.00", "-2900.00")
    assert yy["total"]["actual"]["amount"] == "4300.00" and yy["total"]["pending"]["amount"] == "250.00"
    assert yy["total"]["annual_budget"]["amount"] == "70000.00"
    assert _rows(report["projects"][0]) == {("2026-10", "purchase"): ("700.00", "650.00", "0.00", "50.00", False)}
    assert report["total"]["actual"]["amount"] == "4950.00" and report["total"]["budget"]["amount"] == "6000.00"
    # another year holds none of it
    empty = await ok(await client.get(REPORT, headers=w.h("auditor"), params={"year": 2025}))
    assert empty["projects"] == [] and empty["total"]["actual"]["amount"] == "0.00"
    one = await ok(await client.get(REPORT, headers=w.h("auditor"), params={"year": 2026, "project": GY}))
    assert [p["project"] for p in one["projects"]] == [GY]
    bad = await client.get(REPORT, headers=w.h("auditor"), params={"year": "nineteen"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "year", bad.text


async def test_budget_vs_actual_scoped_to_projects_in_reach(client: Any) -> None:
    w = await make_world(client)
    await _year(client, w)
    mine = await ok(await client.get(REPORT, headers=w.h("property2"), params={"year": 2026}))
    assert [p["project"] for p in mine["projects"]] == [GY]
    assert mine["total"]["actual"]["amount"] == "650.00"
    other = await client.get(REPORT, headers=w.h("property2"), params={"year": 2026, "project": YY})
    assert other.status_code == 404 and other.json()["error"]["code"] == "project_not_found"
    theirs = await ok(await client.get(REPORT, headers=w.h("property"), params={"year": 2026}))
    assert [p["project"] for p in theirs["projects"]] == [YY]
    due = await ok(await client.get("/api/v1/settlement-reports/due", headers=w.h("property2")))
    assert all(d["project"] == GY for d in due)


async def test_report_page_and_download(client: Any, app: Litestar) -> None:
    w = await make_world(client)
    await _year(client, w)
    s = await ok(await client.post("/api/v1/settlements", headers=w.h("property-finance"),
                                   json={"project": YY, "month": "2026-10"}), 201)
    async with as_user(app, w, "auditor") as c:
        r = await c.get("/settlements/reports", params={"year": "2026"})
        assert r.status_code == 200, r.text[:500]
        assert 'data-project="P-HFYY"' in r.text and 'data-testid="chart-budget-vs-actual"' in r.text
        assert 'data-over="1"' in r.text  # November's purchases above their budget
        assert f'data-id="{s["id"]}"' in r.text and f'/settlements/{s["id"]}/application.xlsx' in r.text
        bad = await c.get("/settlements/reports", params={"year": "20x6"})
        assert bad.status_code == 422 and 'id="e-year"' in bad.text
        rows = workbook_rows(await c.get("/settlements/reports", params={"year": "2026", "format": "xlsx"}))
        assert rows[0][:4] == ("Project code", "Project", "Month", "Cost type")
        found = {(r[0], r[2], r[3]): r[4:] for r in rows[1:]}
        assert found[(YY, "2026-10", "purchases")] == (1500, 400, 250, 1100)
        assert found[(YY, "2026-11", "purchases")] == (0, 200, 0, -200)
        assert found[(GY, "2026-10", "purchases")] == (700, 650, 0, 50)
    async with as_user(app, w, "property2", lang="zh_CN") as c:
        r = await c.get("/settlements/reports", params={"year": "2026"})
        assert r.status_code == 200 and 'data-project="P-HFGY"' in r.text and 'data-project="P-HFYY"' not in r.text
        assert f'data-id="{s["id"]}"' not in r.text


def _by_label(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    return {r[0]: r[4] for r in rows if isinstance(r[0], str) and r[4] is not None}


async def test_application_form_xlsx(client: Any, app: Litestar) -> None:
    w = await make_world(client)
    await _year(client, w)
    s = await ok(await client.post("/api/v1/settlements", headers=w.h("property-finance"),
                                   json={"project": YY, "month": "2026-10"}), 201)
    s = await ok(await client.post(f"/api/v1/settlements/{s['id']}/submit", headers=w.h("property-finance")))
    walked = await walk(client, w, s["approval_request"])
    assert s["confirmed_cost"]["amount"] == "3300.00" and s["management_fee"]["amount"] == "330.00"
    url = f"/settlements/{s['id']}/application.xlsx"
    async with as_user(app, w, "property") as c:
        r = await c.get(url)
        rows = workbook_rows(r)
        book = load_workbook(io.BytesIO(r.content)).active
        assert book.merged_cells.ranges  # the title and the sections' headers span the form
    assert rows[0][0] == "Early-involvement cost application"
    labels = {r[0]: r[2] for r in rows if isinstance(r[0], str) and r[2] is not None}
    assert labels["Project"] == f"华府御园 ({YY})" and labels["Month"] == "2026-10"
    assert labels["Number"] == s["number"] and labels["Status"] == "Approved"
    money = _by_label(rows)
    assert float(money["Confirmed cost"]) == 3300.0
    assert float(money["Management fee (10.00 %)"]) == 330.0
    assert float(money["Total"]) == 3630.0
    subtotals = [float(r[4]) for r in rows if r[0] == "Subtotal"]
    assert subtotals == [2900.0, 0.0, 400.0, 0.0, 0.0]  # staff, admin, purchase, special, adjustments
    payments = [r for r in rows if isinstance(r[0], int) and isinstance(r[3], str) and "第" in r[3]]
    assert sorted(float(r[4]) for r in payments) == [400.0, 2900.0]  # the refused and the waiting are not in it
    assert all(r[2] == "Supplier Ltd" for r in payments)
    forms = [r[0] for r in rows if isinstance(r[0], str) and r[0].startswith("物业")]
    assert forms[:4] == ["物业人员岗位配置表 · staff positions and cost",
                         "物业行政管理费用支出表 · administration costs",
                         "物业采购申请表 · purchases", "物业服务工作确认单 · special work"]
    steps = [r[1] for r in rows if isinstance(r[0], int) and r[3] == "Approved"]
    assert steps[0] == walked[0][0] and steps[-1] == walked[-1][0]
    assert len(steps) == sum(len(signers) for _, signers in walked)  # the countersign step: each signer
    async with as_user(app, w, "property2") as c:  # P-HFGY's manager cannot read P-HFYY's settlement
        assert (await c.get(url)).status_code == 404
    async with as_user(app, w, "auditor", lang="zh_CN") as c:  # the developer's auditor reads every account
        assert len(workbook_rows(await c.get(url))) == len(rows)
