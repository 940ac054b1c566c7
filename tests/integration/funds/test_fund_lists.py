"""The funds' lists page by keyset: a fund's requests (API and page), the accrual periods and the funds by
year. Walking the pages gives every row once, in order; a cursor the app did not give is refused with 422
naming `after`; a person sees only the funds his finance rights cover, and one company nothing of another's."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar

from careclub.core import clock, sessions
from careclub.core.db import fetch, tenant_scope
from careclub.funds.tables import AccrualPeriod, FundClaim, FundRequest
from careclub.platform import service as platform_service
from careclub.platform.tables import Attachment, User
from careclub.platform.tenant_file import apply_text
from tests.conftest import PASSWORD, signup
from tests.integration.platform.pages import browser, login

WORLD = """
[tenant]
slug = "{slug}"
name = "Fund lists {slug}"

[[org_units]]
code = "P1"
name = "Project one"
kind = "project"

[[org_units]]
code = "P2"
name = "Project two"
kind = "project"

[[staff]]
email = "fin@{slug}.test"
name = "Fin Finance"
unit = "HQ"
roles = ["finance"]

[[staff]]
email = "pfin@{slug}.test"
name = "Pat Project-Finance"
unit = "P1"
roles = ["finance"]

[funds]

[[funds.funds]]
code = "CARE"
name = "Care fund"
years = [{last}, {year}]

[[funds.funds]]
code = "ONE"
name = "Project one fund"
unit = "P1"
years = [{year}]

[[funds.funds]]
code = "TWO"
name = "Project two fund"
unit = "P2"
years = [{year}]

[[funds.accrual_rules]]
fund = "ONE"
code = "SALES"
name = "Sales of project one"
rate_bp = 5
period = "month"
due_day = 20

[[funds.accrual_rules]]
fund = "TWO"
code = "SALES"
name = "Sales of project two"
rate_bp = 5
period = "month"
due_day = 20

