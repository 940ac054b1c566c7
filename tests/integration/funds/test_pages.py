"""The funds' pages as finance staff use them in a browser: the funds by year, a fund's overview with its
contributions, the ledger form with its filters and Excel download, correcting an entry, accruals with
their import, in English and Chinese; and nothing of one company's funds shows to another."""

from __future__ import annotations

import io
import re
import uuid
from datetime import date
from typing import Any

import httpx
from litestar import Litestar
from openpyxl import Workbook, load_workbook

from careclub.core.db import tenant_scope
from careclub.funds import service
from tests.conftest import PASSWORD, signup
from tests.integration.funds.helpers import balanced, balances_of, new_fund
from tests.integration.platform.pages import browser, csrf_token, login, submit

ERROR_UNDER = re.compile(r'<small class="error" id="e-([a-z_]+)">([^<]*)</small>')
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def field_errors(body: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in ERROR_UNDER.finditer(body)}


def value_of(body: str, name: str) -> str | None:
    m = re.search(rf'<input id="f-{name}" name="{name}"[^>]*value="([^"]*)"', body)
    return m.group(1) if m else None


async def _world(tenant: dict[str, Any]) -> dict[str, Any]:
    """A 2025 fund with a contribution, a commitment and a quarter's accrual, paid in part."""
    fund = await new_fund(tenant, year=2025, contribute=500_000)
    async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
        await service.commit(fund["id"], 120_000, cause_id=uuid.uuid4(), reference="REQ-7", memo="lobby flowers")
        rule = await service.save_rule(fund_code="CARE", code="SALES", name="0.05% of sales subscriptions",
                                       rate_bp=5, period="quarter", due_day=20, source="Hejun")
        period = await service.enter_base(rule["id"], "2025Q1", 100_000_000)  # 1,000,000.00 yuan -> 500.00
        await service.record_payment(period["id"], 20_000, paid_on=date(2025, 4, 10))
        contribution = (await service.list_contributions(fund["id"]))[0]
    return {"fund": fund, "rule": rule, "period": period, "contribution": contribution}


async def test_every_funds_page_renders_in_english_and_chinese(app: Litestar, tenant: dict[str, Any]) -> None:
    w = await _world(tenant)
    fid = w["fund"]["id"]
    pages = ["/funds", f"/funds/{fid}", f"/funds/{fid}/ledger", f"/funds/entries/{w['contribution']['entry']}",
             "/funds/accruals", "/funds/accruals?overdue=1", f"/funds/accruals?rule={w['rule']['id']}",
             f"/funds/accruals?pay={w['period']['id']}"]
    for lang, html_lang, words in (("en", 'lang="en"', ["Available", "Ledger", "Funds"]),
                                   ("zh_CN", 'lang="zh-CN"', ["筛选", "下载（Excel）"])):
        async with browser(app, lang=lang) as c:
            await login(c, tenant["slug"], tenant["email"], PASSWORD)
            for url in pages:
                r = await c.get(url)
                assert r.status_code == 200, (lang, url, r.text[:300])
                assert html_lang in r.text, (lang, url)
            nav = (await c.get("/funds")).text
            assert 'href="/funds"' in nav and "Care fund CARE" in nav
            assert "4,000.00" in nav and "1,200.00" in nav and "300.00" in nav  # available, committed, receivable
            overview = await c.get(f"/funds/{fid}")
            assert 'data-testid="chart-flows"' in overview.text and 'data-testid="trial-balance"' in overview.text
            assert 'class="alert ok" data-testid="trial-balance"' in overview.text  # balanced
            ledger = (await c.get(f"/funds/{fid}/ledger")).text
            for word in words:
                assert word in nav + overview.text + ledger, (lang, word)
    async with browser(app, lang="en") as c:
        await login(c, tenant["slug"], tenant["email"], PASSWORD)
        accruals = (await c.get("/funds/accruals")).text
        assert "Partly paid" not in accruals  # 2025Q1 was due on 2025-04-20: overdue with money outstanding
        assert "Overdue" in accruals and "0.05 %" in accruals and "300.00" in accruals
        assert (await c.get("/funds/accruals?overdue=1")).text.count('data-status="overdue"') == 1


