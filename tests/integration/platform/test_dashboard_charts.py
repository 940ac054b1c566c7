"""The dashboard's charts and the onboarding checklist (issue #11), and the club's projection setting.

The figures on `/dashboard` are read back from the page itself (the JSON data block each chart carries,
and the table under it) and compared with the data made here through the API and with the club's
statistics API: members by status (each status linking to the filtered member list), new members and
renewals by month, membership fees by month, check-ins by merchant, and the projection drawn only when
the club has one. The projection is a whole number ≥ 0 or empty through the API, the club's edit page and
tenant files alike. The checklist ticks each step as it is done and disappears when all are."""

from __future__ import annotations

import asyncio
import html
import json
import re
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from litestar import Litestar

from careclub.clubs import service
from careclub.core.db import tenant_scope
from careclub.core.errors import ValidationFailed
from careclub.platform.service import tenant_by_slug
from careclub.platform.tenant_file import apply_text
from tests.conftest import PASSWORD, signup, unique_slug
from tests.integration.clubs.helpers import as_owner, branch, club_world, ok, person, qr, scan, staff_with_password
from tests.integration.platform.pages import browser, login, submit

FIGURE = re.compile(r'<figure class="chart" id="(?P<id>[^"]+)"(?P<attrs>[^>]*)>(?P<body>.*?)</figure>', re.S)
SPEC = re.compile(r'<script type="application/json" class="chart-spec">(.*?)</script>', re.S)


def figures(page: str) -> dict[str, dict[str, Any]]:
    """Every chart on a page: its spec (None for an empty figure), its caption link and its table's text."""
    out = {}
    for m in FIGURE.finditer(page):
        spec = SPEC.search(m["body"])
        more = re.search(r'<a class="chart-more" href="([^"]+)"', m["body"])
        table = re.search(r"<table>(.*?)</table>", m["body"], re.S)
        out[m["id"]] = {"spec": json.loads(spec.group(1)) if spec else None,
                        "link": html.unescape(more.group(1)) if more else None,
                        "table": re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", table.group(1))) if table else "",
                        "drawn": "data-chart" in m["attrs"]}
    return out


def this_month() -> str:
    now = datetime.now(ZoneInfo("Asia/Shanghai"))  # every test tenant's zone
    return f"{now.year:04d}-{now.month:02d}"


async def _vip_member(client: Any, w: dict[str, Any], name: str, phone: str, *, pay: bool = True) -> dict[str, Any]:
    h, cid = w["t"]["headers"], w["club"]["id"]
    member = await ok(await client.post("/api/v1/members", headers=h, json={"club_id": cid, "name": name,
                                                                             "phone": phone}), 201)
    card = await ok(await client.post(f"/api/v1/members/{member['id']}/cards", headers=h,
                                      json={"plan_id": w["vip"]["id"]}), 201)
    if pay:
        period = (await ok(await client.get(f"/api/v1/cards/{card['card_no']}/periods", headers=h)))[0]
        await ok(await client.post(f"/api/v1/periods/{period['id']}/offline-payment", headers=h,
                                   json={"reference": f"R-{phone}"}))
    return {"member": member, "card": card}


async def _dashboard(app: Litestar, t: dict[str, Any], email: str | None = None, lang: str = "en") -> str:
    async with browser(app, lang=lang) as c:
        await login(c, t["slug"], email or t["email"], PASSWORD)
        page = await c.get("/dashboard")
        assert page.status_code == 200, page.text[:500]
        return page.text


