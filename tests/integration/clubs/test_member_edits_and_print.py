"""Three page gaps of the clubs: the printable static card (member's card page and staff member
page), editing a member's name, phone and branch on the staff member page, and renewing a
policy-linked card there — who may, the branch cut, CSRF, and that the API sees the result."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar import Litestar

from careclub.core import clock
from careclub.core.qr import qr_svg
from tests.conftest import PASSWORD, signup
from tests.integration.clubs.helpers import branch, club_world, ok, scan, staff_with_password
from tests.integration.platform.pages import browser, csrf_token, login, submit

SVG = re.compile(r'<div class="static-card-qr" data-testid="static-qr">(<svg.*?</svg>)</div>', re.S)
TOKEN = re.compile(r'data-testid="qr-token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _reset_clock() -> Any:
    yield
    clock.reset()


async def _vip_member(client: Any, w: dict[str, Any]) -> dict[str, Any]:
    """A member who can sign in, holding a paid (active) card on the plan that allows static cards."""
    t = w["t"]
    h = t["headers"]
    user = await staff_with_password(client, t, roles=["member"], kind="member")
    member = await ok(await client.post("/api/v1/members", headers=h, json={
        "club_id": w["club"]["id"], "name": "李小龙", "phone": "13800000099", "user_id": user["id"]}), 201)
    card = await ok(await client.post(f"/api/v1/members/{member['id']}/cards", headers=h,
                                      json={"plan_id": w["vip"]["id"]}), 201)
    periods = await ok(await client.get(f"/api/v1/cards/{card['card_no']}/periods", headers=h))
    await ok(await client.post(f"/api/v1/periods/{periods[0]['id']}/offline-payment", headers=h,
                               json={"reference": "cash"}))
    return {"user": user, "member": member, "card": card}


async def test_member_prints_his_static_card_and_the_code_checks_in_as_static(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t = w["t"]
    vip = await _vip_member(client, w)
    card_no = vip["card"]["card_no"]
    async with browser(app) as c:
        await login(c, t["slug"], vip["user"]["email"], PASSWORD)
        mine = await c.get("/club/card")
        assert mine.status_code == 200 and f'href="/club/cards/{card_no}/print"' in mine.text
        printed = await c.get(f"/club/cards/{card_no}/print")
        assert printed.status_code == 200, printed.text[:500]
        text = printed.text
        assert "STATIC CARD / 静态卡" in text and card_no in text and "Car club" in text and "VIP card" in text
        assert "李**" in text and "李小龙" not in text  # the member's name masked
        assert "@media print" in (await c.get("/static/clubs/card_print.css")).text
        svg = SVG.search(text)
        token = TOKEN.search(text)
        assert svg and token
        token_text = html.unescape(token.group(1))
        # The drawn code is exactly the QR of this token (segno's encoding is deterministic).
        assert qr_svg(token_text, random_text=True) == svg.group(1)
        # Someone else's card: 404, like a number that does not exist.
        assert (await c.get(f"/club/cards/{w['card']['card_no']}/print")).status_code == 404
        assert (await c.get("/club/cards/NOPE-1/print")).status_code == 404
    clock.travel(timedelta(hours=5))  # a static code does not expire
    first = await ok(await scan(client, w, token_text), 201)
    assert first["accepted"] is True and first["static"] is True
    assert first["member"]["card_no"] == card_no


async def test_print_refused_for_a_plan_without_static_cards_and_links_hidden(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t = w["t"]
    vip = await _vip_member(client, w)
    free_no = w["card"]["card_no"]  # the free plan allows no static card
    async with browser(app) as admin:
        await login(admin, t["slug"], t["email"], PASSWORD)
        free_page = await admin.get(f"/club/members/{w['member']['id']}")
        assert free_page.status_code == 200 and "/print" not in free_page.text
        refused = await admin.get(f"/club/cards/{free_no}/print")
        assert refused.status_code == 409
        assert 'data-testid="print-refusal"' in refused.text and "STATIC CARD" not in refused.text
        assert "<svg" not in refused.text.split('data-testid="print-refusal"')[1]
        vip_page = await admin.get(f"/club/members/{vip['member']['id']}")
        assert f'href="/club/cards/{vip["card"]["card_no"]}/print"' in vip_page.text
        staff_print = await admin.get(f"/club/cards/{vip['card']['card_no']}/print")
        assert staff_print.status_code == 200 and "STATIC CARD / 静态卡" in staff_print.text
    # the plan turned off: the member's link disappears and the page refuses
    await ok(await client.patch(f"/api/v1/plans/{w['vip']['id']}", headers=t["headers"], json={"static_card": False}))
    async with browser(app) as c:
        await login(c, t["slug"], vip["user"]["email"], PASSWORD)
        mine = await c.get("/club/card")
        assert mine.status_code == 200 and "/print" not in mine.text
        assert (await c.get(f"/club/cards/{vip['card']['card_no']}/print")).status_code == 409


async def test_print_page_hides_other_branches_and_other_tenants_cards(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t = w["t"]
    vip = await _vip_member(client, w)  # in the root unit
    other = await club_world(client, await signup(client))
    other_vip = await _vip_member(client, other)
    north = await branch(client, t, "N9")
    operator = await staff_with_password(client, t, roles=["branch_operator"], unit=north["id"])
    merchant = await staff_with_password(client, t, roles=["merchant_operator"], kind="merchant")
    async with browser(app) as admin:
        await login(admin, t["slug"], t["email"], PASSWORD)
        assert (await admin.get(f"/club/cards/{other_vip['card']['card_no']}/print")).status_code == 404
    for email in (operator["email"], merchant["email"]):
        async with browser(app) as c:
            await login(c, t["slug"], email, PASSWORD)
            assert (await c.get(f"/club/cards/{vip['card']['card_no']}/print")).status_code == 404, email


async def test_edit_member_name_phone_and_branch(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t = w["t"]
    h = t["headers"]
    mid = w["member"]["id"]
    url = f"/club/members/{mid}"
    north = await branch(client, t, "N1")
    async with browser(app) as admin:
        await login(admin, t["slug"], t["email"], PASSWORD)
        assert (await admin.post(f"{url}/edit", data={"name": "X", "phone": "13900000000"})).status_code == 403
        bad = await submit(admin, url, f"{url}/edit", name="张三", phone="not a phone!", org_unit=north["id"])
        assert bad.status_code == 422 and 'class="field has-error"' in bad.text and "not a phone!" in bad.text
        blank = await submit(admin, url, f"{url}/edit", name="", phone="13900000000", org_unit=north["id"])
        assert blank.status_code == 422
        unchanged = await ok(await client.get(f"/api/v1/members/{mid}", headers=h))
        assert (unchanged["name"], unchanged["phone"]) == ("张三丰", "13800000001")
        r = await submit(admin, url, f"{url}/edit", name="张三", phone="13900000000", org_unit=north["id"])
        assert r.status_code == 303 and r.headers["location"] == f"{url}?done=edited"
    member = await ok(await client.get(f"/api/v1/members/{mid}", headers=h))
    assert (member["name"], member["phone"], member["org_unit"]) == ("张三", "13900000000", north["id"])
    log = await ok(await client.get("/api/v1/audit", headers=h, params={"entity_id": mid}))
    assert any(e["action"] == "club_member.update" for e in log["items"])


async def test_branch_operator_cannot_move_a_member_out_of_his_branch(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t = w["t"]
    h = t["headers"]
    north, south = await branch(client, t, "N2"), await branch(client, t, "S2")
    mine = await ok(await client.post("/api/v1/members", headers=h, json={
        "club_id": w["club"]["id"], "name": "北方会员", "phone": "13900000021", "org_unit": north["id"]}), 201)
    theirs = await ok(await client.post("/api/v1/members", headers=h, json={
        "club_id": w["club"]["id"], "name": "南方会员", "phone": "13900000022", "org_unit": south["id"]}), 201)
    operator = await staff_with_password(client, t, roles=["branch_operator"], unit=north["id"])
    url = f"/club/members/{mine['id']}"
    async with browser(app) as c:
        await login(c, t["slug"], operator["email"], PASSWORD)
        page = await c.get(url)
        assert page.status_code == 200 and f"{url}/edit" in page.text
        assert north["id"] in page.text and south["id"] not in page.text  # only his branches offered
        r = await submit(c, url, f"{url}/edit", name="北方会员", phone="13900000021", org_unit=south["id"])
        assert r.status_code == 404 and 'data-testid="org-unit-error"' in r.text  # drawn again, error inline
        token = csrf_token(page)
        r = await c.post(f"/club/members/{theirs['id']}/edit",
                         data={"_csrf_token": token, "name": "改名", "phone": "13900000022", "org_unit": north["id"]})
        assert r.status_code == 404
        r = await submit(c, url, f"{url}/edit", name="北方会员二", phone="13900000023", org_unit=north["id"])
        assert r.status_code == 303
    assert (await ok(await client.get(f"/api/v1/members/{mine['id']}", headers=h)))["org_unit"] == north["id"]
    assert (await ok(await client.get(f"/api/v1/members/{mine['id']}", headers=h)))["name"] == "北方会员二"
    theirs_now = await ok(await client.get(f"/api/v1/members/{theirs['id']}", headers=h))
    assert (theirs_now["name"], theirs_now["org_unit"]) == ("南方会员", south["id"])


async def test_reader_sees_no_edit_or_renewal_forms(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t = w["t"]
    reader = await staff_with_password(client, t, roles=["cs_clerk"])  # members.read only
    url = f"/club/members/{w['member']['id']}"
    async with browser(app) as c:
        await login(c, t["slug"], reader["email"], PASSWORD)
        page = await c.get(url)
        assert page.status_code == 200 and f"{url}/edit" not in page.text
        token = csrf_token(page)  # the page's sign-out form carries one
        r = await c.post(f"{url}/edit", data={"_csrf_token": token, "name": "X", "phone": "13900000000"})
        assert r.status_code == 403


async def _policy_world(client: Any) -> dict[str, Any]:
    t = await signup(client)
    h = t["headers"]
    club = await ok(await client.post("/api/v1/clubs", headers=h, json={
        "code": "ab", "name": "Anbao", "card_prefix": "AB-"}), 201)
    plan = await ok(await client.post(f"/api/v1/clubs/{club['id']}/plans", headers=h, json={
        "code": "policy", "name": "Policy holder", "grace_days": 10, "requires_vehicle": True,
        "one_card_per_vehicle": True, "policy_linked": True}), 201)
    m = await ok(await client.post("/api/v1/members", headers=h, json={
        "club_id": club["id"], "name": "李四", "phone": "13600000000"}), 201)
    v = await ok(await client.post(f"/api/v1/members/{m['id']}/vehicles", headers=h, json={"plate": "沪A12345"}), 201)
    ends = clock.now() + timedelta(days=30)
    card = await ok(await client.post(f"/api/v1/members/{m['id']}/cards", headers=h, json={
        "plan_id": plan["id"], "vehicle_id": v["id"], "policy_no": "P-1", "policy_ends_at": ends.isoformat()}), 201)
    return {"t": t, "member": m, "card": card, "plan": plan}


async def test_renew_policy_linked_card_from_the_member_page(app: Litestar, client: Any) -> None:
    pw = await _policy_world(client)
    t = pw["t"]
    h = t["headers"]
    card_no = pw["card"]["card_no"]
    url = f"/club/members/{pw['member']['id']}"
    action = f"{url}/policy/{card_no}"
    zone = ZoneInfo("Asia/Shanghai")  # a new tenant's zone
    new_end = (clock.now().astimezone(zone) + timedelta(days=400)).date()
    async with browser(app) as admin:
        await login(admin, t["slug"], t["email"], PASSWORD)
        page = await admin.get(url)
        assert page.status_code == 200 and f'action="{action}"' in page.text
        assert (await admin.post(action, data={"renew_policy_no": "P-2",
                                               "renew_policy_ends_at": new_end.isoformat()})).status_code == 403
        missing = await submit(admin, url, action, renew_policy_no="P-2", renew_policy_ends_at="")
        assert missing.status_code == 422 and 'id="e-renew_policy_ends_at"' in missing.text
        bad = await submit(admin, url, action, renew_policy_no="", renew_policy_ends_at=new_end.isoformat())
        assert bad.status_code == 422 and 'id="e-renew_policy_no"' in bad.text
        r = await submit(admin, url, action, renew_policy_no="P-2", renew_policy_ends_at=new_end.isoformat())
        assert r.status_code == 303 and r.headers["location"] == f"{url}?done=policy"
    card = await ok(await client.get(f"/api/v1/cards/{card_no}", headers=h))
    assert card["policy_no"] == "P-2" and card["valid_until"][:10] == new_end.isoformat()
    # the card's validity is the new policy end plus the plan's 10 grace days
    end_of_day = datetime(new_end.year, new_end.month, new_end.day, 23, 59, tzinfo=zone)
    clock.travel(end_of_day + timedelta(days=9) - clock.now())
    assert await _status_on_page(app, t, url) == "in_grace"
    clock.travel(timedelta(days=2))
    assert await _status_on_page(app, t, url) == "expired"


async def _status_on_page(app: Litestar, t: dict[str, Any], url: str) -> str:
    """The card's status as the member page shows it (signing in afresh: the clock moved on)."""
    async with browser(app) as admin:
        await login(admin, t["slug"], t["email"], PASSWORD)
        page = await admin.get(url)
        assert page.status_code == 200
        found = re.search(r'class="pill club-pill status-([a-z_]+)" data-testid="card-status"', page.text)
        assert found
        return found.group(1)


