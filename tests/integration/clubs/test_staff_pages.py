"""The staff pages of the clubs: the member list, enrolling, a member's page with its card actions
and offline payment, and the admin's edit forms — who may open them, the branch cut, CSRF, and
that what the forms do shows up in the API."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import httpx
from litestar import Litestar

from tests.conftest import PASSWORD, signup
from tests.integration.clubs.helpers import as_owner, club_world, ok, root_unit
from tests.integration.clubs.test_plan_needs_policy import application_policy
from tests.integration.platform.pages import browser, csrf_token, login, submit


async def _staff(client: Any, t: dict[str, Any], *, roles: list[str], unit: str | None = None,
                 kind: str = "staff") -> str:
    unit = unit or (await root_unit(client, t))["id"]
    email = f"{kind}-{uuid.uuid4().hex[:8]}@{t['slug']}.test"
    await ok(await client.post("/api/v1/staff", headers=t["headers"], json={
        "email": email, "display_name": "Someone", "org_unit": unit, "roles": roles, "kind": kind,
        "password": PASSWORD}), 201)
    return email


async def _branch(client: Any, t: dict[str, Any], code: str) -> dict[str, Any]:
    root = await root_unit(client, t)
    return await ok(await client.post("/api/v1/org-units", headers=t["headers"], json={
        "code": code, "name": f"Branch {code}", "parent_id": root["id"], "kind": "branch"}), 201)


async def _member(client: Any, t: dict[str, Any], club_id: str, name: str, unit: str, phone: str) -> dict[str, Any]:
    return await ok(await client.post("/api/v1/members", headers=t["headers"], json={
        "club_id": club_id, "name": name, "phone": phone, "org_unit": unit}), 201)


async def _card(client: Any, t: dict[str, Any], card_no: str) -> dict[str, Any]:
    return await ok(await client.get(f"/api/v1/cards/{card_no}", headers=t["headers"]))


async def _post(c: httpx.AsyncClient, form_page: str, action: str, **fields: Any) -> httpx.Response:
    return await submit(c, form_page, action, **fields)


async def test_pages_render_for_staff_and_refuse_merchants_and_members(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t = w["t"]
    mid = w["member"]["id"]
    operator = await _staff(client, t, roles=["merchant_operator"], kind="merchant")
    member = await _staff(client, t, roles=["member"], kind="member")
    reader = await _staff(client, t, roles=["cs_clerk"])  # members.read, not members.manage
    async with browser(app) as admin:
        await login(admin, t["slug"], t["email"], PASSWORD)
        listing = await admin.get("/club/members")
        assert listing.status_code == 200 and "张三丰" in listing.text and w["card"]["card_no"] in listing.text
        assert 'href="/club/members"' in listing.text  # the nav links the page
        assert (await admin.get("/club/members/new")).status_code == 200
        detail = await admin.get(f"/club/members/{mid}")
        assert detail.status_code == 200 and w["card"]["card_no"] in detail.text
        assert "1234" in detail.text and "110101199003071234" not in detail.text  # the ID number masked
        assert f"/club/members/{mid}/cards/{w['card']['card_no']}/suspend" in detail.text
        for kind, key in (("club", "club"), ("plan", "vip"), ("merchant", "wash"), ("benefit", "benefit")):
            assert (await admin.get(f"/club/admin/{kind}/{w[key]['id']}")).status_code == 200, kind
        admin_page = await admin.get("/club/admin")
        assert f'href="/club/admin/plan/{w["vip"]["id"]}"' in admin_page.text
        stats = await admin.get(f"/club/stats/{w['club']['id']}")
        assert f'href="/club/members?club={w["club"]["id"]}"' in stats.text
    async with browser(app) as c:
        await login(c, t["slug"], reader, PASSWORD)
        page = await c.get(f"/club/members/{mid}")
        assert page.status_code == 200 and "/suspend" not in page.text  # no action forms without members.manage
        assert (await c.get("/club/members/new")).status_code == 403
        assert (await c.get(f"/club/admin/plan/{w['vip']['id']}")).status_code == 403
    for email in (operator, member):
        async with browser(app) as c:
            await login(c, t["slug"], email, PASSWORD)
            for path in ("/club/members", "/club/members/new", f"/club/members/{mid}",
                         f"/club/admin/plan/{w['vip']['id']}"):
                assert (await c.get(path)).status_code == 403, (email, path)
            assert 'href="/club/members"' not in (await c.get("/notifications")).text


async def test_list_search_and_filters(app: Litestar, client: Any, owner: Any) -> None:
    w = await club_world(client)
    t = w["t"]
    h, cid = t["headers"], w["club"]["id"]
    root = (await root_unit(client, t))["id"]
    other = await _member(client, t, cid, "李四", root, "13900000002")
    await ok(await client.post(f"/api/v1/members/{other['id']}/vehicles", headers=h, json={"plate": "云A12345"}), 201)
    paid = await ok(await client.post(f"/api/v1/members/{other['id']}/cards", headers=h,
                                      json={"plan_id": w["vip"]["id"]}), 201)
    assert paid["status"] == "pending"
    async with browser(app) as admin:
        await login(admin, t["slug"], t["email"], PASSWORD)

        async def names(**query: str) -> set[str]:
            r = await admin.get("/club/members", params=query)
            assert r.status_code == 200, r.text
            return set(re.findall(r'class="row-main" href="/club/members/[^"]+">([^<]+)<', r.text))

        assert await names() == {"张三丰", "李四"}
        assert await names(q="李") == {"李四"}
        assert await names(q="13800000001") == {"张三丰"}
        assert await names(q=w["card"]["card_no"]) == {"张三丰"}
        assert await names(q="a12345") == {"李四"}  # the plate, any case
        assert await names(plan=w["vip"]["id"]) == {"李四"}
        assert await names(status="pending") == {"李四"}
        assert await names(status="active") == {"张三丰"}
        assert await names(status="expired") == set()
        assert await names(club=w["club"]["id"], q="张") == {"张三丰"}
        assert await names(club=str(uuid.uuid4())) == set()
        # the status as computed from dates: 5 days past the end is in grace (10 days), 20 is expired
        for days, status in ((5, "in_grace"), (20, "expired")):
            await as_owner(owner, t["tenant_id"], "UPDATE club_card SET valid_until = now() - make_interval(days => $1)"
                           " WHERE card_no = $2", days, w["card"]["card_no"])
            assert await names(status=status) == {"张三丰"}, status
            assert await names(status="active") == set()


async def test_branch_operator_sees_and_serves_only_his_branch(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t = w["t"]
    cid = w["club"]["id"]
    north, south = await _branch(client, t, "N1"), await _branch(client, t, "S1")
    mine = await _member(client, t, cid, "北方会员", north["id"], "13900000011")
    theirs = await _member(client, t, cid, "南方会员", south["id"], "13900000012")
    their_card = await ok(await client.post(f"/api/v1/members/{theirs['id']}/cards", headers=t["headers"],
                                            json={"plan_id": w["free"]["id"]}), 201)
    operator = await _staff(client, t, roles=["branch_operator"], unit=north["id"])
    async with browser(app) as c:
        await login(c, t["slug"], operator, PASSWORD)
        listing = await c.get("/club/members")
        assert listing.status_code == 200
        assert "北方会员" in listing.text and "南方会员" not in listing.text and "张三丰" not in listing.text
        assert (await c.get(f"/club/members/{mine['id']}")).status_code == 200
        assert (await c.get(f"/club/members/{theirs['id']}")).status_code == 404
        own_page = await c.get(f"/club/members/{mine['id']}")
        token = csrf_token(own_page)
        base = f"/club/members/{theirs['id']}"
        for path, data in ((f"{base}/cards/{their_card['card_no']}/suspend", {}),
                           (f"{base}/vehicles", {"plate": "云B00001"}),
                           (f"{base}/cards", {"plan": w["free"]["id"]}),
                           # his own member's page, someone else's card number
                           (f"/club/members/{mine['id']}/cards/{their_card['card_no']}/suspend", {})):
            r = await c.post(path, data={"_csrf_token": token, **data})
            assert r.status_code == 404, (path, r.status_code)
        assert (await _card(client, t, their_card["card_no"]))["status"] == "active"
        # enrolling lands in his branch, and he cannot pick another branch
        enrol = await c.get("/club/members/new")
        assert north["id"] in enrol.text and south["id"] not in enrol.text
        r = await _post(c, "/club/members/new", "/club/members/new", plan=w["free"]["id"], name="新会员",
                        phone="13900000013", org_unit=south["id"])
        assert r.status_code == 404 and "新会员" in r.text  # drawn again with the error
        r = await _post(c, "/club/members/new", "/club/members/new", plan=w["free"]["id"], name="新会员",
                        phone="13900000013", org_unit=north["id"])
        assert r.status_code == 303
    rows = (await client.get("/api/v1/members", headers=t["headers"], params={"q": "新会员"})).json()["items"]
    assert [(m["name"], m["org_unit"]) for m in rows] == [("新会员", north["id"])]


async def test_enrol_form_with_inline_errors_and_one_card_per_vehicle(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t = w["t"]
    h, cid = t["headers"], w["club"]["id"]
    one_car = await ok(await client.post(f"/api/v1/clubs/{cid}/plans", headers=h, json={
        "code": "onecar", "name": "One car one member", "requires_vehicle": True, "one_card_per_vehicle": True,
        "term_months": 12}), 201)
    async with browser(app) as admin:
        await login(admin, t["slug"], t["email"], PASSWORD)
        bad = await _post(admin, "/club/members/new", "/club/members/new", plan=one_car["id"], name="王五",
                          phone="not a phone", plate="云C12345", id_number="530102199001011234")
        assert bad.status_code == 422 and 'id="e-phone"' in bad.text and 'value="王五"' in bad.text
        no_car = await _post(admin, "/club/members/new", "/club/members/new", plan=one_car["id"], name="王五",
                             phone="13900000021")
        assert no_car.status_code == 422 and 'id="e-plate"' in no_car.text
        assert (await client.get("/api/v1/members", headers=h, params={"q": "王五"})).json()["total"] == 0
        r = await _post(admin, "/club/members/new", "/club/members/new", plan=one_car["id"], name="王五",
                        phone="13900000021", plate="云C12345", vin="LSVAU033512345678",
                        id_number="530102199001011234")
        assert r.status_code == 303, r.text
        member_url = r.headers["location"].split("?")[0]
        page = await admin.get(member_url)
        assert "云C12345" in page.text and "530102199001011234" not in page.text and "1234" in page.text
        card_no = re.search(r'data-testid="card-([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        assert (await _card(client, t, card_no))["status"] == "active"
        # the same plate for someone else: refused inline
        taken = await _post(admin, "/club/members/new", "/club/members/new", plan=one_car["id"], name="赵六",
                            phone="13900000022", plate="云C12345")
        assert taken.status_code == 409 and 'id="e-plate"' in taken.text
        # a second card for the same vehicle on the one-card-per-vehicle plan: refused
        vehicle = re.search(r'<option value="([0-9a-f-]{36})" >云C12345', page.text)
        assert vehicle, page.text
        second = await _post(admin, member_url, f"{member_url}/cards", plan=one_car["id"], vehicle=vehicle.group(1))
        assert second.status_code == 409 and 'data-testid="vehicle-error"' in second.text
        member_id = member_url.rsplit("/", 1)[1]
        cards = await ok(await client.get(f"/api/v1/members/{member_id}/cards", headers=h))
        assert [c["card_no"] for c in cards] == [card_no]
        # a vehicle added on the member page, then a card on the free plan for it
        r = await _post(admin, member_url, f"{member_url}/vehicles", plate="云C54321")
        assert r.status_code == 303
        r = await _post(admin, member_url, f"{member_url}/vehicles", plate="bad plate!!")
        assert r.status_code == 422 and "has-error" in r.text
    member = await ok(await client.get(f"/api/v1/members/{member_id}", headers=h))
    assert sorted(v["plate"] for v in member["vehicles"]) == ["云C12345", "云C54321"]
    assert member["id_number"] != "530102199001011234" and member["id_number"].endswith("1234")


async def test_card_actions_through_the_forms(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t = w["t"]
    mid, card_no = w["member"]["id"], w["card"]["card_no"]
    url = f"/club/members/{mid}"
    async with browser(app) as admin:
        await login(admin, t["slug"], t["email"], PASSWORD)
        no_csrf = await admin.post(f"{url}/cards/{card_no}/suspend", data={})
        assert no_csrf.status_code == 403
        assert (await _card(client, t, card_no))["status"] == "active"
        for action, status in (("suspend", "suspended"), ("resume", "active")):
            r = await _post(admin, url, f"{url}/cards/{card_no}/{action}")
            assert r.status_code == 303, r.text
            assert (await _card(client, t, card_no))["status"] == status
        again = await _post(admin, url, f"{url}/cards/{card_no}/resume")
        assert again.status_code == 409 and 'data-testid="member-error"' in again.text
        r = await _post(admin, url, f"{url}/cards/{card_no}/reissue")
        assert r.status_code == 303
        assert (await _card(client, t, card_no))["status"] == "cancelled"
        cards = await ok(await client.get(f"/api/v1/members/{mid}/cards", headers=t["headers"]))
        new_no = next(c["card_no"] for c in cards if c["replaces"])
        assert new_no != card_no and (await _card(client, t, new_no))["status"] == "active"
        r = await _post(admin, url, f"{url}/cards/{new_no}/cancel")
        assert r.status_code == 303 and (await _card(client, t, new_no))["status"] == "cancelled"
        assert (await _post(admin, url, f"{url}/cards/{new_no}/explode")).status_code == 404
        # another member's card through this member's page: 404, untouched
        other = await _member(client, t, w["club"]["id"], "李四", (await root_unit(client, t))["id"], "13900000031")
        other_card = await ok(await client.post(f"/api/v1/members/{other['id']}/cards", headers=t["headers"],
                                                json={"plan_id": w["free"]["id"]}), 201)
        r = await _post(admin, url, f"{url}/cards/{other_card['card_no']}/suspend")
        assert r.status_code == 404 and (await _card(client, t, other_card["card_no"]))["status"] == "active"
        history = await admin.get(url)
        assert "data-testid=\"card-" + new_no in history.text
        # a pending card (paid plan) activated by staff
        pending = await ok(await client.post(f"/api/v1/members/{mid}/cards", headers=t["headers"],
                                             json={"plan_id": w["vip"]["id"]}), 201)
        assert pending["status"] == "pending"
        r = await _post(admin, url, f"{url}/cards/{pending['card_no']}/activate")
        assert r.status_code == 303 and (await _card(client, t, pending["card_no"]))["status"] == "active"


async def test_renew_and_offline_payment_stack_on_the_current_end(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t = w["t"]
    h = t["headers"]
    mid = w["member"]["id"]
    url = f"/club/members/{mid}"
    card = await ok(await client.post(f"/api/v1/members/{mid}/cards", headers=h,
                                      json={"plan_id": w["vip"]["id"]}), 201)
    card_no = card["card_no"]
    async with browser(app) as admin:
        await login(admin, t["slug"], t["email"], PASSWORD)
        page = await admin.get(url)
        period_id = re.search(rf'/club/members/{mid}/periods/([0-9a-f-]+)/paid', page.text).group(1)  # type: ignore[union-attr]
        no_csrf = await admin.post(f"{url}/periods/{period_id}/paid", data={"reference": "R1"})
        assert no_csrf.status_code == 403
        r = await _post(admin, url, f"{url}/periods/{period_id}/paid", reference="receipt 0001")
        assert r.status_code == 303, r.text
        first = await _card(client, t, card_no)
        assert first["status"] == "active"
        first_end = datetime.fromisoformat(first["valid_until"])
        twice = await _post(admin, url, f"{url}/periods/{period_id}/paid", reference="again")
        assert twice.status_code == 422
        assert (await _card(client, t, card_no))["valid_until"] == first["valid_until"]
        r = await _post(admin, url, f"{url}/cards/{card_no}/renew")
        assert r.status_code == 303
        periods = await ok(await client.get(f"/api/v1/cards/{card_no}/periods", headers=h))
        renewal = next(p for p in periods if p["status"] == "pending")
        assert renewal["kind"] == "renewal"
        r = await _post(admin, url, f"{url}/periods/{renewal['id']}/paid", reference="receipt 0002")
        assert r.status_code == 303
    second_end = datetime.fromisoformat((await _card(client, t, card_no))["valid_until"])
    # stacked: a year on top of the first end (not a year from today)
    assert (second_end.year, second_end.month, second_end.day) == (first_end.year + 1, first_end.month,
                                                                   first_end.day)
    # the free card cannot be renewed: refused inline, no period opened
    async with browser(app) as admin:
        await login(admin, t["slug"], t["email"], PASSWORD)
        free_no = w["card"]["card_no"]
        r = await _post(admin, url, f"{url}/cards/{free_no}/renew")
        assert r.status_code == 422
    assert await ok(await client.get(f"/api/v1/cards/{free_no}/periods", headers=h)) == []


async def test_admin_edit_forms_show_up_in_the_api(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t = w["t"]
    h, cid = t["headers"], w["club"]["id"]
    extra = await ok(await client.post(f"/api/v1/clubs/{cid}/benefits", headers=h, json={
        "code": "rescue", "name": "Rescue", "group_name": "Road"}), 201)
    async with browser(app) as admin:
        await login(admin, t["slug"], t["email"], PASSWORD)
        r = await _post(admin, f"/club/admin/club/{cid}", f"/club/admin/club/{cid}", name="Car club 2",
                        description="Cars", card_prefix=w["club"]["card_prefix"], active="on")
        assert r.status_code == 303, r.text
        vip = f"/club/admin/plan/{w['vip']['id']}"
        r = await _post(admin, vip, vip, name="VIP gold", fee="12.345", term_months="12", grace_days="3",
                        static_daily_cap="2", active="on")
        assert r.status_code == 422 and 'data-testid="admin-error"' in r.text and 'value="VIP gold"' in r.text
        await application_policy(client, t, role="tenant_admin")  # a plan needs approval only with one
        r = await _post(admin, vip, vip, name="VIP gold", fee="400.00", term_months="24", grace_days="3",
                        static_daily_cap="2", needs_approval="on", active="on")
        assert r.status_code == 303, r.text
        wash = f"/club/admin/merchant/{w['wash']['id']}"
        page = await admin.get(wash)
        data = {"_csrf_token": csrf_token(page), "name": "Sparkle Wash 2", "category": "washing",
                "offer_kind": "amount", "offer_value": "5", "offer_text": "5 yuan off", "address": "1 Road"}  # yuan
        r = await admin.post(wash, data={**data, "benefits": [extra["id"]]})  # closed; honours rescue only
        assert r.status_code == 303, r.text
        r = await _post(admin, wash, wash, name="Sparkle", offer_kind="percent", offer_value="300", is_open="on")
        assert r.status_code == 422 and "offer_value" in r.text
        ben = f"/club/admin/benefit/{w['benefit']['id']}"
        page = await admin.get(ben)
        data = {"_csrf_token": csrf_token(page), "name": "Car wash", "group_name": "Care+", "quota": "6",
                "quota_period": "month", "active": "on"}
        r = await admin.post(ben, data={**data, "merchants": ["wash"]})
        assert r.status_code == 303, r.text
        assert (await _post(admin, "/club/admin", f"/club/admin/widget/{cid}", name="x")).status_code == 404
    club = await ok(await client.get(f"/api/v1/clubs/{cid}", headers=h))
    assert (club["name"], club["description"], club["active"]) == ("Car club 2", "Cars", True)
    plan = next(p for p in await ok(await client.get(f"/api/v1/clubs/{cid}/plans", headers=h)) if p["code"] == "vip")
    assert (plan["name"], plan["fee"], plan["term_months"], plan["grace_days"], plan["needs_approval"],
            plan["static_card"]) == ("VIP gold", {"amount": "400.00", "currency": "CNY"}, 24, 3, True, False)
    merchant = await ok(await client.get(f"/api/v1/merchants/{w['wash']['id']}", headers=h))
    assert (merchant["name"], merchant["offer_kind"], merchant["offer_value"], merchant["is_open"]) == (
        "Sparkle Wash 2", "amount", 500, False)
    benefits = {b["code"]: b for b in await ok(await client.get(f"/api/v1/clubs/{cid}/benefits", headers=h))}
    assert benefits["rescue"]["merchants"] == ["wash"]
    assert (benefits["washing"]["group_name"], benefits["washing"]["quota"], benefits["washing"]["quota_period"],
            benefits["washing"]["merchants"]) == ("Care+", 6, "month", ["wash"])


async def test_another_tenants_ids_answer_404(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    mine = await signup(client)
    theirs = w["t"]
    period = await ok(await client.post(f"/api/v1/members/{w['member']['id']}/cards", headers=theirs["headers"],
                                        json={"plan_id": w["vip"]["id"]}), 201)
    periods = await ok(await client.get(f"/api/v1/cards/{period['card_no']}/periods", headers=theirs["headers"]))
    async with browser(app) as c:
        await login(c, mine["slug"], mine["email"], PASSWORD)
        url = f"/club/members/{w['member']['id']}"
        assert (await c.get(url)).status_code == 404
        for kind, key in (("club", "club"), ("plan", "vip"), ("merchant", "wash"), ("benefit", "benefit")):
            assert (await c.get(f"/club/admin/{kind}/{w[key]['id']}")).status_code == 404, kind
            r = await _post(c, "/club/members", f"/club/admin/{kind}/{w[key]['id']}", name="Hijacked")
            assert r.status_code == 404, kind
        token = csrf_token(await c.get("/club/members"))
        for path in (f"{url}/cards/{w['card']['card_no']}/suspend", f"{url}/periods/{periods[0]['id']}/paid",
                     f"{url}/vehicles"):
            assert (await c.post(path, data={"_csrf_token": token, "plate": "云D11111"})).status_code == 404, path
        listing = await c.get("/club/members", params={"q": "张三丰"})
        assert listing.status_code == 200 and f'href="/club/members/{w["member"]["id"]}"' not in listing.text
    assert (await _card(client, theirs, w["card"]["card_no"]))["status"] == "active"
    club = await ok(await client.get(f"/api/v1/clubs/{w['club']['id']}", headers=theirs["headers"]))
    assert club["name"] == "Car club"