async def test_dashboard_figures_match_the_data_and_link_to_the_lists(app: Litestar, client: Any) -> None:
    w = await club_world(client)  # 张三丰 with an active free card, the Sparkle Wash merchant, a second club
    t, h, cid = w["t"], w["t"]["headers"], w["club"]["id"]
    paid = await _vip_member(client, w, "李雷", "13800000011")
    renewed = await _vip_member(client, w, "韩梅梅", "13800000012")
    await _vip_member(client, w, "王五", "13800000013", pay=False)  # pending: never paid
    renewal = await ok(await client.post(f"/api/v1/cards/{renewed['card']['card_no']}/periods", headers=h), 201)
    await ok(await client.post(f"/api/v1/periods/{renewal['id']}/offline-payment", headers=h, json={}))
    await ok(await client.post(f"/api/v1/cards/{paid['card']['card_no']}/suspend", headers=h, json={}))
    for _i in range(2):
        await ok(await scan(client, w, await qr(client, w)), 201)

    page = await _dashboard(app, t)
    shown = figures(page)
    key = f"club-{cid}"
    month = this_month()

    status = shown[f"{key}-status"]["spec"]
    assert status["kind"] == "pie"
    assert dict(zip(status["categories"], status["series"][0]["data"], strict=True)) == {
        "pending": 1, "active": 2, "suspended": 1}
    assert status["links"] == [f"/club/members?club={cid}&status={s}" for s in ("pending", "active", "suspended")]
    stats = await ok(await client.get(f"/api/v1/clubs/{cid}/stats", headers=h))
    assert stats["members_by_status"] == {"pending": 1, "active": 2, "suspended": 1}
    assert shown[f"{key}-status"]["link"] == f"/club/members?club={cid}"

    joins = shown[f"{key}-joins"]["spec"]
    assert len(joins["categories"]) == 12 and joins["categories"][-1] == month
    assert [s["name"] for s in joins["series"]] == ["New members", "Renewals"]
    assert [s["data"][-1] for s in joins["series"]] == [4, 1]
    assert sum(joins["series"][0]["data"]) == sum(r["new"] for r in stats["new_per_month"]) == 4

    revenue = shown[f"{key}-revenue"]["spec"]
    assert revenue["money"] == "CNY" and revenue["stack"] is True
    assert {s["name"]: s["data"][-1] for s in revenue["series"]} == {"Joining fees": 73000, "Renewal fees": 36500}
    assert "730.00" in shown[f"{key}-revenue"]["table"] and "365.00" in shown[f"{key}-revenue"]["table"]
    assert shown[f"{key}-revenue"]["link"] == "/payments"  # the admin reads payments

    checkins = shown[f"{key}-checkins"]["spec"]
    assert checkins["categories"] == ["Sparkle Wash"] and checkins["series"][0]["data"] == [2]
    assert checkins["links"] == [f"/club/checkins?club={cid}&merchant={w['wash']['id']}"]

    projection = shown[f"{key}-projection"]
    assert [s["name"] for s in projection["spec"]["series"]] == ["Actual members"]  # no projection set
    assert projection["spec"]["series"][0]["data"][-1] == 4
    assert "No projection is set for this club." in page
    assert stats["projection"] is None

    # the table under each chart holds the same numbers, and every link opens its list
    assert re.search(r"pending\s*</a>\s*1", shown[f"{key}-status"]["table"].replace("  ", " ")) or \
        "pending 1" in shown[f"{key}-status"]["table"]
    links = {f["link"] for f in shown.values() if f["link"]} | set(status["links"]) | set(checkins["links"])
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        for link in sorted(links):
            r = await c.get(link)
            assert r.status_code == 200, (link, r.status_code)
        filtered = await c.get(f"/club/members?club={cid}&status=suspended")
        assert "李雷" in filtered.text and "韩梅梅" not in filtered.text

    # the other club has a panel of its own, with empty figures said to be empty
    other = w["foreign"]["club"]
    assert f"club-{other}-status" in shown and shown[f"club-{other}-status"]["spec"] is None
    assert not shown[f"club-{other}-status"]["drawn"] and "No figures yet." in page

    # the club's projection, once set, is drawn against the actual members: 150 a month from the first one
    await ok(await client.patch(f"/api/v1/clubs/{cid}", headers=h, json={"projected_monthly_joins": 150}))
    shown = figures(await _dashboard(app, t))
    series = {s["name"]: s for s in shown[f"{key}-projection"]["spec"]["series"]}
    assert series["Projected members"]["dashed"] is True
    assert series["Projected members"]["data"][:3] == [150, 300, 450]
    assert len(shown[f"{key}-projection"]["spec"]["categories"]) == 24  # the dashboard's two years
    assert shown[f"{key}-projection"]["spec"]["categories"][0] == month  # from the first member's month
    stats = await ok(await client.get(f"/api/v1/clubs/{cid}/stats", headers=h))
    assert stats["projection"]["monthly_new"] == 150 and len(stats["projection"]["series"]) == 60
    # the statistics page draws the whole five years with the same macro
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        stats_page = await c.get(f"/club/stats/{cid}")
        on_stats = figures(stats_page.text)
        assert len(on_stats["projection"]["spec"]["categories"]) == 60
        assert on_stats["status"]["spec"] == shown[f"{key}-status"]["spec"]
        assert set(on_stats) == {"status", "plan", "branch", "joins", "revenue", "checkins", "benefits", "projection"}
        assert on_stats["joins"]["link"] is None and on_stats["projection"]["link"] is None  # never to itself
        assert on_stats["plan"]["link"] == f"/club/members?club={cid}"
        assert 'data-testid="projection-years"' in stats_page.text and "9,000" in stats_page.text  # 150 × 60
    # …and emptied again, none
    await ok(await client.patch(f"/api/v1/clubs/{cid}", headers=h, json={"projected_monthly_joins": None}))
    shown = figures(await _dashboard(app, t))
    assert [s["name"] for s in shown[f"{key}-projection"]["spec"]["series"]] == ["Actual members"]


