"""People type money in yuan on every page: a merchant's "20 off" is 20.00, never 0.20."""

from __future__ import annotations

from typing import Any

from tests.conftest import PASSWORD
from tests.integration.clubs.helpers import club_world, ok
from tests.integration.platform.pages import browser, login, submit


async def test_an_amount_off_typed_on_the_admin_pages_is_yuan(app: Any, client: Any) -> None:
    w = await club_world(client)
    t = w["t"]
    async with browser(app, lang="zh_CN") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        r = await submit(c, "/club/admin", "/club/admin/merchant", club=w["club"]["id"], code="tyre",
                         name="轮胎店", offer_kind="amount", offer_value="20")
        assert r.status_code == 303, r.text[:300]
        merchants = await ok(await client.get(f"/api/v1/clubs/{w['club']['id']}/merchants", headers=t["headers"]))
        tyre = next(m for m in merchants if m["code"] == "tyre")
        assert tyre["offer_amount"] == {"amount": "20.00", "currency": "CNY"}, tyre
        # the edit page shows it in yuan, and a change typed with a separator is read as yuan too
        page = await c.get(f"/club/admin/merchant/{tyre['id']}")
        assert 'value="20.00"' in page.text
        r = await submit(c, f"/club/admin/merchant/{tyre['id']}", f"/club/admin/merchant/{tyre['id']}",
                         name="轮胎店", offer_kind="amount", offer_value="1,200.50", is_open="on")
        assert r.status_code in (200, 303), r.text[:300]
        merchants = await ok(await client.get(f"/api/v1/clubs/{w['club']['id']}/merchants", headers=t["headers"]))
        assert next(m for m in merchants if m["code"] == "tyre")["offer_amount"]["amount"] == "1200.50"
        # a percent offer stays a percent
        r = await submit(c, "/club/admin", "/club/admin/merchant", club=w["club"]["id"], code="pct",
                         name="洗车", offer_kind="percent", offer_value="15")
        assert r.status_code == 303
