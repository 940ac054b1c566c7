"""The clubs' pages through a browser-like client: the public join page, the member card page,
the scanner page (its JSON check-in needs the CSRF header), the admin overview, and who may not
open them."""

from __future__ import annotations

from typing import Any

from litestar import Litestar

from careclub.platform.tenant_file import apply_text
from careclub.settings import PROJECT_ROOT
from tests.integration.platform.pages import browser, csrf_token, login, submit

SLUG = "tianren-car-club"
PASSWORD = "careclub-demo-2026"


async def _tianren() -> None:
    await apply_text((PROJECT_ROOT / "tenants" / f"{SLUG}.toml").read_text(encoding="utf-8"), demo=True)


async def test_public_join_page_applies_and_shows_errors_inline(app: Litestar, client: Any) -> None:
    await _tianren()
    async with browser(app) as c:
        page = await c.get(f"/join/{SLUG}/vip")
        assert page.status_code == 200 and "365.00" in page.text
        plan = page.text.split('<option value="')[1].split('"')[0]
        bad = await submit(c, f"/join/{SLUG}/vip", plan=plan, name="路人甲", phone="not a phone", plate="云K12345")
        assert bad.status_code == 422 and "phone" in bad.text and 'value="路人甲"' in bad.text
        ok = await submit(c, f"/join/{SLUG}/vip", plan=plan, name="路人甲", phone="13912345678", plate="云K54321")
        assert ok.status_code == 201 and 'data-testid="join-done"' in ok.text and "TR-" in ok.text
        assert (await c.get(f"/join/{SLUG}/nope")).status_code == 404
        assert (await c.get("/join/no-such-tenant/vip")).status_code == 404


async def test_member_card_page_and_scanner_page(app: Litestar, client: Any) -> None:
    await _tianren()
    async with browser(app) as member:
        await login(member, SLUG, f"member@{SLUG}.example", PASSWORD)
        page = await member.get("/club/card")
        assert page.status_code == 200 and "TR-000001" in page.text and "<svg" in page.text
        token = page.text.split('data-testid="qr-token" value="')[1].split('"')[0]
        fresh = await member.get("/club/card/TR-000001/qr.json", headers={"Accept": "application/json"})
        assert fresh.status_code == 200 and fresh.json()["token"] != token
        assert (await member.get("/club/scan")).status_code == 403
        assert (await member.get("/club/admin")).status_code == 403
    async with browser(app) as scanner:
        await login(scanner, SLUG, f"merchant@{SLUG}.example", PASSWORD)
        page = await scanner.get("/club/scan")
        assert page.status_code == 200 and "天人汽修洗车中心" in page.text
        headers = {"Accept": "application/json", "X-CSRFToken": csrf_token(page)}
        r = await scanner.post("/club/scan/checkin", json={"token": token}, headers=headers)
        assert r.status_code == 201 and r.json()["accepted"] is True, r.text
        again = await scanner.post("/club/scan/checkin", json={"token": token}, headers=headers)
        assert again.status_code == 409 and again.json()["reason"] == "replayed"
        no_csrf = await scanner.post("/club/scan/checkin", json={"token": token},
                                     headers={"Accept": "application/json"})
        assert no_csrf.status_code == 403
        assert "TR-000001" in (await scanner.get("/club/scan")).text  # today's check-ins
        assert (await scanner.get("/club/card")).status_code == 403
    async with browser(app) as admin:
        await login(admin, SLUG, f"admin@{SLUG}.example", PASSWORD)
        page = await admin.get("/club/admin")
        assert page.status_code == 200 and "24小时紧急汽车救援" in page.text and "TR-WASH" in page.text


async def test_stats_and_projection(app: Litestar, client: Any) -> None:
    from careclub.clubs.service import projection

    series = projection(36500, monthly=300)
    assert series[59]["members"] == 18_000  # seed 002 part 5: about 18,000 members after five years
    assert sum(p["fees"] for p in series[48:60]) == 5 * 12 * 300 * 36500
    await _tianren()
    r = await client.post("/api/v1/auth/token", json={"tenant": SLUG, "email": f"admin@{SLUG}.example",
                                                      "password": PASSWORD})
    h = {"Authorization": f"Bearer {r.json()['token']}"}
    club = next(c for c in (await client.get("/api/v1/clubs", headers=h)).json() if c["code"] == "vip")
    stats = (await client.get(f"/api/v1/clubs/{club['id']}/stats", headers=h)).json()
    assert stats["members_by_status"].get("active", 0) >= 1
    assert stats["members_by_branch"].get("景洪市服务部", 0) >= 1
    assert stats["projection"]["fee"] == {"amount": "365.00", "currency": "CNY"}
    assert len(stats["projection"]["series"]) == 60
    # money in the API as the contract has it: 300 new members paying 365.00 in the first month
    assert stats["projection"]["series"][0]["fees"] == {"amount": "109500.00", "currency": "CNY"}
    r = await client.post("/api/v1/auth/token", json={"tenant": SLUG, "email": f"merchant@{SLUG}.example",
                                                      "password": PASSWORD})
    scan_h = {"Authorization": f"Bearer {r.json()['token']}"}
    assert (await client.get(f"/api/v1/clubs/{club['id']}/stats", headers=scan_h)).status_code == 403
    async with browser(app) as admin:
        await login(admin, SLUG, f"admin@{SLUG}.example", PASSWORD)
        page = await admin.get(f"/club/stats/{club['id']}")
        assert page.status_code == 200 and 'data-testid="chart-projection"' in page.text