async def test_figures_follow_the_readers_branches_and_rights(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t, h, cid = w["t"], w["t"]["headers"], w["club"]["id"]
    north = await branch(client, t, "NB")
    member = await ok(await client.post("/api/v1/members", headers=h, json={
        "club_id": cid, "name": "北方会员", "phone": "13700000021", "org_unit": north["id"]}), 201)
    await ok(await client.post(f"/api/v1/members/{member['id']}/cards", headers=h, json={"plan_id": w["free"]["id"]}),
             201)
    operator = await staff_with_password(client, t, roles=["branch_operator"], unit=north["id"])
    mine = figures(await _dashboard(app, t, operator["email"]))
    status = mine[f"club-{cid}-status"]["spec"]
    assert dict(zip(status["categories"], status["series"][0]["data"], strict=True)) == {"active": 1}
    # a branch operator reads no payments: the fees figure links to the statistics page instead
    assert mine[f"club-{cid}-revenue"]["link"] == f"/club/stats/{cid}"
    assert 'data-testid="onboarding"' not in await _dashboard(app, t, operator["email"])
    everyone = figures(await _dashboard(app, t))
    status = everyone[f"club-{cid}-status"]["spec"]
    assert dict(zip(status["categories"], status["series"][0]["data"], strict=True)) == {"active": 2}
    # a reader without members.read sees no club figures at all (and no chart script is loaded)
    approver = await staff_with_password(client, t, roles=["approver"])
    page = await _dashboard(app, t, approver["email"])
    assert not figures(page) and "echarts" not in page
    # another company sees none of these clubs
    other = await signup(client)
    assert not any(cid in k for k in figures(await _dashboard(app, other)))


async def test_charts_render_in_chinese_and_keep_typed_names_as_text(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t, h = w["t"], w["t"]["headers"]
    payload = '</script><script>alert(1)</script><b>"x"'
    await ok(await client.patch(f"/api/v1/merchants/{w['wash']['id']}", headers=h, json={"name": payload}))
    await ok(await scan(client, w, await qr(client, w)), 201)
    page = await _dashboard(app, t, lang="zh_CN")
    assert "<script>alert(1)" not in page and "<b>" not in page
    shown = figures(page)
    checkins = shown[f"club-{w['club']['id']}-checkins"]["spec"]
    assert checkins["categories"] == [payload]  # the data block holds it as JSON text, escaped for HTML
    status = shown[f"club-{w['club']['id']}-status"]["spec"]
    assert status["categories"] == ["已启用"]  # a status is a code, shown in the reader's language
    assert "按状态统计会员" in page  # and so are the captions
    assert '<script src="/static/vendor/echarts/echarts.min.js"></script>' in page
    assert '<script src="/static/js/charts.js"></script>' in page


# ---- the projection setting -------------------------------------------------------------------------

async def test_projection_through_the_api(client: Any) -> None:
    t = await signup(client)
    h = t["headers"]
    made = await ok(await client.post("/api/v1/clubs", headers=h, json={
        "code": "proj", "name": "Projected", "card_prefix": "PJ-"}), 201)
    assert made["projected_monthly_joins"] is None  # empty by default
    for bad in (-1, 1.5, "300", True, 1_000_001):
        r = await client.patch(f"/api/v1/clubs/{made['id']}", headers=h, json={"projected_monthly_joins": bad})
        assert r.status_code in (400, 422), (bad, r.text)
        assert "projected_monthly_joins" in r.text, r.text
        r = await client.post("/api/v1/clubs", headers=h, json={
            "code": f"bad{uuid.uuid4().hex[:4]}", "name": "Bad", "card_prefix": "BD-", "projected_monthly_joins": bad})
        assert r.status_code in (400, 422), (bad, r.text)
    made = await ok(await client.post("/api/v1/clubs", headers=h, json={
        "code": "proj2", "name": "Projected 2", "card_prefix": "PK-", "projected_monthly_joins": 0}), 201)
    assert made["projected_monthly_joins"] == 0  # zero is a projection (a flat line), not none
    cid = made["id"]
    club = await ok(await client.patch(f"/api/v1/clubs/{cid}", headers=h, json={"projected_monthly_joins": 300}))
    assert club["projected_monthly_joins"] == 300
    club = await ok(await client.patch(f"/api/v1/clubs/{cid}", headers=h, json={"name": "Renamed"}))
    assert club["projected_monthly_joins"] == 300  # left out: it stays
    club = await ok(await client.patch(f"/api/v1/clubs/{cid}", headers=h, json={"projected_monthly_joins": None}))
    assert club["projected_monthly_joins"] is None  # null empties it
    assert (await ok(await client.get(f"/api/v1/clubs/{cid}", headers=h)))["projected_monthly_joins"] is None
    assert (await ok(await client.get(f"/api/v1/clubs/{cid}/stats", headers=h)))["projection"] is None


async def test_concurrent_projection_edits_keep_one_of_them(client: Any, owner: asyncpg.Connection) -> None:
    t = await signup(client)
    h = t["headers"]
    cid = (await ok(await client.post("/api/v1/clubs", headers=h, json={
        "code": "race", "name": "Race", "card_prefix": "RC-"}), 201))["id"]
    values = list(range(100, 110))
    answers = await asyncio.gather(*(client.patch(f"/api/v1/clubs/{cid}", headers=h,
                                                  json={"projected_monthly_joins": v}) for v in values))
    assert all(r.status_code == 200 for r in answers), [r.text for r in answers if r.status_code != 200]
    final = (await ok(await client.get(f"/api/v1/clubs/{cid}", headers=h)))["projected_monthly_joins"]
    assert final in values
    # the edits queued on the club's row: the audit log holds one unbroken chain of them, each starting from
    # what the one before left, ending at the value kept
    rows = await as_owner(owner, t["tenant_id"], "SELECT before, after FROM audit_entry WHERE action = 'club.update' "
                                                 "AND entity_id = $1", cid)
    steps = {}
    for r in rows:
        before, after = (json.loads(v) if isinstance(v, str) else v for v in (r["before"], r["after"]))
        steps[before["projected_monthly_joins"]] = after["projected_monthly_joins"]
    assert len(rows) == len(steps) == len(values)
    value, seen = None, []
    while value in steps:
        value = steps[value]
        seen.append(value)
    assert sorted(seen) == values and seen[-1] == final


async def test_projection_on_the_club_edit_page(app: Litestar, client: Any) -> None:
    t = await signup(client)
    cid = (await ok(await client.post("/api/v1/clubs", headers=t["headers"], json={
        "code": "edit", "name": "Edit me", "card_prefix": "ED-"}), 201))["id"]
    form = f"/club/admin/club/{cid}"
    fields = {"name": "Edit me", "description": "", "card_prefix": "ED-", "active": "on"}
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        page = await c.get(form)
        assert 'name="projected_monthly_joins" type="text" value=""' in page.text  # empty by default
        for bad in ("12.5", "-3", "abc", "1,2", "三百", "2000000"):
            r = await submit(c, form, **fields, projected_monthly_joins=bad)
            assert r.status_code == 422, (bad, r.status_code)
            assert "Projected new members a month must be a whole number" in html.unescape(r.text) or \
                "projected new members a month must be a whole number" in html.unescape(r.text)
            assert 'class="field has-error"><label for="f-projected_monthly_joins"' in r.text
            assert f'value="{html.escape(bad)}"' in r.text  # what was typed is drawn again
        assert (await ok(await client.get(f"/api/v1/clubs/{cid}", headers=t["headers"])))[
            "projected_monthly_joins"] is None
        r = await submit(c, form, **fields, projected_monthly_joins="1,200")
        assert r.status_code == 303
        assert (await ok(await client.get(f"/api/v1/clubs/{cid}", headers=t["headers"])))[
            "projected_monthly_joins"] == 1200
        assert 'value="1200"' in (await c.get(form)).text
        r = await submit(c, form, **fields, projected_monthly_joins=" ")
        assert r.status_code == 303
        assert (await ok(await client.get(f"/api/v1/clubs/{cid}", headers=t["headers"])))[
            "projected_monthly_joins"] is None
    async with browser(app, lang="zh_CN") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        r = await submit(c, form, **fields, projected_monthly_joins="-1")
        assert r.status_code == 422 and 'data-testid="admin-error"' in r.text and "Traceback" not in r.text


TENANT_FILE = """
[tenant]
slug = "{slug}"
name = "Projection file"

[[clubs]]
code = "c"
name = "C"
card_prefix = "PF-"
{line}
"""


async def test_projection_in_tenant_files(client: Any) -> None:
    slug = unique_slug("proj")
    with pytest.raises(ValidationFailed) as exc:
        await apply_text(TENANT_FILE.format(slug=slug, line="projected_monthly_joins = -5"), demo=False)
    assert "clubs[0].projected_monthly_joins" in exc.value.message
    with pytest.raises(ValidationFailed) as exc:
        await apply_text(TENANT_FILE.format(slug=slug, line='projected_monthly_joins = "300"'), demo=False)
    assert "projected_monthly_joins" in exc.value.message
    with pytest.raises(ValidationFailed):
        await apply_text(TENANT_FILE.format(slug=slug, line="projected_monthly_joins = 2.5"), demo=False)
    text = TENANT_FILE.format(slug=slug, line="projected_monthly_joins = 300")
    await apply_text(text, demo=False)
    assert (await apply_text(text, demo=False)).changes == []  # twice changes nothing
    tenant = await tenant_by_slug(slug)
    assert tenant is not None
    async with tenant_scope(tenant.id):
        club = await service.club_by_code("c")
        assert club is not None and club["projected_monthly_joins"] == 300
    # the file says what the club is: left out, the club has no projection
    assert (await apply_text(TENANT_FILE.format(slug=slug, line=""), demo=False)).changes == ["club c updated"]
    async with tenant_scope(tenant.id):
        club = await service.club_by_code("c")
        assert club is not None and club["projected_monthly_joins"] is None


async def test_tianren_plans_300_a_month(client: Any) -> None:
    from careclub.settings import PROJECT_ROOT

    await apply_text((PROJECT_ROOT / "tenants" / "tianren-car-club.toml").read_text(encoding="utf-8"), demo=True)
    tenant = await tenant_by_slug("tianren-car-club")
    assert tenant is not None
    async with tenant_scope(tenant.id):
        club = await service.club_by_code("vip")
        assert club is not None and club["projected_monthly_joins"] == 300
        stats = await service.club_stats(None, club["id"])
        assert stats["projection"]["monthly_new"] == 300
        assert stats["projection"]["series"][59]["members"] == 18_000  # seed 002: about 18,000 after five years


# ---- the onboarding checklist ---------------------------------------------------------------------

def _steps(page: str) -> dict[str, bool]:
    return {m[1]: m[2] == "true" for m in re.finditer(r'data-step="([a-z]+)" data-done="(true|false)"', page)}


async def test_checklist_ticks_each_step_and_goes_away(app: Litestar, client: Any, owner: asyncpg.Connection) -> None:
    t = await signup(client)
    h = t["headers"]
    page = await _dashboard(app, t)
    assert 'data-testid="onboarding"' in page
    assert _steps(page) == {"units": False, "staff": False, "club": False, "plan": False, "merchant": False,
                            "policy": False}
    for href in ("/org", "/staff", "/club/admin", "/approvals/policies"):
        assert f'href="{href}"' in page
    await branch(client, t, "B1")
    assert _steps(await _dashboard(app, t))["units"] is True
    await person(client, t, kind="staff", roles=["finance"])
    assert _steps(await _dashboard(app, t))["staff"] is True
    club = await ok(await client.post("/api/v1/clubs", headers=h, json={
        "code": "car", "name": "Car", "card_prefix": "CA-"}), 201)
    await ok(await client.post(f"/api/v1/clubs/{club['id']}/plans", headers=h, json={"code": "free", "name": "Free"}),
             201)
    merchant = await ok(await client.post(f"/api/v1/clubs/{club['id']}/merchants", headers=h, json={
        "code": "m", "name": "Shop"}), 201)
    page = await _dashboard(app, t)
    assert _steps(page) == {"units": True, "staff": True, "club": True, "plan": True, "merchant": False,
                            "policy": False}
    assert f'href="/club/admin/merchant/{merchant["id"]}"' in page  # where its operator is linked
    operator = await person(client, t, kind="merchant", roles=["merchant_operator"])
    await ok(await client.post(f"/api/v1/merchants/{merchant['id']}/operators", headers=h,
                               json={"user_id": operator["id"]}), 201)
    assert _steps(await _dashboard(app, t))["merchant"] is True
    await as_owner(owner, t["tenant_id"], "INSERT INTO approval_policy (id, tenant_id, created_at, subject_type, "
                   "version, name, spec, is_current, source) VALUES (gen_random_uuid(), $1::uuid, now(), 'purchase', "
                   "1, 'P', '{}'::jsonb, true, 'test')", t["tenant_id"])
    page = await _dashboard(app, t)
    assert 'data-testid="onboarding"' not in page  # every step done: the list is gone
    # a company's other staff (no tenant.manage) never see the list
    other = await signup(client)
    finance = await staff_with_password(client, other, roles=["finance"])
    assert 'data-testid="onboarding"' in await _dashboard(app, other)
    assert 'data-testid="onboarding"' not in await _dashboard(app, other, finance["email"])
