"""The payments' pages, as finance, a company admin and a member use them."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook

from tests.conftest import PASSWORD, signup
from tests.integration.clubs.helpers import ok
from tests.integration.payments.helpers import deliver_all, pay, paying_world
from tests.integration.platform.pages import browser, login, submit


async def _paid(app: Any, client: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    w = await paying_world(app, client)
    started = await ok(await client.post(f"/api/v1/cards/{w['vip_card']['card_no']}/renewals",
                                         headers=w["member_user"]["headers"]), 201)
    await pay(client, started["checkout_url"])
    await deliver_all(app, client, w["t"]["tenant_id"])
    return w, started


async def test_finance_lists_refunds_and_prints_a_receipt(app: Any, client: Any) -> None:
    w, started = await _paid(app, client)
    t = w["t"]
    async with browser(app, lang="zh_CN") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        listing = await c.get("/payments")
        assert listing.status_code == 200 and "365.00" in listing.text and "已付款" in listing.text
        detail = await c.get(f"/payments/{started['payment_id']}")
        assert detail.status_code == 200 and "收据" in detail.text
        # money typed in yuan, with a thousands separator allowed; an amount over what is left is refused
        too_much = await submit(c, f"/payments/{started['payment_id']}", f"/payments/{started['payment_id']}/refund",
                                amount="1,000.00", reason="x")
        assert too_much.status_code == 422 and "1,000.00" in too_much.text
        r = await submit(c, f"/payments/{started['payment_id']}", f"/payments/{started['payment_id']}/refund",
                         amount="65", reason="goodwill")
        assert r.status_code == 303, r.text[:300]
        await deliver_all(app, client, t["tenant_id"])
        after = await c.get(f"/payments/{started['payment_id']}")
        assert "65.00" in after.text and "部分退款" in after.text
        receipt = await c.get(f"/payments/{started['payment_id']}/receipt")
        assert receipt.status_code == 200 and "R2" in receipt.text


async def test_the_list_downloads_as_xlsx_with_its_filters_in_the_readers_language(app: Any, client: Any) -> None:
    w, _started = await _paid(app, client)
    t = w["t"]
    for lang, header in (("zh_CN", "收据号"), ("en", "Receipt number")):
        async with browser(app, lang=lang) as c:
            await login(c, t["slug"], t["email"], PASSWORD)
            r = await c.get("/payments?format=xlsx&status=paid")
            assert r.status_code == 200, r.text[:300]
            assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
            sheet = load_workbook(io.BytesIO(r.content)).active
            rows = list(sheet.iter_rows(values_only=True))
            assert rows[0][0] == header, rows[0]
            assert len(rows) == 2 and rows[1][5] == 365 and rows[1][4] == w["vip_card"]["card_no"], rows
            empty = load_workbook(io.BytesIO((await c.get("/payments?format=xlsx&status=refunded")).content)).active
            assert len(list(empty.iter_rows(values_only=True))) == 1  # the filter applies: headers only


async def test_an_admin_links_stripe_from_the_settings_page(app: Any, client: Any) -> None:
    t = await signup(client)
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        page = await c.get("/settings/payments")
        assert page.status_code == 200 and "Link a Stripe account" in page.text
        r = await submit(c, "/settings/payments", "/settings/payments/connect")
        assert r.status_code == 303 and "/_sandbox/stripe/connect/onboard/" in r.headers["location"]
        done = await c.post(r.headers["location"], data={})
        assert done.status_code == 303 and done.headers["location"].endswith("/settings/payments?onboarding=done")
        back = await c.get("/settings/payments?onboarding=done")
        assert "members can pay online" in back.text
        saved = await submit(c, "/settings/payments", "/settings/payments", methods="alipay",
                             renewal_reminder_days="3")
        assert saved.status_code == 303
        bad = await submit(c, "/settings/payments", "/settings/payments", renewal_reminder_days="99")
        # both problems at once, each beside its field
        assert bad.status_code == 422 and 'id="e-renewal_reminder_days"' in bad.text, bad.text[:500]
        assert "Choose at least one way to pay online." in bad.text
    settings = await ok(await client.get("/api/v1/payment-settings", headers=t["headers"]))
    assert settings["methods"] == ["alipay"] and settings["renewal_reminder_days"] == 3


async def test_a_member_cannot_open_finance_pages_or_another_members_payment(app: Any, client: Any) -> None:
    _w, started = await _paid(app, client)
    other = await signup(client)
    async with browser(app) as c:
        await login(c, other["slug"], other["email"], PASSWORD)
        assert (await c.get(f"/payments/{started['payment_id']}")).status_code == 404
        assert (await c.get(f"/payments/{started['payment_id']}/receipt")).status_code == 404