async def test_a_new_fund_with_several_bad_fields_shows_every_problem_and_keeps_what_was_typed(
        app: Litestar, tenant: dict[str, Any]) -> None:
    async with browser(app, lang="en") as c:
        await login(c, tenant["slug"], tenant["email"], PASSWORD)
        r = await submit(c, "/funds", code="bad code!", name="", year="20x6", org_unit="",
                         description="Keeps <this>")
        assert r.status_code == 422, r.text[:300]
        errors = field_errors(r.text)
        assert set(errors) == {"code", "name", "year"}, errors
        assert "letters, digits" in errors["code"] and "2000 and 2100" in errors["year"], errors
        assert value_of(r.text, "code") == "bad code!" and value_of(r.text, "year") == "20x6"
        assert "Keeps &lt;this&gt;</textarea>" in r.text
        r = await submit(c, "/funds", code="CARE", name="Customer care fund", year="2026", org_unit="",
                         description="")
        assert r.status_code == 303, r.text[:300]
        assert r.headers["location"].startswith("/funds/")
        again = await submit(c, "/funds", code="CARE", name="Again", year="2026", org_unit="")
        assert again.status_code == 409 and "exists already" in field_errors(again.text)["code"]
    async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
        assert [f["name"] for f in await service.list_funds(None)] == ["Customer care fund"]


async def test_a_contribution_typed_in_yuan_lands_in_fen_with_its_evidence(app: Litestar,
                                                                           tenant: dict[str, Any]) -> None:
    fund = await new_fund(tenant)
    url = f"/funds/{fund['id']}"
    async with browser(app, lang="en") as c:
        await login(c, tenant["slug"], tenant["email"], PASSWORD)
        # the maintenance fund needs the owners' committee decision; the amount and day are checked too
        bad = await submit(c, url, f"{url}/contributions", kind="maintenance_fund", source="Building 3",
                           amount="5,00", received_on="2026-13-01", reference="", note="")
        assert bad.status_code == 422
        assert set(field_errors(bad.text)) == {"amount", "received_on", "reference"}, field_errors(bad.text)
        assert value_of(bad.text, "amount") == "5,00"
        assert (await balances_of(tenant, fund["id"]))["available"] == 0
        r = await submit(c, url, f"{url}/contributions", kind="maintenance_fund", source="Building 3",
                         amount="1,314,000.50", received_on="2026-03-02", reference="OC resolution 2026-07",
                         note="first half")
        assert r.status_code == 303, r.text[:300]
        page = await c.get(url)
        assert "1,314,000.50" in page.text and "OC resolution 2026-07" in page.text
        async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
            contribution = (await service.list_contributions(fund["id"]))[0]
        assert contribution["amount"] == 131_400_050 and contribution["received_on"] == date(2026, 3, 2)
        r = await c.post(f"/funds/contributions/{contribution['id']}/attachments",
                         data={"_csrf_token": csrf_token(page)},
                         files={"file": ("决议.pdf", PDF, "application/pdf")})
        assert r.status_code == 303, r.text[:300]
        after = await c.get(url)
        assert "决议.pdf" in after.text
        bad = await c.post(f"/funds/contributions/{contribution['id']}/attachments",
                           data={"_csrf_token": csrf_token(after)},
                           files={"file": ("x.pdf", b"<script>", "application/pdf")})
        assert bad.status_code == 415 and 'id="e-file"' in bad.text
    b = await balances_of(tenant, fund["id"])
    assert (b["available"], b["contributed"]) == (131_400_050, -131_400_050)
    assert await balanced(tenant, fund["id"])