[[funds.accrual_rules]]
fund = "CARE"
code = "RENT"
name = "Rent share"
rate_bp = 10
period = "month"
due_day = 20
"""

ROW_LINK = re.compile(r'href="/funds/requests/([0-9a-f-]{36})"')
OLDER = re.compile(r'<a class="button small" href="([^"]+)" data-testid="older">')
PERIOD = re.compile(r'<span class="mono">(\w+ \d{4}-\d{2})</span> · (\w+) (\d{4})</span>')


@dataclass
class World:
    slug: str
    tenant_id: uuid.UUID
    year: int
    funds: dict[str, uuid.UUID] = field(default_factory=dict)  # "CARE", "CARE-last", "ONE", "TWO"
    users: dict[str, uuid.UUID] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    requests: dict[str, list[uuid.UUID]] = field(default_factory=dict)  # by fund key, newest first
    periods: dict[str, int] = field(default_factory=dict)  # by fund code


async def _requests(w: World, key: str, n: int) -> None:
    """`n` requests of a fund, filed an hour apart, every third pair at the same moment (the id decides)."""
    fund_id = w.funds[key]
    start = datetime(w.year, 1, 2, 9, tzinfo=UTC)
    rows = []
    for i in range(n):
        at = start + timedelta(hours=i - i % 3 // 2)
        rows.append(FundRequest(
            fund=fund_id, number=f"{key}-{i + 1:04d}", title=f"Request {key} {i + 1}", amount=100 * (i + 1),
            batch_month=f"{w.year}-{1 + i % 12:02d}", in_plan=False, status="reimbursed" if i % 4 == 0 else "in_review",
            requester_id=w.users["fin"], requester_name="Fin Finance", created_at=at))
    await FundRequest.insert(*rows)
    found = await fetch("SELECT id FROM fund_request WHERE fund = $1 ORDER BY created_at DESC, id DESC", fund_id)
    w.requests[key] = [r["id"] for r in found]


async def _periods(w: World, code: str, n: int) -> None:
    """`n` monthly periods of the fund's rule, the latest ending two months ago (all past their due day),
    every third with nothing paid yet."""
    rule = (await fetch("SELECT id FROM fund_accrual_rule WHERE fund_code = $1", code))[0]["id"]
    today = clock.now().date()
    rows = []
    for i in range(n):
        month = today.year * 12 + today.month - 1 - 3 - i
        start = date(month // 12, month % 12 + 1, 1)
        end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        rows.append(AccrualPeriod(rule=rule, fund=w.funds[code], label=f"{start:%Y-%m}", starts_on=start,
                                  ends_on=end, base=100_000, amount=50, due_on=end + timedelta(days=20),
                                  paid=50 if i % 3 else 0))
    await AccrualPeriod.insert(*rows)
    w.periods[code] = n


async def make_world() -> World:
    slug = f"fl{uuid.uuid4().hex[:10]}"
    year = clock.now().year
    await apply_text(WORLD.format(slug=slug, year=year, last=year - 1), demo=False)
    tenant = await platform_service.tenant_by_slug(slug)
    assert tenant is not None
    w = World(slug=slug, tenant_id=tenant.id, year=year)
    async with tenant_scope(tenant.id):
        for short in ("fin", "pfin"):
            row = await User.select(User.id).where(User.email == f"{short}@{slug}.test").first()
            assert row is not None
            w.users[short] = row["id"]
            token, _ = await platform_service.issue_token(row["id"], kind="login", hours=24)
            w.headers[short] = {"Authorization": f"Bearer {token}"}
        for r in await fetch("SELECT id, code, year FROM care_fund"):
            w.funds[r["code"] if r["year"] == year else f"{r['code']}-last"] = r["id"]
        await _requests(w, "CARE", 61)
        await _requests(w, "ONE", 4)
        await _requests(w, "TWO", 3)
        await _periods(w, "CARE", 70)
        await _periods(w, "ONE", 7)
        await _periods(w, "TWO", 5)
    return w


@pytest.fixture
async def world() -> World:
    return await make_world()


@asynccontextmanager
async def as_person(app: Litestar, w: World, who: str, lang: str = "en") -> AsyncIterator[httpx.AsyncClient]:
    async with browser(app, lang=lang) as c:
        session_id = await sessions.create(w.tenant_id, w.users[who], idle_seconds=3600, absolute_seconds=7200)
        c.cookies.set(sessions.COOKIE, session_id, domain="testserver.local")
        yield c


async def _walk_api(client: httpx.AsyncClient, url: str, headers: dict[str, str], limit: int
                    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every page of an API list: the items in order and each page's envelope."""
    items: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    after = None
    while True:
        r = await client.get(url, headers=headers, params={"limit": limit, **({"after": after} if after else {})})
        assert r.status_code == 200, r.text
        page = r.json()
        pages.append(page)
        items += page["items"]
        after = page["next_after"]
        if after is None:
            return items, pages


async def test_the_requests_api_walks_every_request_once_newest_first_with_its_claims(
        client: httpx.AsyncClient, world: World) -> None:
    w = world
    fund = w.funds["CARE"]
    newest = w.requests["CARE"][0]
    async with tenant_scope(w.tenant_id):
        claim = FundClaim(request=newest, items=[{"description": "Flowers", "spec": "red", "quantity": 3,
                                                  "unit": "pot", "unit_price": 1500, "amount": 4500}],
                          total=4500, note="for the lobby", status="submitted",
                          signoffs=[{"role": "finance", "user_id": str(w.users["fin"]), "name": "Fin Finance",
                                     "at": "2026-03-01T10:00:00+00:00"}], submitted_by=w.users["fin"])
        await claim.save()
        await Attachment(owner_kind="fund_claim", owner_id=claim.id, filename="receipt.pdf",
                         content_type="application/pdf", size=120, sha256="0" * 64).save()
    items, pages = await _walk_api(client, f"/api/v1/funds/{fund}/requests", w.headers["fin"], limit=7)
    ids = [uuid.UUID(i["id"]) for i in items]
    assert ids == w.requests["CARE"]  # all 61, none twice, newest first (ties broken by id)
    assert len(pages) == 9 and all(len(p["items"]) == 7 for p in pages[:-1]) and len(pages[-1]["items"]) == 5
    assert {(p["total"], p["total_capped"], p["limit"], p["offset"]) for p in pages} == {(61, False, 7, 0)}
    # each row is what the request's own endpoint answers, its claim and evidence included
    one = (await client.get(f"/api/v1/fund-requests/{newest}", headers=w.headers["fin"])).json()
    assert items[0] == one
    assert one["claims"][0]["items"][0]["description"] == "Flowers"
    assert [a["filename"] for a in one["claims"][0]["attachments"]] == ["receipt.pdf"]
    assert all(i["claims"] == [] for i in items[1:])
    default = (await client.get(f"/api/v1/funds/{fund}/requests", headers=w.headers["fin"])).json()
    assert len(default["items"]) == 50 and default["next_after"]
    assert (await client.get(f"/api/v1/funds/{fund}/requests", headers=w.headers["fin"],
                             params={"limit": 201})).status_code == 422


