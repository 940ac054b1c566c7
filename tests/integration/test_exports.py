"""`?format=xlsx` on every staff list page: the download holds exactly the filtered list (the rows the
pages show, page after page), its headers are in the reader's language, it is cut to the reader's
branches like the page, and a 100,000-row download stays far below 200 MB of memory (streamed: the
list is read a thousand rows at a time and written row by row)."""

from __future__ import annotations

import contextlib
import gc
import io
import os
import re
import time
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from litestar import Litestar
from openpyxl import load_workbook

from tests.conftest import PASSWORD
from tests.integration.clubs.helpers import as_owner, branch, club_world, ok, qr, scan, staff_with_password
from tests.integration.platform.pages import browser, login

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OLDER = re.compile(r'href="(\?[^"]*after=[^"]+)" data-testid="older"')


def sheet_rows(r: httpx.Response) -> list[tuple[Any, ...]]:
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].startswith(XLSX), r.headers["content-type"]
    assert r.headers["content-disposition"].startswith("attachment;")
    return list(load_workbook(io.BytesIO(r.content), read_only=True).active.iter_rows(values_only=True))


async def every_page(c: httpx.AsyncClient, path: str, params: dict[str, str]) -> list[str]:
    """The HTML of the list's pages, newest first, following "Older" to the end."""
    pages = []
    r = await c.get(path, params=params)
    while True:
        assert r.status_code == 200, r.text[:300]
        pages.append(r.text)
        older = OLDER.search(r.text)
        if not older:
            return pages
        r = await c.get(path + older.group(1).replace("&amp;", "&"))


async def _members_with_cards(client: Any, w: dict[str, Any], n: int, *, unit: str | None = None,
                              plan: str = "free", prefix: str = "会员") -> list[dict[str, Any]]:
    t = w["t"]
    cards = []
    for i in range(n):
        body: dict[str, Any] = {"club_id": w["club"]["id"], "name": f"{prefix}{i}",
                                "phone": f"139{uuid.uuid4().int % 10**8:08d}"}
        if unit:
            body["org_unit"] = unit
        m = await ok(await client.post("/api/v1/members", headers=t["headers"], json=body), 201)
        cards.append(await ok(await client.post(f"/api/v1/members/{m['id']}/cards", headers=t["headers"],
                                                json={"plan_id": w[plan]["id"]}), 201))
    return cards


# ---- cards ----------------------------------------------------------------------------------

async def test_cards_page_and_download_hold_the_same_filtered_cards(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t = w["t"]
    free = await _members_with_cards(client, w, 27)  # more than a page
    vip = await _members_with_cards(client, w, 2, plan="vip", prefix="贵宾")
    await ok(await client.post(f"/api/v1/cards/{free[0]['card_no']}/suspend", headers=t["headers"], json={}))
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        for params, wanted in (({}, {x["card_no"] for x in [*free, *vip, w["card"]]}),
                               ({"plan": w["vip"]["id"]}, {x["card_no"] for x in vip}),
                               ({"status": "suspended"}, {free[0]["card_no"]}),
                               ({"status": "active", "club": w["club"]["id"]},
                                {x["card_no"] for x in [*free[1:], w["card"]]}),
                               ({"q": vip[1]["card_no"].lower()}, {vip[1]["card_no"]})):
            shown: list[str] = []
            for html in await every_page(c, "/club/cards", params):
                shown += re.findall(r'<a class="row-main mono" href="/club/members/[^"]+">([^<]+)</a>', html)
            assert sorted(shown) == sorted(wanted), params
            rows = sheet_rows(await c.get("/club/cards", params={**params, "format": "xlsx"}))
            assert rows[0][:3] == ("Card number", "Member", "Phone"), rows[0]
            assert [r[0] for r in rows[1:]] == shown, params  # the same cards, in the same order
        # the page links its download with the filters applied
        page = await c.get("/club/cards", params={"plan": w["vip"]["id"]})
        assert f'href="?plan={w["vip"]["id"]}&amp;format=xlsx"' in page.text
        assert 'href="/club/cards"' in page.text and 'href="/club/checkins"' in page.text  # in the nav
        rows = sheet_rows(await c.get("/club/cards", params={"q": vip[0]["card_no"], "format": "xlsx"}))
        # (a paid plan's card waits for its fee)
        assert rows[1][1] == "贵宾0" and rows[1][5] == "VIP card" and rows[1][6] == "pending", rows
        assert isinstance(rows[1][11], datetime)  # a date Excel understands, not text


async def test_cards_are_cut_to_the_readers_branches(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t = w["t"]
    east, west = await branch(client, t, "EAST"), await branch(client, t, "WEST")
    mine = await _members_with_cards(client, w, 2, unit=east["id"], prefix="东")
    await _members_with_cards(client, w, 2, unit=west["id"], prefix="西")
    clerk = await staff_with_password(client, t, roles=["branch_operator"], unit=east["id"])
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], clerk["email"], PASSWORD)
        page = await c.get("/club/cards")
        assert page.status_code == 200 and "东0" in page.text and "西0" not in page.text
        rows = sheet_rows(await c.get("/club/cards?format=xlsx"))
        assert sorted(r[0] for r in rows[1:]) == sorted(x["card_no"] for x in mine)
        checkins = sheet_rows(await c.get("/club/checkins?format=xlsx"))
        assert len(checkins) == 1  # 张三丰 is at the company, not in the east branch