async def test_the_ledger_filters_pages_and_downloads_like_the_paper_form(app: Litestar,
                                                                          tenant: dict[str, Any]) -> None:
    w = await _world(tenant)
    fid = w["fund"]["id"]
    async with tenant_scope(uuid.UUID(tenant["tenant_id"])):  # enough entries for two pages
        for i in range(55):
            await service.record_contribution(fid, kind="other", source=f"donation {i}", amount=100,
                                              received_on=date(2025, 6, 1))
    async with browser(app, lang="en") as c:
        await login(c, tenant["slug"], tenant["email"], PASSWORD)
        first = await c.get(f"/funds/{fid}/ledger")
        assert first.status_code == 200 and first.text.count("<tr class=") == 50
        older = re.search(r'href="([^"]+)" data-testid="older"', first.text)
        assert older is not None
        second = await c.get(older.group(1).replace("&amp;", "&"))
        assert second.text.count("<tr class=") == 59 - 50  # 56 contributions, a commitment, accrual, collection
        accruals = await c.get(f"/funds/{fid}/ledger?cause=accrual")
        assert accruals.text.count("<tr class=") == 1 and "SALES 2025Q1" in accruals.text
        # the accrual moved only the receivable: its balance is the available money before it (5,000 - 1,200)
        row = re.search(r'<tr class="[^"]*" data-seq="\d+">(.*?)</tr>', accruals.text, re.S)
        assert row is not None and "3,800.00" in row.group(1) and "Receivable +500.00" in row.group(1)
        june = await c.get(f"/funds/{fid}/ledger?since=2025-06-01&until=2025-06-30")
        assert june.text.count("<tr class=") == 50
        bad = await c.get(f"/funds/{fid}/ledger?since=yesterday")
        assert bad.status_code == 422 and "YYYY-MM-DD" in field_errors(bad.text)["since"]
        for lang, headers in (("en", ("No.", "Date", "Cause", "Summary", "In", "Out", "Balance", "Committed", "Spent",
                                      "By")),):
            r = await c.get(f"/funds/{fid}/ledger?format=xlsx&cause=commitment")
            assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
            rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
            assert rows[0] == headers, (lang, rows[0])
            assert len(rows) == 2
            assert rows[1][2] == "Commitment" and rows[1][3] == "REQ-7 · lobby flowers"
            assert rows[1][4] is None and rows[1][5] == 1200 and rows[1][6] == 3800 and rows[1][1] is not None
            assert rows[1][7] == 1200 and rows[1][8] is None  # set aside, not yet spent
        everything = await c.get(f"/funds/{fid}/ledger?format=xlsx")
        rows = list(load_workbook(io.BytesIO(everything.content)).active.iter_rows(values_only=True))
        assert len(rows) == 1 + 59 and [r[0] for r in rows[1:]] == sorted((r[0] for r in rows[1:]), reverse=True)
    async with browser(app, lang="zh_CN") as c:
        await login(c, tenant["slug"], tenant["email"], PASSWORD)
        r = await c.get(f"/funds/{fid}/ledger?format=xlsx&cause=commitment")
        rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
        assert len(rows[0]) == 10 and rows[1][5] == 1200


async def test_an_entry_is_reversed_from_its_page_once(app: Litestar, tenant: dict[str, Any]) -> None:
    fund = await new_fund(tenant)
    async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
        row = await service.record_contribution(fund["id"], kind="other", source="typed wrong", amount=99_900,
                                                received_on=date(2026, 3, 1))
    url = f"/funds/entries/{row['entry']}"
    async with browser(app, lang="en") as c:
        await login(c, tenant["slug"], tenant["email"], PASSWORD)
        page = await c.get(url)
        assert page.status_code == 200 and "Reverse (correct) this entry" in page.text
        assert "Available" in page.text and "Contributed" in page.text  # accounts shown by their names
        empty = await submit(c, url, f"{url}/reverse", reason="")
        assert empty.status_code == 422 and "reason" in field_errors(empty.text)
        r = await submit(c, url, f"{url}/reverse", reason="amount typed wrong")
        assert r.status_code == 303 and r.headers["location"] == f"{url}?done=reversed"
        after = await c.get(url)
        assert 'data-testid="reversed-by"' in after.text and "Reverse (correct) this entry" not in after.text
        ledger = (await c.get(f"/funds/{fund['id']}/ledger")).text
        assert "Reversed by #" in ledger and "Reverses #" in ledger and "amount typed wrong" in ledger
        assert 'class="is-reversed"' in ledger
        overview = (await c.get(f"/funds/{fund['id']}")).text
        assert 'class="is-reversed"' in overview and "Reversed by #" in overview  # the contribution typed wrong
    assert (await balances_of(tenant, fund["id"]))["available"] == 0
    assert await balanced(tenant, fund["id"])


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_an_import_with_bad_rows_lists_them_in_the_readers_language_and_enters_nothing(
        app: Litestar, tenant: dict[str, Any]) -> None:
    fund = await new_fund(tenant, year=2025)
    async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
        await service.save_rule(fund_code="CARE", code="SALES", name="0.05% of sales", rate_bp=5)
    data = _xlsx([["规则代码", "期间", "销售认购金额"], ["SALES", "2025Q1", "1,000,000.00"],
                  ["SALES", "2025-02", "5"], ["NOPE", "2025Q2", "abc"]])
    for lang, base_message in (("en", "must be an amount in yuan"), ("zh_CN", "请输入以元为单位")):
        async with browser(app, lang=lang) as c:
            await login(c, tenant["slug"], tenant["email"], PASSWORD)
            page = await c.get("/funds/accruals")
            r = await c.post("/funds/accruals/import", data={"_csrf_token": csrf_token(page)},
                             files={"file": ("bases.xlsx", data)})
            assert r.status_code == 422, r.text[:300]
            table = re.search(r'<table class="problems" id="import-problems">(.*?)</table>', r.text, re.S)
            assert table is not None
            body = re.search(r"<tbody>(.*?)</tbody>", table.group(1), re.S)
            assert body is not None
            cells = [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>",
                                                                                      body.group(1), re.S)]
            assert [(row[0], len(row)) for row in cells] == [("3", 3), ("4", 3), ("4", 3)], cells
            assert base_message in cells[2][2], cells
            if lang == "en":
                assert [row[1] for row in cells] == ["Period", "Rule code", "Base"]
                assert "NOPE" in cells[1][2] and "2026Q1" in cells[0][2]
    assert (await balances_of(tenant, fund["id"]))["receivable"] == 0
    async with browser(app, lang="en") as c:
        await login(c, tenant["slug"], tenant["email"], PASSWORD)
        page = await c.get("/funds/accruals")
        r = await c.post("/funds/accruals/import", data={"_csrf_token": csrf_token(page), "valid_only": "1"},
                         files={"file": ("bases.xlsx", data)})
        assert r.status_code == 200 and "1 of 3 rows entered." in r.text and 'id="import-problems"' in r.text
    assert (await balances_of(tenant, fund["id"]))["receivable"] == 50_000


