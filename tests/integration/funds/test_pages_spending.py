"""The spending pages as people use them in a browser: finance drafts the annual plan (every problem
beside its cell at once), submits it, revises it and compares the versions; any staff member asks to
spend a fund in yuan, previews the approval chain and is told when his request joins next month's
batch; the requester claims with items and evidence, the named roles sign the acceptance or refuse with
a reason, finance reimburses; the supervision report and its Excel sheet; another company sees none of
it; English and Chinese render."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from litestar import Litestar
from openpyxl import load_workbook

from careclub.approvals.tables import ApprovalPolicy
from careclub.core import clock, sessions
from careclub.core.db import tenant_scope
from careclub.funds import service
from careclub.funds.tables import FundRequest
from careclub.platform import service as platform_service
from tests.conftest import PASSWORD, signup
from tests.integration.funds.helpers import balanced, balances_of
from tests.integration.funds.test_spending import World, decide, make_world
from tests.integration.platform.pages import browser, csrf_token, login

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ERROR_UNDER = re.compile(r'<small class="error" id="e-([a-z_0-9]+)">([^<]*)</small>')


def field_errors(body: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in ERROR_UNDER.finditer(body)}


def value_of(body: str, name: str) -> str | None:
    m = re.search(rf'<input id="f-{name}" name="{name}"[^>]*value="([^"]*)"', body)
    return m.group(1) if m else None


@pytest.fixture(autouse=True)
def _reset_clock() -> Any:
    yield
    clock.reset()


@asynccontextmanager
async def as_person(app: Litestar, w: World, who: str, lang: str = "en") -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in as one of the world's people (they have no password: a session of their own)."""
    async with browser(app, lang=lang) as c:
        session_id = await sessions.create(w.tenant_id, w.users[who], idle_seconds=3600, absolute_seconds=7200)
        c.cookies.set(sessions.COOKIE, session_id, domain="testserver.local")
        yield c


async def post_form(c: httpx.AsyncClient, page: str, action: str, **fields: Any) -> httpx.Response:
    r = await c.get(page)
    assert r.status_code == 200, (page, r.status_code, r.text[:300])
    return await c.post(action, data={"_csrf_token": csrf_token(r), **{k: str(v) for k, v in fields.items()}})


def plan_rows(*rows: dict[str, str], start: int = 0) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, row in enumerate(rows, start):
        out.update({f"{k}_{i}": v for k, v in row.items()})
    return out


async def _unit(w: World, code: str) -> str:
    async with tenant_scope(w.tenant_id):
        unit = await platform_service.unit_by_code(code)
    assert unit is not None
    return str(unit["id"])


async def _plan_approved_from_the_pages(app: Litestar, w: World) -> dict[str, Any]:
    p1 = await _unit(w, "P1")
    new = f"/funds/{w.fund_id}/plans/new"
    async with as_person(app, w, "fin") as c:
        r = await post_form(c, new, new, title="January plan", note="", rows="5", op="save", **plan_rows(
            {"unit": p1, "category": "customer_care", "item": "Mid-autumn gifts", "month": "9", "amount": "20,000"},
            {"unit": p1, "category": "quality_improvement", "item": "Lobby lights", "month": "5", "amount": "30000"}))
        assert r.status_code == 303, r.text[:500]
        async with tenant_scope(w.tenant_id):
            plan = (await service.list_plans(uuid.UUID(w.fund_id)))[0]
        r = await post_form(c, f"/funds/{w.fund_id}/plans", f"/funds/plans/{plan['id']}/submit")
        assert r.status_code == 303, r.text[:500]
    async with tenant_scope(w.tenant_id):
        plan = await service.get_plan(plan["id"])
    assert plan["status"] == "in_review"
    await decide(w, str(plan["approval_request"]))
    async with tenant_scope(w.tenant_id):
        return await service.get_plan(plan["id"])