async def test_admin_forms_create_and_show_errors(app: Litestar, client: Any) -> None:
    from tests.conftest import signup

    t = await signup(client)
    async with browser(app) as admin:
        await login(admin, t["slug"], t["email"], "correct-horse-battery-staple")
        r = await submit(admin, "/club/admin", "/club/admin/club", code="gold", name="Gold club", card_prefix="G-")
        assert r.status_code == 303
        page = await admin.get("/club/admin")
        assert "Gold club" in page.text
        import re

        club_id = re.search(r'<select name="club">\s*<option value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        r = await submit(admin, "/club/admin", "/club/admin/plan", club=club_id, code="vip", name="VIP",
                         fee="12.345", term_months="12", grace_days="0", static_daily_cap="0")
        assert r.status_code == 422 and 'data-testid="admin-error"' in r.text and "fee" in r.text
        r = await submit(admin, "/club/admin", "/club/admin/plan", club=club_id, code="vip", name="VIP",
                         fee="99.00", term_months="12", grace_days="5", static_daily_cap="0")
        assert r.status_code == 303
        r = await submit(admin, "/club/admin", "/club/admin/merchant", club=club_id, code="m1", name="Shop",
                         offer_kind="percent", offer_value="10", offer_text="10% off")
        assert r.status_code == 303
        r = await submit(admin, "/club/admin", "/club/admin/benefit", club=club_id, code="wash", name="Wash",
                         quota="4", quota_period="year", merchants="m1")
        assert r.status_code == 303
    plans = (await client.get(f"/api/v1/clubs/{club_id}/plans", headers=t["headers"])).json()
    assert [(p["code"], p["fee"], p["grace_days"]) for p in plans] == [
        ("vip", {"amount": "99.00", "currency": "CNY"}, 5)]
    benefits = (await client.get(f"/api/v1/clubs/{club_id}/benefits", headers=t["headers"])).json()
    assert [(b["code"], b["quota"], b["merchants"]) for b in benefits] == [("wash", 4, ["m1"])]


async def test_merchant_amount_offers_are_money_in_the_api(client: Any) -> None:
    from tests.integration.clubs.helpers import club_world

    w = await club_world(client)
    h, club = w["t"]["headers"], w["club"]["id"]
    r = await client.post(f"/api/v1/clubs/{club}/merchants", headers=h, json={
        "code": "tyres", "name": "Tyres", "offer_amount": {"amount": "20.00", "currency": "CNY"}})
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["offer_kind"], made["offer_value"]) == ("amount", 2000)
    assert made["offer_amount"] == {"amount": "20.00", "currency": "CNY"}
    changed = await client.patch(f"/api/v1/merchants/{made['id']}", headers=h,
                                 json={"offer_amount": {"amount": "25.50", "currency": "CNY"}})
    assert changed.status_code == 200 and changed.json()["offer_amount"] == {"amount": "25.50", "currency": "CNY"}
    percent = next(m for m in (await client.get(f"/api/v1/clubs/{club}/merchants", headers=h)).json()
                   if m["offer_kind"] == "percent")
    assert percent["offer_amount"] is None
    wrong = await client.post(f"/api/v1/clubs/{club}/merchants", headers=h, json={
        "code": "x1", "name": "X", "offer_kind": "percent", "offer_amount": {"amount": "1.00", "currency": "CNY"}})
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "offer_amount"
    usd = await client.post(f"/api/v1/clubs/{club}/merchants", headers=h, json={
        "code": "x2", "name": "X", "offer_amount": {"amount": "1.00", "currency": "USD"}})
    assert usd.status_code == 422 and usd.json()["error"]["field"] == "offer_amount.currency"


async def test_checkin_stats_count_only_the_callers_branches(client: Any) -> None:
    from tests.integration.clubs.helpers import branch, club_world, ok, person, qr, scan

    w = await club_world(client)
    h, club = w["t"]["headers"], w["club"]["id"]
    north = await branch(client, w["t"], "CN")
    member = await ok(await client.post("/api/v1/members", headers=h, json={
        "club_id": club, "name": "北方会员", "phone": "13700000001", "org_unit": north["id"]}), 201)
    card = await ok(await client.post(f"/api/v1/members/{member['id']}/cards", headers=h,
                                      json={"plan_id": w["free"]["id"]}), 201)
    await ok(await scan(client, w, await qr(client, w)), 201)  # the world's member, at the root unit
    await ok(await scan(client, w, await qr(client, w, card["card_no"], headers=h)), 201)
    await ok(await scan(client, w, await qr(client, w, card["card_no"], headers=h), benefit="washing"), 201)
    everything = await ok(await client.get(f"/api/v1/clubs/{club}/stats", headers=h))
    assert everything["checkins_by_merchant"] == {"Sparkle Wash": 3}
    assert everything["checkins_by_benefit"] == {"Car wash": 1, "—": 2}
    operator = await person(client, w["t"], kind="staff", roles=["branch_operator"], unit=north["id"])
    mine = await ok(await client.get(f"/api/v1/clubs/{club}/stats", headers=operator["headers"]))
    assert mine["checkins_by_merchant"] == {"Sparkle Wash": 2}
    assert mine["checkins_by_benefit"] == {"Car wash": 1, "—": 1}