async def test_accrual_forms_enter_a_base_and_a_payment_in_yuan(app: Litestar, tenant: dict[str, Any]) -> None:
    fund = await new_fund(tenant, year=2025)
    async with browser(app, lang="en") as c:
        await login(c, tenant["slug"], tenant["email"], PASSWORD)
        bad = await submit(c, "/funds/accruals", "/funds/accruals/rules", fund_code="NOPE", code="bad code",
                           name="", rate_bp="0.5", period="quarter", due_day="40", source="", base_label="")
        assert bad.status_code in (404, 422)
        assert {"fund_code", "code", "name", "rate_bp", "due_day"} <= set(field_errors(bad.text)), \
            field_errors(bad.text)
        r = await submit(c, "/funds/accruals", "/funds/accruals/rules", fund_code="CARE", code="SALES",
                         name="0.05% of sales", rate_bp="5", period="quarter", due_day="20", source="Hejun",
                         base_label="sales subscriptions", active="1")
        assert r.status_code == 303, r.text[:300]
        async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
            rule = (await service.list_rules())[0]
        r = await submit(c, "/funds/accruals", "/funds/accruals/bases", base_rule=rule["id"], base_period="2025Q3",
                         base="1,234,567.89")
        assert r.status_code == 303, r.text[:300]
        async with tenant_scope(uuid.UUID(tenant["tenant_id"])):
            period = (await service.period_page(codes={"CARE"}))[0][0]
        assert (period["base"], period["amount"]) == (123_456_789, 61_728)
        over = await submit(c, "/funds/accruals", "/funds/accruals/payments", pay_period=period["id"],
                            amount="617.29", paid_on="2025-10-18")
        assert over.status_code == 409 and "617.28" in field_errors(over.text)["amount"]
        r = await submit(c, "/funds/accruals", "/funds/accruals/payments", pay_period=period["id"],
                         amount="617.28", paid_on="2025-10-18")
        assert r.status_code == 303, r.text[:300]
    b = await balances_of(tenant, fund["id"])
    assert (b["available"], b["receivable"]) == (61_728, 0)


async def test_another_company_gets_404_for_every_page_of_a_fund(app: Litestar, client: httpx.AsyncClient,
                                                                tenant: dict[str, Any]) -> None:
    w = await _world(tenant)
    other = await signup(client)
    fid = w["fund"]["id"]
    entry = w["contribution"]["entry"]
    async with browser(app, lang="en") as c:
        await login(c, other["slug"], other["email"], PASSWORD)
        for url in (f"/funds/{fid}", f"/funds/{fid}/ledger", f"/funds/{fid}/ledger?format=xlsx",
                    f"/funds/entries/{entry}"):
            assert (await c.get(url)).status_code == 404, url
        page = await c.get("/funds")
        assert page.status_code == 200 and "Care fund CARE" not in page.text
        token = csrf_token(page)
        for url, data in ((f"/funds/{fid}/contributions", {"kind": "other", "source": "x", "amount": "1",
                                                          "received_on": "2026-01-01"}),
                          (f"/funds/{fid}/edit", {"name": "mine now"}),
                          (f"/funds/entries/{entry}/reverse", {"reason": "x"}),
                          ("/funds/accruals/payments", {"pay_period": str(w["period"]["id"]), "amount": "1",
                                                        "paid_on": "2025-05-01"})):
            r = await c.post(url, data={"_csrf_token": token, **data})
            assert r.status_code == 404, (url, r.status_code)
        accruals = await c.get("/funds/accruals")
        assert "SALES" not in accruals.text
    assert (await balances_of(tenant, fid))["available"] == 500_000 - 120_000 + 20_000