@pytest.mark.parametrize("after", ["bm90LWEtY3Vyc29y", "%%%", "MjAyNi0wMS0wMnxub3QtYS11dWlk"])
async def test_a_cursor_the_app_did_not_give_is_422_naming_after(app: Litestar, client: httpx.AsyncClient,
                                                                 world: World, after: str) -> None:
    w = world
    r = await client.get(f"/api/v1/funds/{w.funds['CARE']}/requests", headers=w.headers["fin"],
                         params={"after": after})
    assert r.status_code == 422 and "after" in r.text, r.text
    async with as_person(app, w, "fin") as c:
        for url in (f"/funds/{w.funds['CARE']}/requests", "/funds/accruals"):
            page = await c.get(url, params={"after": after})
            assert page.status_code == 422, (url, page.status_code)


async def test_the_requests_page_pages_by_fifty_keeping_its_filters(app: Litestar, world: World) -> None:
    w = world
    async with as_person(app, w, "fin") as c:
        url: str | None = f"/funds/{w.funds['CARE']}/requests"
        seen: list[uuid.UUID] = []
        pages = 0
        while url:
            page = await c.get(url)
            assert page.status_code == 200, page.text[:300]
            pages += 1
            seen += [uuid.UUID(i) for i in ROW_LINK.findall(page.text)]
            assert "61 requests" in page.text
            older = OLDER.search(page.text)
            url = f"/funds/{w.funds['CARE']}/requests" + older.group(1).replace("&amp;", "&") if older else None
            if pages > 1:
                assert "← Newest" in page.text
        assert pages == 2 and seen == w.requests["CARE"]
        # filtered: only reimbursed requests (every fourth), still newest first, the filter kept on "Older"
        wanted = [r["id"] for r in await _as(w, "SELECT id FROM fund_request WHERE fund = $1 AND status = "
                                                "'reimbursed' ORDER BY created_at DESC, id DESC", w.funds["CARE"])]
        page = await c.get(f"/funds/{w.funds['CARE']}/requests", params={"status": "reimbursed"})
        assert [uuid.UUID(i) for i in ROW_LINK.findall(page.text)] == wanted and OLDER.search(page.text) is None
        assert f"{len(wanted)} requests" in page.text
        xlsx = await c.get(f"/funds/{w.funds['CARE']}/requests", params={"format": "xlsx"})
        assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    async with as_person(app, w, "fin", lang="zh_CN") as c:
        page = await c.get(f"/funds/{w.funds['CARE']}/requests")
        assert page.status_code == 200 and "更早" in page.text


async def _as(w: World, sql: str, *args: Any) -> list[dict[str, Any]]:
    async with tenant_scope(w.tenant_id):
        return await fetch(sql, *args)


async def test_finance_of_one_project_sees_only_his_funds_requests_and_periods(
        app: Litestar, client: httpx.AsyncClient, world: World) -> None:
    w = world
    mine = await client.get(f"/api/v1/funds/{w.funds['ONE']}/requests", headers=w.headers["pfin"])
    assert mine.status_code == 200 and [uuid.UUID(i["id"]) for i in mine.json()["items"]] == w.requests["ONE"]
    for key in ("TWO", "CARE"):  # another project's fund, the company-wide one
        r = await client.get(f"/api/v1/funds/{w.funds[key]}/requests", headers=w.headers["pfin"])
        assert r.status_code == 404, (key, r.status_code)
    async with as_person(app, w, "pfin") as c:
        assert (await c.get(f"/funds/{w.funds['ONE']}/requests")).status_code == 200
        for key in ("TWO", "CARE"):
            assert (await c.get(f"/funds/{w.funds[key]}/requests")).status_code == 404
        funds = (await c.get("/funds")).text
        assert "Project one fund" in funds and "Project two fund" not in funds and "Care fund" not in funds
        shown = await _accrual_periods(c, "/funds/accruals")
        assert {code for _label, code, _year in shown} == {"ONE"} and len(shown) == w.periods["ONE"]
        forged = await c.get("/funds/accruals", params={"fund_code": "TWO"})
        assert forged.status_code == 200 and "No periods match." in forged.text