# ---- check-ins ------------------------------------------------------------------------------

async def test_checkins_by_merchant_and_day_in_the_companys_zone(app: Litestar, client: Any,
                                                                owner: asyncpg.Connection) -> None:
    w = await club_world(client)
    t = w["t"]
    for _ in range(3):
        assert (await scan(client, w, await qr(client, w), benefit="washing",
                                 amount={"amount": "100.00", "currency": "CNY"})).status_code == 201
    # one at 23:30 Shanghai time on 1 March 2026 (15:30 UTC), in March's partition
    zone = ZoneInfo("Asia/Shanghai")
    late = datetime(2026, 3, 1, 23, 30, tzinfo=zone)
    await as_owner(owner, t["tenant_id"], "INSERT INTO club_checkin (tenant_id, created_at, card, member, merchant, "
                   "nonce, scanned_on) SELECT tenant_id, $1, card, member, merchant, 'old', $2 FROM club_checkin "
                   "LIMIT 1", late, late.date())
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        everything = sheet_rows(await c.get("/club/checkins?format=xlsx"))
        assert len(everything) == 1 + 4
        assert everything[0][:3] == ("Checked in at", "Card number", "Member"), everything[0]
        assert everything[1][5] == "Sparkle Wash" and everything[1][6] == "Car wash" and everything[1][7] == 100
        assert everything[-1][0] == datetime(2026, 3, 1, 23, 30)  # the company's wall clock
        day = {"since": "2026-03-01", "until": "2026-03-01"}
        page = await c.get("/club/checkins", params=day)
        assert page.status_code == 200 and "2026-03-01 23:30" in page.text
        assert page.text.count('<a class="mono" href="/club/members/') == 1
        one = sheet_rows(await c.get("/club/checkins", params={**day, "format": "xlsx"}))
        assert len(one) == 2 and one[1][0] == datetime(2026, 3, 1, 23, 30)
        assert len(sheet_rows(await c.get("/club/checkins", params={"since": "2026-03-02", "until": "2026-03-02",
                                                                    "format": "xlsx"}))) == 1
        other = sheet_rows(await c.get("/club/checkins", params={"merchant": w["foreign"]["id"], "format": "xlsx"}))
        assert len(other) == 1  # headers only: nobody checked in at the other club's merchant
        by_club = sheet_rows(await c.get("/club/checkins", params={"club": w["club"]["id"], "format": "xlsx"}))
        assert len(by_club) == 5
        bad = await c.get("/club/checkins", params={"since": "yesterday"})
        assert bad.status_code == 422 and 'id="e-since"' in bad.text


async def test_a_date_range_reads_only_its_months_partitions(client: Any, owner: asyncpg.Connection) -> None:
    """The range is a range of created_at: the plan touches the partitions of those months only."""
    w = await club_world(client)
    async with owner.transaction():
        await owner.execute("SELECT set_config('app.tenant_id', $1, true)", w["t"]["tenant_id"])
        plan = "\n".join(r[0] for r in await owner.fetch(
            "EXPLAIN SELECT k.id FROM club_checkin k WHERE k.created_at >= $1 AND k.created_at < $2 "
            "ORDER BY k.created_at DESC, k.id DESC LIMIT 26",
            datetime(2026, 3, 1, tzinfo=ZoneInfo("UTC")), datetime(2026, 3, 2, tzinfo=ZoneInfo("UTC"))))
    assert "club_checkin_y2026m03" in plan or "club_checkin_default" in plan, plan
    assert "club_checkin_y2026m05" not in plan, plan


