"""Accruals, contributions and the contract's fund endpoints, through the API a finance clerk's app uses."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

import httpx
from openpyxl import Workbook

from careclub.core.db import tenant_scope
from careclub.funds import service
from tests.integration.funds.helpers import balanced, balances_of, new_fund

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


async def _rule(client: httpx.AsyncClient, tenant: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {"fund_code": "CARE", "code": "SALES", "name": "0.05% of sales subscriptions", "rate_bp": 5,
            "period": "quarter", "due_day": 20, "source": "Hejun", **extra}
    r = await client.post("/api/v1/fund-accruals/rules", headers=tenant["headers"], json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def test_the_contract_endpoints_list_funds_and_their_trial_balance(client: httpx.AsyncClient,
                                                                         tenant: dict[str, Any]) -> None:
    r = await client.post("/api/v1/funds", headers=tenant["headers"],
                          json={"code": "CARE", "name": "Customer care fund", "year": 2026})
    assert r.status_code == 201, r.text
    fund = r.json()
    r = await client.post(f"/api/v1/funds/{fund['id']}/contributions", headers=tenant["headers"], json={
        "kind": "reserve", "source": "Project set-up reserve", "amount": money("1314000.00"),
        "received_on": "2026-01-10"})
    assert r.status_code == 201, r.text
    listed = (await client.get("/api/v1/funds", headers=tenant["headers"])).json()
    assert [(f["name"], f["year"], f["balances"]["available"], f["balances"]["committed"], f["balances"]["spent"])
            for f in listed] == [("Customer care fund", 2026, money("1314000.00"), money("0.00"), money("0.00"))]
    tb = (await client.get(f"/api/v1/funds/{fund['id']}/trial-balance", headers=tenant["headers"])).json()
    assert tb["balanced"] is True
    assert {a["account"]: a["balance"] for a in tb["accounts"]}["contributed"] == money("-1314000.00")


async def test_another_tenants_fund_answers_404_and_never_shows(client: httpx.AsyncClient, tenant: dict[str, Any],
                                                                other_tenant: dict[str, Any]) -> None:
    theirs = await new_fund(other_tenant, contribute=50_000)
    mine = await new_fund(tenant)
    for path in (f"/api/v1/funds/{theirs['id']}", f"/api/v1/funds/{theirs['id']}/trial-balance",
                 f"/api/v1/funds/{theirs['id']}/ledger", f"/api/v1/funds/{theirs['id']}/contributions"):
        r = await client.get(path, headers=tenant["headers"])
        assert r.status_code == 404, path
    r = await client.post(f"/api/v1/funds/{theirs['id']}/contributions", headers=tenant["headers"], json={
        "kind": "other", "source": "x", "amount": money("1.00"), "received_on": "2026-01-01"})
    assert r.status_code == 404
    listed = (await client.get("/api/v1/funds", headers=tenant["headers"])).json()
    assert [f["id"] for f in listed] == [str(mine["id"])]
    assert (await balances_of(other_tenant, theirs["id"]))["available"] == 50_000


async def test_a_maintenance_fund_contribution_needs_the_committees_decision_and_keeps_its_document(
        client: httpx.AsyncClient, tenant: dict[str, Any]) -> None:
    fund = await new_fund(tenant)
    r = await client.post(f"/api/v1/funds/{fund['id']}/contributions", headers=tenant["headers"], json={
        "kind": "maintenance_fund", "source": "Building 3 maintenance fund", "amount": money("0"),
        "received_on": "2026-04-01"})
    assert r.status_code == 422
    fields = {f["field"] for f in r.json()["error"]["fields"]}
    assert fields == {"reference", "amount"}  # every problem at once
    r = await client.post(f"/api/v1/funds/{fund['id']}/contributions", headers=tenant["headers"], json={
        "kind": "maintenance_fund", "source": "Building 3 maintenance fund", "amount": money("20000.00"),
        "received_on": "2026-04-01", "reference": "Owners' committee resolution 2026-07"})
    assert r.status_code == 201, r.text
    contribution = r.json()
    r = await client.post(f"/api/v1/funds/contributions/{contribution['id']}/attachments", headers=tenant["headers"],
                          files={"file": ("decision.pdf", PDF, "application/pdf")})
    assert r.status_code == 201, r.text
    url = r.json()["attachments"][0]["url"]
    assert (await client.get(url, headers=tenant["headers"])).content == PDF


async def test_a_quarters_base_accrues_half_up_and_its_payment_clears_the_receivable(
        client: httpx.AsyncClient, tenant: dict[str, Any]) -> None:
    fund = await new_fund(tenant, year=2025)
    rule = await _rule(client, tenant)
    r = await client.post(f"/api/v1/fund-accruals/rules/{rule['id']}/periods", headers=tenant["headers"],
                          json={"period": "2025Q3", "base": money("1234567.89")})
    assert r.status_code == 200, r.text
    period = r.json()
    assert (period["amount"], period["due_on"], period["status"]) == (money("617.28"), "2025-10-20", "overdue")
    # a corrected base reverses the first accrual and posts the new one; the same base again changes nothing
    for _ in range(2):
        r = await client.post(f"/api/v1/fund-accruals/rules/{rule['id']}/periods", headers=tenant["headers"],
                              json={"period": "2025q3", "base": money("2000000.00")})
        assert r.json()["amount"] == money("1000.00")
    b = await balances_of(tenant, fund["id"])
    assert (b["receivable"], b["accrued"]) == (100_000, -100_000)
    r = await client.post(f"/api/v1/fund-accruals/periods/{period['id']}/payments", headers=tenant["headers"],
                          json={"amount": money("1000.01"), "paid_on": "2025-10-18"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "overpayment"
    r = await client.post(f"/api/v1/fund-accruals/periods/{period['id']}/payments", headers=tenant["headers"],
                          json={"amount": money("1000.00"), "paid_on": "2025-10-18"})
    assert r.json()["status"] == "paid"
    b = await balances_of(tenant, fund["id"])
    assert (b["receivable"], b["available"]) == (0, 100_000)
    assert await balanced(tenant, fund["id"])
    ledger = (await client.get(f"/api/v1/funds/{fund['id']}/ledger", headers=tenant["headers"])).json()
    assert [line["cause"] for line in ledger["items"]] == ["collection", "accrual", "correction", "accrual"]


async def test_two_clerks_entering_the_same_base_at_once_leave_one_accrual(client: httpx.AsyncClient,
                                                                           tenant: dict[str, Any]) -> None:
    fund = await new_fund(tenant, year=2025)
    rule = await _rule(client, tenant)
    rs = await asyncio.gather(*(client.post(f"/api/v1/fund-accruals/rules/{rule['id']}/periods",
                                            headers=tenant["headers"],
                                            json={"period": "2025Q4", "base": money("100000000.00")})
                                for _ in range(8)))
    assert all(r.status_code == 200 for r in rs), [r.text for r in rs]
    assert (await balances_of(tenant, fund["id"]))["receivable"] == 5_000_000
    async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
        assert len(await service.ledger_page(fund["id"], cause="accrual")) == 1


async def test_an_unfinished_period_is_refused_and_overdue_periods_are_flagged_once(client: httpx.AsyncClient,
                                                                                    tenant: dict[str, Any]) -> None:
    await new_fund(tenant, year=2025)
    rule = await _rule(client, tenant)
    r = await client.post(f"/api/v1/fund-accruals/rules/{rule['id']}/periods", headers=tenant["headers"],
                          json={"period": "2099Q1", "base": money("1.00")})
    assert r.status_code == 409 and r.json()["error"]["code"] == "period_not_ended"
    await client.post(f"/api/v1/fund-accruals/rules/{rule['id']}/periods", headers=tenant["headers"],
                      json={"period": "2025Q1", "base": money("10000000.00")})
    async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
        first = await service.flag_overdue()
        second = await service.flag_overdue()
    assert len(first) == 1 and second == []
    overdue = (await client.get("/api/v1/fund-accruals/periods?overdue=true", headers=tenant["headers"])).json()
    assert [p["label"] for p in overdue["items"]] == ["2025Q1"] and overdue["next_after"] is None


async def test_the_periods_come_a_keyset_page_at_a_time_the_latest_first(client: httpx.AsyncClient,
                                                                           tenant: dict[str, Any]) -> None:
    await new_fund(tenant, year=2025)
    rule = await _rule(client, tenant)
    for quarter in ("2025Q1", "2025Q2", "2025Q3"):
        r = await client.post(f"/api/v1/fund-accruals/rules/{rule['id']}/periods", headers=tenant["headers"],
                              json={"period": quarter, "base": money("10000.00")})
        assert r.status_code == 200, r.text
    seen, after, pages = [], None, 0
    while True:
        r = await client.get("/api/v1/fund-accruals/periods", headers=tenant["headers"],
                             params={"limit": 2, **({"after": after} if after else {})})
        assert r.status_code == 200, r.text
        page = r.json()
        assert page["total"] == 3 and not page["total_capped"] and len(page["items"]) <= 2
        seen += [p["label"] for p in page["items"]]
        pages += 1
        after = page["next_after"]
        if after is None:
            break
    assert seen == ["2025Q3", "2025Q2", "2025Q1"] and pages == 2
    r = await client.get("/api/v1/fund-accruals/periods", headers=tenant["headers"], params={"after": "nonsense"})
    assert r.status_code == 422 and "after" in r.text


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_an_import_with_a_bad_row_enters_nothing_unless_asked_to_enter_the_valid_rows(
        client: httpx.AsyncClient, tenant: dict[str, Any]) -> None:
    fund = await new_fund(tenant, year=2025)
    await _rule(client, tenant)
    data = _xlsx([["规则代码", "期间", "销售认购金额"], ["SALES", "2025Q1", "1,000,000.00"],
                  ["SALES", "2025-02", "5"], ["NOPE", "2025Q2", "abc"], ["SALES", "2025Q2", 2000000]])
    r = await client.post("/api/v1/fund-accruals/import", headers=tenant["headers"],
                          files={"file": ("bases.xlsx", data)})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "import_rows_refused"
    assert [f["field"] for f in error["fields"]] == ["rows[3].period", "rows[4].rule", "rows[4].base"]
    assert (await balances_of(tenant, fund["id"]))["receivable"] == 0
    r = await client.post("/api/v1/fund-accruals/import", headers=tenant["headers"],
                          files={"file": ("bases.xlsx", data)}, data={"valid_only": "true"})
    assert r.status_code == 200, r.text
    assert r.json()["entered"] == 2
    assert (await balances_of(tenant, fund["id"]))["receivable"] == 50_000 + 100_000  # 0.05 % of 1M and 2M yuan
    # the headers the page names, a unit in brackets included, in Excel-on-Windows Chinese encoding
    csv = "规则代码,期间,基数（元）\nSALES,2025Q3,400000\n".encode("gb18030")
    r = await client.post("/api/v1/fund-accruals/import", headers=tenant["headers"],
                          files={"file": ("bases.csv", csv)})
    assert r.status_code == 200 and r.json()["entered"] == 1
    assert (await balances_of(tenant, fund["id"]))["receivable"] == 150_000 + 20_000


async def test_rollover_through_the_api_needs_company_wide_finance(client: httpx.AsyncClient,
                                                                    tenant: dict[str, Any]) -> None:
    await new_fund(tenant, year=2024, contribute=7_000)
    r = await client.post("/api/v1/funds/rollover", headers=tenant["headers"], json={"year": 2024})
    assert r.status_code == 200, r.text
    assert r.json()["moved"][0]["amount"] == money("70.00")
    r = await client.post("/api/v1/funds/rollover", headers=tenant["headers"], json={"year": 2024})
    assert r.json()["moved"] == []
    years = sorted(f["year"] for f in (await client.get("/api/v1/funds", headers=tenant["headers"])).json())
    assert years == [2024, 2025]


async def test_entries_that_belong_to_a_record_are_corrected_there_not_reversed_by_hand(
        client: httpx.AsyncClient, tenant: dict[str, Any]) -> None:
    fund = await new_fund(tenant, contribute=10_000)
    async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
        entry = await service.commit(fund["id"], 1_000, cause_id=uuid.uuid4())
    r = await client.post(f"/api/v1/funds/entries/{entry['id']}/reversal", headers=tenant["headers"],
                          json={"reason": "wrong"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "entry_has_workflow"
    assert (await balances_of(tenant, fund["id"]))["committed"] == 1_000
    r = await client.post(f"/api/v1/funds/{fund['id']}/contributions", headers=tenant["headers"], json={
        "kind": "other", "source": "typed twice", "amount": money("5.00"), "received_on": "2026-02-01"})
    r = await client.post(f"/api/v1/funds/entries/{r.json()['entry']}/reversal", headers=tenant["headers"],
                          json={"reason": "typed twice"})
    assert r.status_code == 201, r.text
    assert r.json()["cause"] == "correction"
