"""The catalogue's operations pages in a real browser, on a 390×844 phone and on a desk: the site manager's
agreements, figures with a loss (its chart drawn), the loss review, quality and surveys; a resident answering a
survey on his phone; a subcontractor's people and the orders handed to them. Every page is watched for browser
errors (a Content-Security-Policy violation among them) and must not scroll sideways on the phone. Screenshots
go to `test-artifacts/e2e-catalogue-ops/`."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from careclub.catalogue import service
from careclub.core import clock
from careclub.core.db import tenant_scope
from careclub.platform import service as platform_service
from careclub.platform.tables import User
from tests.conftest import PASSWORD
from tests.e2e.browser import PHONE, artifacts, chromium, fits_width, off_the_loop, signed_in_page
from tests.integration.catalogue.helpers import World, book, make_world, money, ok
from tests.integration.catalogue.test_operations import _enable_long_term, _settled, _today

pytestmark = pytest.mark.e2e
DESK = {"width": 1280, "height": 900}


@pytest.fixture(autouse=True)
def _reset_clock() -> Any:
    yield
    clock.reset()


@pytest.fixture
async def prepared(client: Any) -> dict[str, Any]:
    w = await make_world(client)
    await _enable_long_term(client, w)
    today = await _today(w)
    agreement = await ok(await client.post("/api/v1/service-agreements", headers=w.h("site"), json={
        "item": w.items["CLEAN"], "unit": w.units["A-101"], "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=90)).isoformat(), "every_weeks": 2, "weekday": 5, "time_of_day": "09:30",
        "quantity": "60", "price_per_visit": money("240.00"), "terms": "every other Saturday"}), 201)
    order = await _settled(client, w, "FIX", final="80.00")
    await ok(await client.put(f"/api/v1/service-orders/{order['id']}/costs", headers=w.h("site"), json={
        "labour_minutes": 90, "labour_rate": money("40.00"), "materials_cost": money("5.00"),
        "subcontractor_fee": money("70.00")}))
    await _settled(client, w, "CLEAN", quantity="100")
    month = today.strftime("%Y-%m")
    survey = await ok(await client.post("/api/v1/catalogue/surveys", headers=w.h("site"), json={
        "project": w.org["P1"], "title": "Which services would help you?", "intro": "It takes a minute.",
        "proposals": [{"code": "laundry", "name": "Laundry pick-up"},
                      {"code": "clean", "name": "Deep cleaning", "item": "CLEAN"}]}), 201)
    moving = await book(client, w, "res", "MOVE", unit=w.units["A-101"])
    async with tenant_scope(w.tenant_id):
        for who in ("site", "res", "gm"):
            await platform_service.update_staff(None, w.users[who], password=PASSWORD)
        await platform_service.grant_role(None, w.users["gm"], "site_manager", uuid.UUID(w.org["HQ"]))
        mover = User(email=f"mover@{w.slug}.test", display_name="Mover Ma", kind="staff",
                     org_unit=uuid.UUID(w.org["P1"]))
        await mover.save()
        await platform_service.update_staff(None, mover.id, password=PASSWORD)
        sub = await service.by_code("MOVE")
        assert sub is not None
        await service.link_user(sub["id"], mover.id)
        await service.raise_loss_tasks(month)
        review = next(r for r in await service.list_reviews(await _principal(w)) if r["code"] == "FIX")
    return {"w": w, "agreement": agreement["id"], "month": month, "survey": survey["id"], "review": review["id"],
            "sub": sub["id"], "moving": moving["number"]}


async def _principal(w: World) -> Any:
    tenant = await platform_service.get_tenant(w.tenant_id)
    assert tenant is not None
    return await platform_service.load_principal(tenant, w.users["site"])


def _drive(base: str, shots: Path, d: dict[str, Any]) -> None:
    from playwright.sync_api import expect, sync_playwright

    w: World = d["w"]
    staff_pages = [("agreements", "/catalogue/agreements"), ("agreement-new", "/catalogue/agreements/new"),
                   ("agreement", f"/catalogue/agreements/{d['agreement']}"),
                   ("figures", f"/catalogue/figures?month={d['month']}"),
                   ("review", f"/catalogue/reviews/{d['review']}"),
                   ("quality", "/catalogue/quality"), ("surveys", "/catalogue/surveys"),
                   ("survey-new", "/catalogue/surveys/new"), ("survey", f"/catalogue/surveys/{d['survey']}")]
    with sync_playwright() as p, chromium(p) as browser:
        for screen, size in (("phone", PHONE), ("desk", DESK)):
            page = signed_in_page(browser, base, f"site@{w.slug}.test", "/catalogue/agreements", slug=w.slug,
                                  password=PASSWORD, lang="en", viewport=size)
            for name, url in staff_pages:
                page.goto(f"{base}{url}")
                if screen == "phone":
                    assert fits_width(page), url
                page.screenshot(path=str(shots / f"{screen}-{name}.png"), full_page=True)
            page.goto(f"{base}/catalogue/figures?month={d['month']}")
            expect(page.locator("#figures svg").first).to_be_attached()  # the chart is drawn
            expect(page.locator("tr[data-code=FIX] [data-testid=loss]")).to_be_visible()
            page.context.close()

        # the site manager decides on the loss, on his phone
        page = signed_in_page(browser, base, f"site@{w.slug}.test", f"/catalogue/reviews/{d['review']}",
                              slug=w.slug, password=PASSWORD, lang="en")
        page.click("[data-testid=decision-more_residents]")
        page.fill("#f-note", "a leaflet in every lobby")
        page.click("[data-testid=decide]")
        page.wait_for_url(re.compile(r".*\?done=decided$"))
        expect(page.locator("[data-testid=decision]")).to_have_text("Win more residents for it")
        assert fits_width(page)
        page.context.close()

        # a resident answers the survey on his phone, in Chinese
        page = signed_in_page(browser, base, f"res@{w.slug}.test", "/my/surveys", slug=w.slug, password=PASSWORD,
                              lang="zh_CN")
        page.click(f"a[href='/my/surveys/{d['survey']}']")
        page.wait_for_url(re.compile(rf".*/my/surveys/{d['survey']}$"))
        page.check("[data-testid=wanted-laundry]")
        page.fill("#f-comment", "周末最好")
        assert fits_width(page)
        page.screenshot(path=str(shots / "phone-my-survey.png"), full_page=True)
        page.click("[data-testid=send]")
        page.wait_for_url(re.compile(r".*\?done=answered$"))
        expect(page.locator("[data-testid=wanted-laundry]")).to_be_checked()
        expect(page.locator("[data-testid=wanted-clean]")).not_to_be_checked()
        page.context.close()

        # the register's keeper and a subcontractor's person
        page = signed_in_page(browser, base, f"gm@{w.slug}.test", f"/catalogue/subcontractors/{d['sub']}/people",
                              slug=w.slug, password=PASSWORD, lang="en")
        expect(page.locator("#people")).to_contain_text("Mover Ma")
        assert fits_width(page)
        page.screenshot(path=str(shots / "phone-people.png"), full_page=True)
        page.context.close()
        page = signed_in_page(browser, base, f"mover@{w.slug}.test", "/partner/orders", slug=w.slug,
                              password=PASSWORD, lang="en")
        expect(page.locator("#partner-orders")).to_contain_text(d["moving"])
        assert fits_width(page)
        page.screenshot(path=str(shots / "phone-partner-orders.png"), full_page=True)
        page.click("[data-testid=ticket-link]")
        page.wait_for_url(re.compile(r".*/tickets/[0-9a-f-]{36}$"))
        page.context.close()


def test_the_operations_pages_on_a_phone_and_a_desk(prepared: dict[str, Any], live_server: str) -> None:
    d = prepared
    shots = artifacts("e2e-catalogue-ops")
    off_the_loop(_drive, live_server, shots, d, timeout=240)
    assert (shots / "phone-partner-orders.png").stat().st_size > 0