async def _accrual_periods(c: httpx.AsyncClient, url: str) -> list[tuple[str, str, str]]:
    """Every period the accruals page lists, following "Older" to the end."""
    shown: list[tuple[str, str, str]] = []
    next_url: str | None = url
    while next_url:
        page = await c.get(next_url)
        assert page.status_code == 200, page.text[:300]
        shown += PERIOD.findall(page.text)
        older = OLDER.search(page.text)
        next_url = "/funds/accruals" + older.group(1).replace("&amp;", "&") if older else None
    return shown


async def test_the_accrual_periods_page_by_fifty_the_latest_first(app: Litestar, world: World) -> None:
    w = world
    async with as_person(app, w, "fin") as c:
        first = await c.get("/funds/accruals")
        assert "82 periods" in first.text and len(PERIOD.findall(first.text)) == 50
        shown = await _accrual_periods(c, "/funds/accruals")
        assert len(shown) == 82 and len(set(shown)) == 82
        keys = [(label.split()[1], label.split()[0]) for label, _code, _year in shown]  # (month, rule code)
        assert keys == sorted(keys, key=lambda k: (-int(k[0].replace("-", "")), k[1]))  # latest, then by rule
        overdue = await _accrual_periods(c, "/funds/accruals?overdue=1&fund_code=CARE")
        assert len(overdue) == len([i for i in range(70) if i % 3 == 0]) and {s[1] for s in overdue} == {"CARE"}
        # the payment form still offers the outstanding periods, and a chosen one
        period = (await _as(w, "SELECT id FROM fund_accrual_period WHERE paid < amount ORDER BY starts_on "
                               "LIMIT 1"))[0]["id"]
        page = await c.get("/funds/accruals", params={"pay": str(period)})
        assert f'<option value="{period}" selected' in page.text


async def test_the_funds_page_shows_one_year_with_links_to_the_others(app: Litestar, world: World) -> None:
    w = world
    async with as_person(app, w, "fin") as c:
        page = (await c.get("/funds")).text
        assert f'data-testid="year-{w.year}"' in page and f'data-testid="year-{w.year - 1}"' not in page
        assert f'href="/funds?year={w.year - 1}"' in page and 'aria-current="page"' in page
        last = (await c.get("/funds", params={"year": str(w.year - 1)})).text
        assert f'data-testid="fund-CARE-{w.year - 1}"' in last and "Project one fund" not in last
        for garbled in ("20x6", "1999", "<b>"):
            again = await c.get("/funds", params={"year": garbled})
            assert again.status_code == 200 and f'data-testid="year-{w.year}"' in again.text
    async with as_person(app, w, "fin", lang="zh_CN") as c:
        assert (await c.get("/funds")).status_code == 200


async def test_another_company_sees_none_of_the_lists_rows(app: Litestar, client: httpx.AsyncClient,
                                                           world: World) -> None:
    w = world
    other = await signup(client)
    async with browser(app, lang="en") as c:
        await login(c, other["slug"], other["email"], PASSWORD)
        for key in ("CARE", "ONE"):
            assert (await c.get(f"/funds/{w.funds[key]}/requests")).status_code == 404
        accruals = await c.get("/funds/accruals")
        assert accruals.status_code == 200 and "No periods match." in accruals.text
        funds = (await c.get("/funds")).text
        assert "Care fund" not in funds and "Project one fund" not in funds
    for key in ("CARE", "ONE"):
        r = await client.get(f"/api/v1/funds/{w.funds[key]}/requests", headers=other["headers"])
        assert r.status_code == 404, r.text
