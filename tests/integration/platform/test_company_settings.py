"""The company settings page: a company that signed up sets its own name, time zone, language and currency,
with the tenant file's checks, every problem at once beside its field, in Chinese and English; the currency is
fixed once money is recorded; only its admins reach the page, and a change touches no other company."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from careclub.core.db import fetch, tenant_scope
from careclub.platform import service
from careclub.platform.tables import AuditEntry, OrgUnit
from tests.conftest import PASSWORD, signup
from tests.integration.clubs.helpers import person, staff_with_password
from tests.integration.platform.pages import browser, login, submit


async def _company(tenant_id: str) -> Any:
    async with tenant_scope(uuid.UUID(tenant_id)):
        service.forget_tenant(uuid.UUID(tenant_id))
        return await service.get_tenant(uuid.UUID(tenant_id))


async def test_an_admin_sets_the_name_zone_language_and_currency_and_no_other_company_changes(
        app: Any, client: Any) -> None:
    t, other = await signup(client), await signup(client)
    before_other = await _company(other["tenant_id"])
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        page = await c.get("/settings/company")
        assert page.status_code == 200 and "Company settings" in page.text and 'id="nav-company"' in page.text
        assert 'value="Asia/Shanghai" selected' in page.text  # a new company starts in China's zone
        r = await submit(c, "/settings/company", name="  海湾物业 <b>  ", timezone="Asia/Hong_Kong", locale="en",
                         currency="HKD")
        assert r.status_code == 303 and r.headers["location"] == "/settings/company?saved=zone"
        shown = await c.get(r.headers["location"])
        assert "Saved. The monthly figures are being counted again" in shown.text
        assert 'value="海湾物业 &lt;b&gt;"' in shown.text
        assert 'value="Asia/Hong_Kong" selected' in shown.text and 'value="HKD" selected' in shown.text
    now = await _company(t["tenant_id"])
    assert (now.name, now.timezone, now.locale, now.currency) == ("海湾物业 <b>", "Asia/Hong_Kong", "en", "HKD")
    async with tenant_scope(uuid.UUID(t["tenant_id"])):
        root = await OrgUnit.select(OrgUnit.name).where(OrgUnit.parent.is_null()).first()
        entry = await AuditEntry.select(AuditEntry.before, AuditEntry.after).where(
            AuditEntry.action == "tenant.update").first()
    assert root["name"] == "海湾物业 <b>"
    assert entry is not None and "Asia/Shanghai" in str(entry["before"]) and "Asia/Hong_Kong" in str(entry["after"])
    assert await _company(other["tenant_id"]) == before_other
    # the sign-in answer and every page now speak of the company by its new name and in its zone
    me = await client.get("/api/v1/me", headers=t["headers"])
    assert me.status_code == 200 and "Asia/Hong_Kong" in me.text


async def test_every_problem_at_once_beside_its_field_in_both_languages_and_nothing_saved(
        app: Any, client: Any) -> None:
    t = await signup(client)
    before = await _company(t["tenant_id"])
    for lang, words in (("en", ("is required", "unknown time zone", "must be one of", "three-letter ISO code")),
                        ("zh_CN", ("必填", "未知的时区", "ISO 货币代码"))):
        async with browser(app, lang=lang) as c:
            await login(c, t["slug"], t["email"], PASSWORD)
            bad = await submit(c, "/settings/company", name=" ", timezone="Mars/Olympus_Mons", locale="fr",
                               currency="yuan")
            assert bad.status_code == 422, bad.text[:300]
            for f in ("name", "timezone", "locale", "currency"):
                assert f'id="e-{f}"' in bad.text, (lang, f)
            assert all(w in bad.text for w in words), (lang, bad.text[:2000])
            assert "Mars/Olympus_Mons" in bad.text  # the message names what was typed, escaped as data
    assert await _company(t["tenant_id"]) == before


async def test_the_currency_is_fixed_once_money_is_recorded(app: Any, client: Any) -> None:
    t = await signup(client)
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        assert "It can change until the first money is recorded." in (await c.get("/settings/company")).text
        # a care fund receives its first contribution through the API: money is on the books
        r = await client.post("/api/v1/funds", headers=t["headers"],
                              json={"code": "CARE", "name": "Care fund", "year": 2026})
        assert r.status_code == 201, r.text
        fund = r.json()
        r = await client.post(f"/api/v1/funds/{fund['id']}/contributions", headers=t["headers"],
                              json={"kind": "reserve", "source": "Set-up reserve", "received_on": "2026-03-01",
                                    "amount": {"amount": "1000.00", "currency": "CNY"}})
        assert r.status_code == 201, r.text
        page = await c.get("/settings/company")
        assert "Money has been recorded in this currency" in page.text
        refused = await submit(c, "/settings/company", name="Co", timezone="Asia/Shanghai", locale="zh_CN",
                               currency="USD")
        assert refused.status_code == 409 and 'id="e-currency"' in refused.text
        assert "once money has been recorded in CNY" in refused.text
        # the other settings still save, the currency as it was
        kept = await submit(c, "/settings/company", name="Co", timezone="Asia/Shanghai", locale="zh_CN",
                            currency="CNY")
        assert kept.status_code == 303 and kept.headers["location"].endswith("?saved=1")  # no zone change
    assert (await _company(t["tenant_id"])).name == "Co"


async def test_only_the_companys_admins_reach_the_page(app: Any, client: Any) -> None:
    t = await signup(client)
    clerk = await staff_with_password(client, t, roles=["cs_clerk"])
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], clerk["email"], PASSWORD)
        assert (await c.get("/settings/company")).status_code == 403
        assert 'id="nav-company"' not in (await c.get("/dashboard")).text
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        token = (await c.get("/settings/company")).text
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], clerk["email"], PASSWORD)
        r = await c.post("/settings/company", data={"name": "Taken over", "timezone": "UTC", "locale": "en",
                                                   "currency": "CNY"})
        assert r.status_code in (403, 400)
    assert token and (await _company(t["tenant_id"])).name != "Taken over"
    async with tenant_scope(uuid.UUID(t["tenant_id"])):
        assert await fetch("SELECT count(*)::int AS n FROM audit_entry WHERE action = 'tenant.update'") == [{"n": 0}]


async def test_the_api_reads_and_changes_the_same_settings_with_the_same_checks(client: Any) -> None:
    t, other = await signup(client), await signup(client)
    h = t["headers"]
    got = (await client.get("/api/v1/company", headers=h)).json()
    assert (got["slug"], got["timezone"], got["currency"], got["currency_fixed"]) == (
        t["slug"], "Asia/Shanghai", "CNY", False)
    # a field left out stays; the others change
    r = await client.patch("/api/v1/company", headers=h, json={"timezone": "Asia/Taipei", "locale": "en"})
    assert r.status_code == 200, r.text
    assert (r.json()["timezone"], r.json()["locale"], r.json()["name"]) == ("Asia/Taipei", "en", got["name"])
    # every problem at once, by field, and nothing saved
    r = await client.patch("/api/v1/company", headers=h, json={"name": "  ", "timezone": "Asia/Nowhere",
                                                               "locale": "de", "currency": "rmb"})
    assert r.status_code == 422, r.text
    fields = {e["field"] for e in r.json()["error"]["fields"]}
    assert fields == {"name", "timezone", "locale", "currency"}, r.text
    assert (await client.get("/api/v1/company", headers=h)).json()["timezone"] == "Asia/Taipei"
    assert (await client.patch("/api/v1/company", headers=h, json={"zone": "UTC"})).status_code in (400, 422)
    # the other company is untouched, and a clerk may not read or change the settings
    assert (await client.get("/api/v1/company", headers=other["headers"])).json()["timezone"] == "Asia/Shanghai"
    clerk = await person(client, t, kind="staff", roles=["cs_clerk"])
    assert (await client.get("/api/v1/company", headers=clerk["headers"])).status_code == 403
    assert (await client.patch("/api/v1/company", headers=clerk["headers"], json={"name": "x"})).status_code == 403
    # money recorded: the currency stays (409), the same rule as the page
    r = await client.post("/api/v1/funds", headers=h, json={"code": "CARE", "name": "Care fund", "year": 2026})
    fund = r.json()
    r = await client.post(f"/api/v1/funds/{fund['id']}/contributions", headers=h, json={
        "kind": "reserve", "source": "Set-up reserve", "received_on": "2026-03-01",
        "amount": {"amount": "10.00", "currency": "CNY"}})
    assert r.status_code == 201, r.text
    r = await client.patch("/api/v1/company", headers=h, json={"currency": "TWD"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "currency_in_use", r.text
    assert (await client.get("/api/v1/company", headers=h)).json()["currency_fixed"] is True


async def test_saves_racing_run_one_after_another_and_the_audit_trail_chains(client: Any) -> None:
    """Six saves at once, each to another zone: each waits for the one before, so every audit entry's `before` is
    the `after` of the one before it, and the company ends in the zone of the last (each queues its recount of
    the figures: tests/integration/tickets/test_report_tallies.py runs one)."""
    t = await signup(client)
    zones = ["Asia/Tokyo", "Asia/Taipei", "Asia/Seoul", "UTC", "Asia/Singapore", "Asia/Hong_Kong"]
    answers = await asyncio.gather(*(client.patch("/api/v1/company", headers=t["headers"], json={"timezone": z})
                                     for z in zones))
    assert [a.status_code for a in answers] == [200] * len(zones), [a.text for a in answers]
    async with tenant_scope(uuid.UUID(t["tenant_id"])):
        trail = await fetch("SELECT before, after FROM audit_entry WHERE action = 'tenant.update' "
                            "ORDER BY created_at, id")
    steps = [(json.loads(e["before"])["timezone"], json.loads(e["after"])["timezone"]) for e in trail]
    assert len(steps) == len(zones) and steps[0][0] == "Asia/Shanghai"
    assert all(steps[i][1] == steps[i + 1][0] for i in range(len(steps) - 1)), steps
    assert sorted(after for _, after in steps) == sorted(zones)
    assert (await _company(t["tenant_id"])).timezone == steps[-1][1]