async def test_the_plan_editor_shows_every_problem_then_drafts_submits_revises_and_compares(
        app: Litestar, client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    new = f"/funds/{w.fund_id}/plans/new"
    async with as_person(app, w, "fin") as c:
        page = await c.get(f"/funds/{w.fund_id}")
        assert f'href="/funds/{w.fund_id}/plans"' in page.text and f'href="/funds/{w.fund_id}/report"' in page.text
        empty = await c.get(new)
        assert empty.status_code == 200 and empty.text.count('class="plan-row card') == 5
        bad = await post_form(c, new, new, title="", note="keeps <this>", rows="5", op="save", **plan_rows(
            {"category": "customer_care", "item": "", "month": "13", "amount": "5,00"},
            {"category": "", "item": "Lobby lights", "month": "5", "amount": "30000"}))
        assert bad.status_code == 422, bad.text[:300]
        errors = field_errors(bad.text)
        assert {"title", "item_0", "month_0", "amount_0", "category_1"} <= set(errors), errors
        assert "amount_1" not in errors and "item_1" not in errors
        assert value_of(bad.text, "amount_0") == "5,00" and value_of(bad.text, "item_1") == "Lobby lights"
        assert value_of(bad.text, "note") == "keeps &lt;this&gt;"
        more = await post_form(c, new, new, title="x", rows="5", op="more", **plan_rows({"item": "kept"}))
        assert more.status_code == 200 and more.text.count('class="plan-row card') == 10
        assert value_of(more.text, "item_0") == "kept"
        async with tenant_scope(w.tenant_id):
            assert await service.list_plans(uuid.UUID(w.fund_id)) == []
    v1 = await _plan_approved_from_the_pages(app, w)
    assert v1["status"] == "approved" and v1["total"] == 5_000_000
    assert {ln["code"]: ln["amount"] for ln in v1["lines"]} == {"L1": 2_000_000, "L2": 3_000_000}
    async with as_person(app, w, "fin") as c:
        plans = await c.get(f"/funds/{w.fund_id}/plans")
        assert "Mid-autumn gifts" in plans.text and "20,000.00" in plans.text and "Approved" in plans.text
        assert "Start the June revision" in plans.text
        start = await c.get(new)  # the revision starts from the approved lines
        assert value_of(start.text, "item_0") == "Lobby lights" and value_of(start.text, "code_0") is None
        assert 'name="code_0" value="L2"' in start.text and 'name="code_1" value="L1"' in start.text
        r = await post_form(c, new, new, title="June revision", rows="7", op="save", **plan_rows(
            {"code": "L2"},  # cleared: removed
            {"code": "L1", "category": "customer_care", "item": "Mid-autumn gifts", "month": "9", "amount": "25,000"},
            {"category": "customer_care", "item": "Elderly visits", "month": "10", "amount": "5000"}))
        assert r.status_code == 303, r.text[:500]
        async with tenant_scope(w.tenant_id):
            v2 = (await service.list_plans(uuid.UUID(w.fund_id)))[0]
        assert v2["version"] == 2 and v2["previous"] == v1["id"]
        cmp = await c.get(f"/funds/plans/{v2['id']}/compare")
        assert cmp.status_code == 200
        kinds = dict(re.findall(r'data-code="(\w+)" data-kind="(\w+)"', cmp.text))
        assert kinds == {"L1": "changed", "L2": "removed", "L3": "added"}, kinds
        assert "+5,000.00" in cmp.text and "-30,000.00" in cmp.text
        assert re.search(r'data-testid="total-delta">-20,000.00<', cmp.text)
        assert 'class="change-changed"' in cmp.text
        # a second version in the making is refused with the reason
        again = await post_form(c, f"/funds/{w.fund_id}/plans", new, title="Third", rows="1", op="save",
                                **plan_rows({"category": "x", "item": "y", "month": "1", "amount": "1"}))
        assert again.status_code == 409 and "in the making" in again.text


async def test_submitting_a_plan_without_an_annual_plan_policy_says_so_and_links_to_the_policies(
        app: Litestar, client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    async with tenant_scope(w.tenant_id):
        await ApprovalPolicy.update({ApprovalPolicy.is_current: False}).where(
            ApprovalPolicy.subject_type == "annual_plan")
        plan = await service.draft_plan(uuid.UUID(w.fund_id), title="January", lines=[
            {"category": "customer_care", "item": "Gifts", "month": 9, "amount": 100_000}])
    async with as_person(app, w, "fin") as c:
        r = await post_form(c, f"/funds/{w.fund_id}/plans", f"/funds/plans/{plan['id']}/submit")
        assert r.status_code == 422, r.text[:300]
        assert "no approval policy for annual plans" in r.text
        assert 'href="/approvals/policies"' in r.text
    async with tenant_scope(w.tenant_id):
        assert (await service.get_plan(plan["id"]))["status"] == "draft"


async def _request_from_the_page(app: Litestar, w: World, who: str = "lead", **fields: str) -> str:
    new = f"/funds/{w.fund_id}/requests/new"
    async with as_person(app, w, who) as c:
        r = await post_form(c, new, new, op="submit", **fields)
        assert r.status_code == 303, r.text[:800]
        return r.headers["location"]


async def test_staff_ask_to_spend_in_yuan_preview_the_chain_and_learn_of_the_next_batch(
        app: Litestar, client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    await _plan_approved_from_the_pages(app, w)
    new = f"/funds/{w.fund_id}/requests/new"
    async with as_person(app, w, "lead") as c:
        spend = await c.get("/funds/spend")
        assert spend.status_code == 200 and "Care fund" in spend.text and 'href="/funds/spend"' in spend.text
        assert "20,000.00 left" in spend.text and "100,000.00" not in spend.text  # lines, never balances
        assert (await c.get(f"/funds/{w.fund_id}/requests")).status_code in (403, 404)  # finance's list
        form = await c.get(new)
        assert "L1 · Mid-autumn gifts · Customer care · 20,000.00 left" in form.text
        preview = await post_form(c, new, new, op="preview", title="Flowers", in_plan="0", plan_line="",
                                  category="customer_care", amount="1,200.50", description="")
        assert preview.status_code == 200, preview.text[:500]
        assert 'data-testid="chain"' in preview.text and "Boss decides" in preview.text and "Bo Boss" in preview.text
        assert value_of(preview.text, "amount") == "1,200.50"
        bad = await post_form(c, new, new, op="submit", title="", in_plan="1", plan_line="L1", category="",
                              amount="abc", description="")
        assert bad.status_code == 422 and {"title", "amount"} <= set(field_errors(bad.text)), field_errors(bad.text)
        over = await post_form(c, new, new, op="submit", title="Too much", in_plan="1", plan_line="L1",
                               category="", amount="20,000.01", description="")
        assert over.status_code == 409 and "20,000.00" in field_errors(over.text)["amount"]
        # the preview already says so, and still shows who would decide
        warned = await post_form(c, new, new, op="preview", title="Too much", in_plan="1", plan_line="L1",
                                 category="", amount="20,000.01", description="")
        assert "20,000.00" in field_errors(warned.text)["amount"] and 'data-testid="chain"' in warned.text
    async with tenant_scope(w.tenant_id):
        assert await FundRequest.count() == 0  # a preview, and refusals, file nothing
    # on the cut-off day itself the request is in this month's batch; after it, in next month's
    year = clock.now().year
    clock.travel(datetime(year, 3, 20, 4, 0, tzinfo=UTC) - clock.now())
    where = await _request_from_the_page(app, w, title="Flowers", in_plan="0", plan_line="", category="customer_care",
                                         amount="1,200.50", description="for the lobby")
    assert where.endswith("?done=filed")
    clock.travel(datetime(year, 3, 27, 4, 0, tzinfo=UTC) - clock.now())
    where = await _request_from_the_page(app, w, title="Late flowers", in_plan="0", plan_line="", category="",
                                         amount="300", description="")
    assert where.endswith("?done=pushed")
    async with as_person(app, w, "lead") as c:
        page = await c.get(where)
        assert page.status_code == 200 and "cut-off day" in page.text and "April " + str(year) in page.text
    async with as_person(app, w, "lead", lang="zh_CN") as c:
        page = await c.get(where)
        assert page.status_code == 200 and 'lang="zh-CN"' in page.text
    async with tenant_scope(w.tenant_id):
        rows = await FundRequest.select().order_by(FundRequest.number)
    assert [(r["amount"], r["batch_month"]) for r in rows] == [(120_050, f"{year}-03"), (30_000, f"{year}-04")]


async def test_a_claim_with_evidence_is_refused_then_accepted_and_reimbursed_from_the_pages(
        app: Litestar, client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    await _plan_approved_from_the_pages(app, w)
    where = await _request_from_the_page(app, w, title="Mid-autumn gifts", in_plan="1", plan_line="L1", category="",
                                         amount="2,000", description="")
    url = where.split("?")[0]
    request_id = url.rsplit("/", 1)[1]
    async with tenant_scope(w.tenant_id):
        req = await service.get_request(uuid.UUID(request_id))
    await decide(w, str(req["approval_request"]))
    async with as_person(app, w, "insp") as c:  # a signer reaches the request
        assert (await c.get(url)).status_code == 200
    async with as_person(app, w, "boss") as c:  # the approver reads what he decides, runs nothing
        page = await c.get(url)
        assert page.status_code == 200 and 'data-testid="file-claim"' not in page.text
    async with as_person(app, w, "lead") as c:
        page = await c.get(url)
        assert "Approved (money committed)" in page.text and 'data-testid="approval-link"' in page.text
        assert f'href="/approvals/requests/{req["approval_request"]}"' in page.text
        assert page.text.count('class="plan-row card"') == 5
        more = await post_form(c, url, f"{url}/claims", op="more", rows="5", description_0="kept")
        assert more.status_code == 200 and more.text.count('class="plan-row card"') == 10
        bad = await post_form(c, url, f"{url}/claims", op="save", rows="5", description_0="", quantity_0="x",
                              unit_price_0="12", description_1="Mooncakes", quantity_1="2", unit_price_1="5,0")
        assert bad.status_code == 422, bad.text[:300]
        assert {"description_0", "quantity_0", "unit_price_1"} <= set(field_errors(bad.text)), field_errors(bad.text)
        assert value_of(bad.text, "unit_price_1") == "5,0"
        r = await post_form(c, url, f"{url}/claims", op="save", rows="5", note="", description_0="Mooncakes",
                            spec_0="6 in a box", quantity_0="10", unit_0="box", unit_price_0="150",
                            description_1="Delivery", quantity_1="1", unit_price_1="100.50")
        assert r.status_code == 303, r.text[:500]
        page = await c.get(url)
        assert "Mooncakes" in page.text and "1,600.50" in page.text and "Awaiting acceptance" in page.text
    async with tenant_scope(w.tenant_id):
        claim = (await service.get_request(uuid.UUID(request_id)))["claims"][0]
    async with as_person(app, w, "insp") as c:
        early = await post_form(c, url, f"/funds/claims/{claim['id']}/signoff")
        assert early.status_code == 409 and "evidence" in early.text
        empty = await post_form(c, url, f"/funds/claims/{claim['id']}/refusal", reason="")
        assert empty.status_code == 422 and "reason" in field_errors(empty.text)
        r = await post_form(c, url, f"/funds/claims/{claim['id']}/refusal", reason="Not the <approved> gifts")
        assert r.status_code == 303
        page = await c.get(url)
        assert 'data-testid="refusal"' in page.text and "Not the &lt;approved&gt; gifts" in page.text
    async with as_person(app, w, "lead") as c:
        r = await post_form(c, url, f"{url}/claims", op="save", rows="5", description_0="Mooncakes", spec_0="",
                            quantity_0="10", unit_0="box", unit_price_0="150")
        assert r.status_code == 303, r.text[:500]
        async with tenant_scope(w.tenant_id):
            claim = (await service.get_request(uuid.UUID(request_id)))["claims"][-1]
        page = await c.get(url)
        r = await c.post(f"/funds/claims/{claim['id']}/attachments", data={"_csrf_token": csrf_token(page)},
                         files={"file": ("收据.pdf", PDF, "application/pdf")})
        assert r.status_code == 303, r.text[:300]
        own = await post_form(c, url, f"/funds/claims/{claim['id']}/signoff")
        assert own.status_code == 422 and "does not accept" in own.text  # nobody accepts his own claim
    async with as_person(app, w, "insp") as c:
        page = await c.get(url)
        assert "收据.pdf" in page.text and 'data-testid="sign"' in page.text
        file_id = re.search(r'href="/attachments/([0-9a-f-]+)"', page.text)
        assert file_id and (await c.get(f"/attachments/{file_id.group(1)}")).status_code == 200
        assert (await post_form(c, url, f"/funds/claims/{claim['id']}/signoff")).status_code == 303
        twice = await post_form(c, url, f"/funds/claims/{claim['id']}/signoff")
        assert twice.status_code == 422 and "nothing left to sign" in twice.text
    async with as_person(app, w, "fin") as c:
        assert (await post_form(c, url, f"/funds/claims/{claim['id']}/signoff")).status_code == 303
        page = await c.get(url)
        assert page.text.count('data-testid="signed"') == 2 and 'data-testid="reimburse"' in page.text
        r = await post_form(c, url, f"/funds/claims/{claim['id']}/reimbursement")
        assert r.status_code == 303, r.text[:300]
        page = await c.get(url)
        assert "Reimbursed" in page.text
        listing = await c.get(f"/funds/{w.fund_id}/requests?status=reimbursed")
        assert listing.status_code == 200 and "Mid-autumn gifts" in listing.text
        xlsx = await c.get(f"/funds/{w.fund_id}/requests?format=xlsx&plan=in")
        rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
        assert rows[0][:3] == ("Number", "Title", "Org unit") and len(rows) == 2
        assert rows[1][5:8] == (2000, 0, 1500) and rows[1][8] == "Reimbursed"
    b = await balances_of(w_tenant(w), uuid.UUID(w.fund_id))
    assert (b["spent"], b["committed"], b["available"]) == (150_000, 0, 10_000_000 - 150_000)
    assert await balanced(w_tenant(w), uuid.UUID(w.fund_id))


def w_tenant(w: World) -> dict[str, Any]:
    return {"tenant_id": str(w.tenant_id), "slug": w.slug}


async def test_finance_closes_an_approved_request_and_reads_the_report(app: Litestar,
                                                                       client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    await _plan_approved_from_the_pages(app, w)
    where = await _request_from_the_page(app, w, title="Lights", in_plan="1", plan_line="L2", category="",
                                         amount="10,000", description="")
    url = where.split("?")[0]
    async with tenant_scope(w.tenant_id):
        req = await service.get_request(uuid.UUID(url.rsplit("/", 1)[1]))
    await decide(w, str(req["approval_request"]))
    await _request_from_the_page(app, w, title="Gifts", in_plan="1", plan_line="L1", category="", amount="500",
                                 description="")
    async with as_person(app, w, "fin") as c:
        report = await c.get(f"/funds/{w.fund_id}/report")
        assert report.status_code == 200, report.text[:300]
        assert 'data-testid="chart-plan-vs-actual"' in report.text and 'class="alert ok" data-testid="trial-balance"' \
            in report.text
        assert "100,000.00" in report.text  # contributed
        assert "Committed, not yet spent: 10,000.00" in report.text
        xlsx = await c.get(f"/funds/{w.fund_id}/report?format=xlsx")
        rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
        assert rows[0] == ("Category", "Month", "Planned", "Committed", "Spent", "Remaining")
        assert ("Quality improvement", 5, 30000, 10000, 0, 20000) in rows[1:], rows
        assert ("Customer care", 9, 20000, 0, 0, 20000) in rows[1:], rows
        empty = await post_form(c, url, f"{url}/close", close_reason="")
        assert empty.status_code == 422 and "close_reason" in field_errors(empty.text)
        r = await post_form(c, url, f"{url}/close", close_reason="Lights donated")
        assert r.status_code == 303
        assert "Closed (commitment released)" in (await c.get(url)).text
        report = await c.get(f"/funds/{w.fund_id}/report")
        assert "No money is committed" in report.text
    async with as_person(app, w, "fin", lang="zh_CN") as c:
        for page in (f"/funds/{w.fund_id}/report", f"/funds/{w.fund_id}/plans", f"/funds/{w.fund_id}/requests",
                     f"/funds/{w.fund_id}/requests/new", "/funds/spend", url, f"/funds/{w.fund_id}/plans/new"):
            r = await c.get(page)
            assert r.status_code in (200,), (page, r.status_code, r.text[:300])
            assert 'lang="zh-CN"' in r.text
        assert "筛选" in (await c.get(f"/funds/{w.fund_id}/requests")).text
    b = await balances_of(w_tenant(w), uuid.UUID(w.fund_id))
    assert b["committed"] == 0 and b["available"] == 10_000_000


async def test_another_company_gets_404_on_every_spending_page(app: Litestar, client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    v1 = await _plan_approved_from_the_pages(app, w)
    where = await _request_from_the_page(app, w, title="Gifts", in_plan="1", plan_line="L1", category="",
                                         amount="500", description="")
    url = where.split("?")[0]
    async with tenant_scope(w.tenant_id):
        req = await service.get_request(uuid.UUID(url.rsplit("/", 1)[1]))
    await decide(w, str(req["approval_request"]))
    fid = w.fund_id
    other = await signup(client)
    async with browser(app, lang="en") as c:
        await login(c, other["slug"], other["email"], PASSWORD)
        for page in (f"/funds/{fid}/plans", f"/funds/{fid}/plans/new", f"/funds/plans/{v1['id']}/edit",
                     f"/funds/plans/{v1['id']}/compare", f"/funds/{fid}/requests", f"/funds/{fid}/requests?format=xlsx",
                     f"/funds/{fid}/requests/new", url, f"/funds/{fid}/report", f"/funds/{fid}/report?format=xlsx"):
            assert (await c.get(page)).status_code == 404, page
        spend = await c.get("/funds/spend")
        assert spend.status_code == 200 and "Care fund" not in spend.text
        token = csrf_token(spend)
        for action, data in ((f"/funds/{fid}/plans/new", {"title": "x"}), (f"/funds/plans/{v1['id']}/submit", {}),
                             (f"/funds/{fid}/requests/new", {"title": "x", "amount": "1", "in_plan": "0"}),
                             (f"{url}/claims", {"description_0": "x", "quantity_0": "1", "unit_price_0": "1"}),
                             (f"{url}/close", {"close_reason": "x"})):
            r = await c.post(action, data={"_csrf_token": token, **data})
            assert r.status_code == 404, (action, r.status_code)
