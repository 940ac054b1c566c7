"""Every settlements page renders for the people who use it, in Chinese and in English; the property company's
people of one project see nothing of another's (404, as if absent); people without settlements rights are
refused."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from litestar import Litestar

from careclub.core import clock
from tests.integration.platform.pages import csrf_token
from tests.integration.settlements.helpers import GY, YY, approved_budget, confirm, make_world, ok, pay
from tests.integration.settlements.test_pages_support import as_person


async def test_every_page_renders_in_both_languages(app: Litestar, client: Any) -> None:
    w = await make_world(client)
    day = clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    b = await approved_budget(client, w, project=YY, month=day[:7], amounts=["1000.00", "200.00"])
    p = await pay(client, w, b["lines"][0]["id"], "300.00", day)
    await confirm(client, w, p["id"])
    s = await ok(await client.post("/api/v1/settlements", headers=w.h("property-finance"),
                                   json={"project": YY, "month": day[:7]}), 201)
    pages = ["/settlements", f"/settlements/projects/{YY}", "/settlements/budgets",
             f"/settlements/budgets?project={YY}&month={day[:7]}&kind=monthly&status=approved",
             "/settlements/budgets/new", f"/settlements/budgets/{b['id']}", "/settlements/payments",
             "/settlements/payments?status=all", f"/settlements/payments/{p['id']}", "/settlements/months",
             f"/settlements/months?project={YY}&month={day[:7]}&status=draft", f"/settlements/{s['id']}",
             "/settlements/terms", f"/settlements/payments/new?line={b['lines'][1]['id']}"]
    for lang, marker in (("en", '<html lang="en">'), ("zh_CN", '<html lang="zh-CN">')):
        async with as_person(app, w, "property", lang) as c:
            for url in pages:
                r = await c.get(url)
                assert r.status_code == 200, (url, r.text[:800])
                assert marker in r.text and 'href="/settlements"' in r.text, url
    # the developer's people read every project; the admin keeps the stages and the terms
    for who in ("auditor", "cs-lead", "admin", "gm"):
        async with as_person(app, w, who) as c:
            for url in ("/settlements", f"/settlements/projects/{YY}", f"/settlements/budgets/{b['id']}",
                        f"/settlements/payments/{p['id']}", f"/settlements/{s['id']}", "/settlements/terms"):
                r = await c.get(url)
                assert r.status_code == 200, (who, url, r.text[:500])
            r = await c.get(f"/settlements/projects/{YY}")
            assert ('data-testid="change-stage"' in r.text) == (who == "admin"), who
            assert ('name="fee_rate"' in (await c.get("/settlements/terms")).text) == (who == "admin"), who
            assert ('data-testid="confirm"' in (await c.get(f"/settlements/payments/{p['id']}")).text) is False
    # the other project's property manager: the hub lists only his project; the rest answers as if absent
    async with as_person(app, w, "property2", "zh_CN") as c:
        r = await c.get("/settlements")
        assert r.status_code == 200 and f'data-code="{GY}"' in r.text and f'data-code="{YY}"' not in r.text
        for url in (f"/settlements/projects/{YY}", f"/settlements/budgets/{b['id']}",
                    f"/settlements/payments/{p['id']}", f"/settlements/{s['id']}",
                    f"/settlements/payments/new?line={b['lines'][1]['id']}"):
            assert (await c.get(url)).status_code == 404, url
        for url in ("/settlements/budgets", "/settlements/payments?status=all", "/settlements/months"):
            r = await c.get(url)
            assert r.status_code == 200 and "华府御园" not in r.text, url
        # his buttons do nothing to the other project's records
        r = await c.get("/settlements/months")
        assert (await c.post(f"/settlements/{s['id']}/submit", data={"_csrf_token": csrf_token(r)})).status_code \
            == 404
        assert (await c.post(f"/settlements/payments/{p['id']}/confirm",
                             data={"_csrf_token": csrf_token(r)})).status_code == 403  # no settlements.confirm