# ---- merchants ------------------------------------------------------------------------------

async def test_merchants_page_and_download(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t = w["t"]
    await ok(await client.post(f"/api/v1/clubs/{w['club']['id']}/merchants", headers=t["headers"], json={
        "code": "tyres", "name": "Tyre Town", "category": "tyres", "offer_kind": "amount",
        "offer_amount": {"amount": "20.00", "currency": "CNY"}}), 201)
    for lang, header in (("en", ("Code", "Name", "Club")), ("zh_CN", ("代码", "名称", "俱乐部"))):
        async with browser(app, lang=lang) as c:
            await login(c, t["slug"], t["email"], PASSWORD)
            page = await c.get("/club/merchants", params={"club": w["club"]["id"]})
            assert page.status_code == 200 and "Sparkle Wash" in page.text and "Not ours" not in page.text
            rows = sheet_rows(await c.get("/club/merchants", params={"club": w["club"]["id"], "format": "xlsx"}))
            assert rows[0][:3] == header, rows[0]
            assert [r[1] for r in rows[1:]] == ["Tyre Town", "Sparkle Wash"]
            assert rows[1][7] == "20.00 CNY" and rows[2][7] == "20%", rows
            found = sheet_rows(await c.get("/club/merchants", params={"q": "TYRE", "format": "xlsx"}))
            assert [r[1] for r in found[1:]] == ["Tyre Town"]


# ---- a long list ----------------------------------------------------------------------------

def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(field)


def _reset_peak_rss() -> int:
    """Start measuring the process's peak resident memory from now (Linux: clear_refs 5 resets VmHWM)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _status("VmRSS")


def _peak_rss() -> int:
    return _status("VmHWM")


BULK = int(os.environ.get("EXPORT_BULK", 100_000))


async def test_a_100000_row_download_streams_in_little_memory(app: Litestar, client: Any,
                                                             owner: asyncpg.Connection) -> None:
    """100,000 check-ins of 1,000 members (all inserted in bulk with SQL): the download holds every one,
    and the process's peak resident memory grows far less than 200 MB while it is made (the response
    body itself included): the list is read a thousand rows at a time and each batch written to the
    file before the next is read."""
    w = await club_world(client)
    t = w["t"]
    tenant, club = uuid.UUID(t["tenant_id"]), uuid.UUID(w["club"]["id"])
    async with owner.transaction():
        await owner.execute("SELECT set_config('app.tenant_id', $1, true)", t["tenant_id"])
        unit = await owner.fetchval("SELECT org_unit FROM club_member WHERE id = $1", uuid.UUID(w["member"]["id"]))
        await owner.execute(
            "INSERT INTO club_member (id, tenant_id, created_at, club, name, phone, id_number_hint, org_unit, status) "
            "SELECT gen_random_uuid(), $1, now() - g * interval '1 second', $2, '批量会员' || g, "
            "'139' || lpad(g::text, 8, '0'), '', $3, 'active' FROM generate_series(1, 1000) AS g",
            tenant, club, unit)
        await owner.execute(
            "INSERT INTO club_card (id, tenant_id, created_at, club, plan, member, card_no, state, valid_from, "
            "valid_until, policy_no) SELECT gen_random_uuid(), m.tenant_id, m.created_at, m.club, $2, m.id, "
            "'BULK-' || lpad(row_number() OVER (ORDER BY m.created_at)::text, 6, '0'), 'active', now(), "
            "now() + interval '1 year', '' FROM club_member m WHERE m.club = $1 AND m.name LIKE '批量会员%'",
            club, uuid.UUID(w["free"]["id"]))
        # a hundred check-ins a card, a minute apart, over the last ten weeks (several monthly partitions)
        await owner.execute(
            "INSERT INTO club_checkin (tenant_id, created_at, card, member, merchant, benefit, amount, "
            "discount_amount, nonce, scanned_on) SELECT c.tenant_id, now() - (g * 1000 + c.n) * interval '1 minute', "
            "c.id, c.member, $2, $3, 10000 + c.n, 2000, 'bulk', current_date "
            "FROM (SELECT id, member, tenant_id, row_number() OVER (ORDER BY card_no) AS n FROM club_card "
            "      WHERE card_no LIKE 'BULK-%') AS c, generate_series(0, $1 - 1) AS g",
            BULK // 1000, uuid.UUID(w["wash"]["id"]), uuid.UUID(w["benefit"]["id"]))
        await owner.execute("ANALYZE club_member; ANALYZE club_card; ANALYZE club_checkin")
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        page = await c.get("/club/checkins")
        assert page.status_code == 200 and ("10,000+" in page.text or BULK < 10_000)  # the total is capped
        gc.collect()
        before = _reset_peak_rss()
        started = time.monotonic()
        r = await c.get("/club/checkins?format=xlsx")
        took = time.monotonic() - started
        peak = _peak_rss() - before
    assert r.status_code == 200, r.text[:300]
    print(f"\n{BULK:,}-row export: {len(r.content) / 1e6:.1f} MB file, the process grew by at most "
          f"{peak / 1e6:.1f} MB (peak resident memory), {took:.1f} s")
    assert peak < 200e6, peak
    rows = load_workbook(io.BytesIO(r.content), read_only=True).active.iter_rows(values_only=True)
    assert next(rows)[:2] == ("Checked in at", "Card number")
    seen = 0
    cards = set()
    for row in rows:
        seen += 1
        cards.add(row[1])
        assert row[7] is not None and row[8] == 20  # money as numbers
    assert seen == BULK and len(cards) == 1000


# ---- approvals, the mail outbox, people, the audit log --------------------------------------

async def test_approvals_outbox_and_people_download_what_their_pages_list(app: Litestar, client: Any) -> None:
    from careclub.core import sessions
    from tests.integration.approvals.conftest import make_world

    w = await make_world(client)
    for i in range(3):
        await w.open(50000 + i, title=f"Chairs {i}")  # "medium": the centre approves

    stack = contextlib.AsyncExitStack()

    async def as_(who: str, lang: str = "en") -> httpx.AsyncClient:
        client_ = await stack.enter_async_context(browser(app, lang=lang))
        session = await sessions.create(w.tenant_id, w.users[who], idle_seconds=3600, absolute_seconds=7200)
        client_.cookies.set(sessions.COOKIE, session, domain="testserver.local")
        return client_

    clerk, centre, admin = await as_("clerk"), await as_("pmc1", "zh_CN"), await as_("admin")
    mine = sheet_rows(await clerk.get("/approvals?format=xlsx"))
    assert mine[0][:3] == ("List", "Title", "Status"), mine[0]
    assert [(r[0], r[1], r[2], r[3]) for r in mine[1:]] == [
        ("My requests", f"Chairs {i}", "In review", 500 + i / 100) for i in (2, 1, 0)]
    page = await clerk.get("/approvals")
    assert 'href="/approvals?format=xlsx"' in page.text
    waiting = sheet_rows(await centre.get("/approvals?format=xlsx"))
    assert waiting[0][:3] == ("列表", "标题", "状态"), waiting[0]  # the reader's language
    assert sorted(r[1] for r in waiting[1:]) == ["Chairs 0", "Chairs 1", "Chairs 2"]
    assert {r[0] for r in waiting[1:]} == {"待我审批"}
    # the outbox: the same messages as its page, filtered the same way
    listing = await admin.get("/approvals/outbox", params={"status": "queued"})
    shown = int(re.search(r"(\d+) messages?", listing.text).group(1))  # type: ignore[union-attr]
    assert shown >= 1 and 'status=queued&amp;format=xlsx' in listing.text
    mail = sheet_rows(await admin.get("/approvals/outbox", params={"status": "queued", "format": "xlsx"}))
    assert mail[0][:3] == ("Created", "To", "Mail subject") and len(mail) - 1 == shown
    assert {r[3] for r in mail[1:]} == {"Queued"}
    assert len(sheet_rows(await admin.get("/approvals/outbox?status=sent&format=xlsx"))) == 1
    # people, with the page's search
    people = sheet_rows(await admin.get("/staff", params={"q": "Centre", "format": "xlsx"}))
    assert people[0][:2] == ("Name", "Email") and [r[0] for r in people[1:]] == ["Pam Centre", "Paul Centre"]
    assert "format=xlsx" in (await admin.get("/staff", params={"q": "Centre"})).text
    await stack.aclose()