async def test_policy_form_only_for_policy_linked_cards_and_own_cards(app: Litestar, client: Any) -> None:
    pw = await _policy_world(client)
    t = pw["t"]
    h = t["headers"]
    club = await ok(await client.post("/api/v1/clubs", headers=h, json={
        "code": "c2", "name": "Plain", "card_prefix": "PL-"}), 201)
    free = await ok(await client.post(f"/api/v1/clubs/{club['id']}/plans", headers=h, json={
        "code": "free", "name": "Free"}), 201)
    m = await ok(await client.post("/api/v1/members", headers=h, json={
        "club_id": club["id"], "name": "王五", "phone": "13600000001"}), 201)
    plain = await ok(await client.post(f"/api/v1/members/{m['id']}/cards", headers=h,
                                       json={"plan_id": free["id"]}), 201)
    url = f"/club/members/{m['id']}"
    async with browser(app) as admin:
        await login(admin, t["slug"], t["email"], PASSWORD)
        page = await admin.get(url)
        assert "/policy/" not in page.text
        r = await submit(admin, url, f"{url}/policy/{plain['card_no']}", renew_policy_no="P-9",
                         renew_policy_ends_at="2030-01-01")
        assert r.status_code == 422 and plain["card_no"] in r.text
        # the policy card through another member's page: 404, untouched
        r = await submit(admin, url, f"{url}/policy/{pw['card']['card_no']}", renew_policy_no="P-9",
                         renew_policy_ends_at="2030-01-01")
        assert r.status_code == 404
    card = await ok(await client.get(f"/api/v1/cards/{pw['card']['card_no']}", headers=h))
    assert card["policy_no"] == "P-1"
