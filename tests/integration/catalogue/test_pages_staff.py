"""The catalogue's staff pages as people use them in a browser: every page in both languages; a new service
from the page (every problem at once, then saved) sent for approval, and the clear word when the company has
no policy for it; a phone booking registered by a clerk (its time typed in the company's zone); the cashier
recording the prepayment, settling with the surplus refunded and collecting a quoted balance; the orders'
filters, keyset pages and Excel download; the report of work done but not settled; the printable notice with
its QR code; the subcontractors' register; and what a clerk without finance rights can neither see nor do."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from litestar import Litestar
from openpyxl import load_workbook

from careclub.approvals.tables import ApprovalPolicy
from careclub.catalogue.tables import ServiceItem, ServiceItemVersion, ServiceOrder, Subcontractor
from careclub.core import clock, sessions
from careclub.core.db import tenant_scope
from careclub.web.exports import XLSX
from tests.integration.catalogue.helpers import World, book, make_world, move, ok, pay_offline, work_done
from tests.integration.platform.pages import browser, csrf_token

ERROR = re.compile(r'<small class="error" id="e-([a-z_0-9-]+)">([^<]*)</small>')
OLDER = re.compile(r'href="(\?[^"]*after=[^"]+)" data-testid="older"')


def field_errors(body: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in ERROR.finditer(body)}


@asynccontextmanager
async def as_person(app: Litestar, w: World, who: str, lang: str = "en") -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in as one of the world's people (a session of their own: they have no password)."""
    async with browser(app, lang=lang) as c:
        session_id = await sessions.create(w.tenant_id, w.users[who], idle_seconds=3600, absolute_seconds=7200)
        c.cookies.set(sessions.COOKIE, session_id, domain="testserver.local")
        yield c


async def post_form(c: httpx.AsyncClient, page: str, action: str, **fields: Any) -> httpx.Response:
    r = await c.get(page)
    assert r.status_code == 200, (page, r.status_code, r.text[:300])
    return await c.post(action, data={"_csrf_token": csrf_token(r), **{k: str(v) for k, v in fields.items()}})


def sheet(r: httpx.Response) -> list[tuple[Any, ...]]:
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].startswith(XLSX)
    return list(load_workbook(io.BytesIO(r.content), read_only=True).active.iter_rows(values_only=True))


def later_local(days: int = 2) -> tuple[str, str, datetime]:
    """A day and time in the company's zone (Asia/Shanghai) `days` ahead, and the instant they mean."""
    day = (clock.now().astimezone(ZoneInfo("Asia/Shanghai")) + timedelta(days=days)).date()
    moment = datetime(day.year, day.month, day.day, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    return day.isoformat(), "09:30", moment.astimezone(UTC)


async def _order(w: World, order_id: str) -> dict[str, Any]:
    async with tenant_scope(w.tenant_id):
        row = await ServiceOrder.select().where(ServiceOrder.id == uuid.UUID(order_id)).first()
    assert row is not None
    return dict(row)


NEW_ITEM = {"code": "HOUSE", "category": "housekeeping", "name": "Housekeeping", "standard": "two hours, tidy",
            "fee_basis": "per_hour", "fee_amount": "60", "prepay_kind": "none", "delivery_hours": "48"}


async def test_every_page_renders_in_both_languages(app: Litestar, client: Any) -> None:
    w = await make_world(client)
    order = await book(client, w, "res", "CLEAN", unit=w.units["A-101"], quantity="80")
    async with tenant_scope(w.tenant_id):
        sub = await Subcontractor.select(Subcontractor.id).first()
        clean = await ServiceItemVersion.select(ServiceItemVersion.id).where(
            ServiceItemVersion.item == uuid.UUID(w.items["CLEAN"])).first()
    assert sub is not None and clean is not None
    pages = ["/catalogue", f"/catalogue?project={w.org['P1']}&status=published&q=clean", "/catalogue/items/new",
             f"/catalogue/items/{w.items['CLEAN']}", f"/catalogue/items/{w.items['FIX']}", "/catalogue/subcontractors",
             f"/catalogue/subcontractors/{sub['id']}", "/catalogue/orders", "/catalogue/orders?unsettled=1",
             "/catalogue/orders/new", f"/catalogue/orders/{order['id']}", "/catalogue/notice",
             "/catalogue/notice?project=P1"]
    for lang, marker in (("en", '<html lang="en">'), ("zh_CN", '<html lang="zh-CN">')):
        async with as_person(app, w, "site", lang) as c:
            for url in pages:
                r = await c.get(url)
                assert r.status_code == 200, (url, r.text[:500])
                assert marker in r.text and 'href="/catalogue"' in r.text, url  # the navigation's entry
            r = await c.get(f"/catalogue/versions/{clean['id']}")
            assert r.status_code in (302, 303) and r.headers["location"].startswith(
                f"/catalogue/items/{w.items['CLEAN']}")
        async with as_person(app, w, "cashier", lang) as c:
            for url in ("/catalogue", "/catalogue/orders", f"/catalogue/orders/{order['id']}"):
                r = await c.get(url)
                assert r.status_code == 200, (url, r.text[:500])
        async with as_person(app, w, "res", lang) as c:
            r = await c.get("/my/tickets")
            assert r.status_code == 200 and 'href="/my/services"' in r.text and 'href="/catalogue"' not in r.text
            assert (await c.get("/catalogue")).status_code == 403
            r = await c.get(f"/catalogue/orders/{order['id']}")
            assert r.status_code in (302, 303) and r.headers["location"] == f"/my/services/orders/{order['id']}"
    # outside one's projects: as if absent
    async with as_person(app, w, "site2") as c:
        assert (await c.get(f"/catalogue/items/{w.items['CLEAN']}")).status_code == 404
        assert (await c.get(f"/catalogue/orders/{order['id']}")).status_code == 404
        assert (await c.get("/catalogue/notice?project=P1")).status_code == 404


async def test_a_new_service_shows_every_problem_at_once_then_goes_to_approval(app: Litestar,
                                                                              client: Any) -> None:
    w = await make_world(client)
    new = "/catalogue/items/new"
    async with as_person(app, w, "site") as c:
        r = await post_form(c, new, new, code="bad code!", category="cleaning", project=w.org["P1"], name="",
                            fee_basis="quoted", fee_min="90", fee_max="10", fee_amount="", prepay_kind="deposit",
                            prepay_amount="", provider_department=w.org["P1-CS"], delivery_hours="soon")
        assert r.status_code == 422, r.text[:500]
        errors = field_errors(r.text)
        assert {"item-code", "item-name", "item-fee_max", "item-prepay_amount", "item-delivery_hours"} <= set(errors), \
            errors
        assert 'value="bad code!"' in r.text and 'data-testid="form-errors"' in r.text  # kept, and counted
        # money is typed in yuan: "1,000.5" is read, "abc" is refused beside its field
        r = await post_form(c, new, new, **{**NEW_ITEM, "fee_amount": "abc", "provider_department": w.org["P1-CS"],
                                            "project": w.org["P1"]})
        assert r.status_code == 422 and set(field_errors(r.text)) == {"item-fee_amount"}, field_errors(r.text)
        r = await post_form(c, new, new, **{**NEW_ITEM, "fee_amount": "1,000.5", "project": w.org["P1"],
                                            "provider_department": w.org["P1-CS"]})
        assert r.status_code == 303, r.text[:800]
        item_url = r.headers["location"].split("?")[0]
        page = await c.get(r.headers["location"])
        assert "¥1,000.50 / hour" in page.text and 'data-testid="submit-item"' in page.text
        # the draft is changed before it is sent
        r = await post_form(c, item_url, f"{item_url}/draft", **{**NEW_ITEM, "fee_amount": "65",
                                                                 "provider_department": w.org["P1-CS"]})
        assert r.status_code == 303, r.text[:800]
        r = await post_form(c, item_url, f"{item_url}/submit")
        assert r.status_code == 303, r.text[:800]
        page = await c.get(r.headers["location"])
        assert 'data-testid="in-review"' in page.text and "/approvals/requests/" in page.text
        assert 'data-testid="submit-item"' not in page.text
    async with tenant_scope(w.tenant_id):
        item = await ServiceItem.select().where(ServiceItem.code == "HOUSE").first()
        assert item is not None
        version = await ServiceItemVersion.select().where(ServiceItemVersion.item == item["id"]).first()
    assert version is not None and version["status"] == "in_review" and version["fee_amount"] == 6500
    # the general manager, asked to decide, opens it from the approval's link without catalogue rights
    async with as_person(app, w, "gm") as c:
        r = await c.get(f"/catalogue/versions/{version['id']}")
        assert r.status_code in (302, 303)
        page = await c.get(r.headers["location"])
        assert page.status_code == 200 and "Housekeeping" in page.text and "¥65.00 / hour" in page.text
        assert 'data-testid="save-draft"' not in page.text
    # a clerk designs nothing
    async with as_person(app, w, "clerk") as c:
        assert (await c.get(new)).status_code == 403


async def test_a_company_without_a_service_item_policy_is_told_and_pointed_to_the_policies(
        app: Litestar, client: Any) -> None:
    w = await make_world(client)
    async with tenant_scope(w.tenant_id):
        await ApprovalPolicy.update({ApprovalPolicy.is_current: False}).where(
            ApprovalPolicy.subject_type == "service_item")
    new = "/catalogue/items/new"
    async with as_person(app, w, "site") as c:
        r = await post_form(c, new, new, **{**NEW_ITEM, "project": w.org["P1"], "provider_department": w.org["P1-CS"]})
        assert r.status_code == 303, r.text[:800]
        item_url = r.headers["location"].split("?")[0]
        r = await post_form(c, item_url, f"{item_url}/submit")
        assert r.status_code == 422, r.text[:300]
        assert "no approval policy for paid services" in r.text
        assert 'href="/approvals/policies"' in r.text
        assert 'data-testid="submit-item"' in r.text and 'data-testid="in-review"' not in r.text  # as it was
    async with tenant_scope(w.tenant_id):
        version = await ServiceItemVersion.select().where(
            ServiceItemVersion.item == uuid.UUID(item_url.rsplit("/", 1)[1])).first()
    assert version is not None and version["status"] == "draft"


async def test_a_new_fee_standard_is_proposed_from_the_page_of_a_published_service(app: Litestar,
                                                                                  client: Any) -> None:
    w = await make_world(client)
    url = f"/catalogue/items/{w.items['CLEAN']}"
    async with as_person(app, w, "site") as c:
        page = await c.get(url)
        assert 'data-testid="new-standard"' in page.text and 'value="5.00"' in page.text
        r = await post_form(c, url, f"{url}/draft", name="Deep cleaning", fee_basis="per_m2", fee_amount="6.50",
                            prepay_kind="prepayment", prepay_amount="500", provider_department=w.org["P1-CS"],
                            note="labour costs rose")
        assert r.status_code == 303, r.text[:800]
        page = await c.get(url)
        assert page.text.count('data-testid="version-status"') == 2 and "¥6.50 / m²" in page.text
        assert 'data-testid="current-fee">¥5.00 / m²' in page.text  # the approved one still serves


async def test_a_clerk_registers_a_phone_booking_with_its_time_in_the_companys_zone(app: Litestar,
                                                                                   client: Any) -> None:
    w = await make_world(client)
    new = "/catalogue/orders/new"
    day, hour, moment = later_local(3)
    async with as_person(app, w, "clerk") as c:
        page = await c.get(new)
        assert "Car wash · ¥30.00 / visit" in page.text and "A-101" in page.text
        r = await post_form(c, new, new, item=w.items["WASH"], unit="", contact_name="", preferred_date=day,
                            preferred_time="", quantity="0", source="phone")
        assert r.status_code == 422, r.text[:300]
        assert {"book-contact_name", "book-preferred_time", "book-quantity"} <= set(field_errors(r.text)), \
            field_errors(r.text)
        r = await post_form(c, new, new, item=w.items["WASH"], unit="", contact_name="Caller Wang",
                            contact_phone="13911112222", preferred_date=day, preferred_time=hour, quantity="1",
                            source="phone", note="the black SUV")
        assert r.status_code == 303, r.text[:800]
        order_url = r.headers["location"].split("?")[0]
        page = await c.get(r.headers["location"])
        assert "Caller Wang" in page.text and 'href="/tickets/' in page.text
        assert f"{day} 09:30" in page.text
        r = await post_form(c, new, new, item=w.items["CLEAN"], unit=w.units["A-101"], quantity="80",
                            source="walk_in")
        assert r.status_code == 303, r.text[:800]
    row = await _order(w, order_url.rsplit("/", 1)[1])
    assert row["preferred_at"] == moment and row["source"] == "phone" and row["price"] == 3000
    async with as_person(app, w, "cashier") as c:
        assert (await c.get(new)).status_code == 403  # finance registers no bookings


async def test_the_cashier_records_the_prepayment_and_settles_with_the_surplus_refunded(app: Litestar,
                                                                                       client: Any) -> None:
    w = await make_world(client)
    order = await book(client, w, "res", "CLEAN", unit=w.units["A-101"], quantity="80")
    url = f"/catalogue/orders/{order['id']}"
    async with as_person(app, w, "cashier") as c:
        page = await c.get(url)
        assert 'data-testid="record-prepay"' in page.text and 'data-testid="settle"' not in page.text
        r = await post_form(c, url, f"{url}/prepayment", method="cash", reference="")
        assert r.status_code == 422 and "prepay-reference" in field_errors(r.text), field_errors(r.text)
        r = await post_form(c, url, f"{url}/prepayment", method="cash", reference="R-100")
        assert r.status_code == 303, r.text[:800]
        page = await c.get(r.headers["location"])
        assert re.search(r'href="/payments/[0-9a-f-]{36}" data-testid="receipt"', page.text)
        assert 'data-testid="record-prepay"' not in page.text and 'data-testid="settle"' in page.text
        # not before the resident's sign-off: said on the page, nothing changed
        r = await post_form(c, url, f"{url}/settlement", quantity="80")
        assert r.status_code == 409, r.text[:300]
        assert 'data-testid="cashier-error"' in r.text and "signed the work off" in r.text
    await work_done(client, w, order["ticket"])
    async with as_person(app, w, "cashier") as c:
        r = await post_form(c, url, f"{url}/settlement", quantity="abc")
        assert r.status_code == 422 and "settle-quantity" in field_errors(r.text)
        r = await post_form(c, url, f"{url}/settlement", quantity="80")
        assert r.status_code == 303, r.text[:800]
        page = await c.get(r.headers["location"])
        assert 'data-testid="settled"' in page.text and "¥100.00 of the prepayment is refunded" in page.text
        assert 'data-status="settled"' in page.text and 'data-testid="settle"' not in page.text
        r = await post_form(c, url, f"{url}/prepayment", method="cash", reference="R-101")
        assert r.status_code == 409, r.text[:300]  # paid already: said on the page
    row = await _order(w, order["id"])
    assert row["status"] == "settled" and row["final_amount"] == 40000 and row["refund_due"] == 10000


async def test_a_quoted_service_is_settled_within_its_range_and_its_balance_collected(app: Litestar,
                                                                                      client: Any) -> None:
    w = await make_world(client)
    order = await book(client, w, "clerk", "FIX", unit=w.units["A-101"], contact_name="Lin")
    await pay_offline(client, w, "service_prepay", order["id"])
    await work_done(client, w, order["ticket"], handler="eng")
    url = f"/catalogue/orders/{order['id']}"
    async with as_person(app, w, "cashier") as c:
        page = await c.get(url)
        assert 'name="final_amount"' in page.text and 'name="quantity"' not in page.text
        r = await post_form(c, url, f"{url}/settlement", final_amount="")
        assert r.status_code == 422 and "settle-final_amount" in field_errors(r.text)
        r = await post_form(c, url, f"{url}/settlement", final_amount="350")
        assert r.status_code == 422 and "settle-final_amount" in field_errors(r.text), field_errors(r.text)
        r = await post_form(c, url, f"{url}/settlement", final_amount="250")
        assert r.status_code == 303, r.text[:800]
        page = await c.get(r.headers["location"])
        assert "¥150.00 is still to pay" in page.text and 'data-testid="record-balance"' in page.text
        r = await post_form(c, url, f"{url}/balance", method="bank_transfer", reference="T-9")
        assert r.status_code == 303, r.text[:800]
        page = await c.get(r.headers["location"])
        assert page.text.count('data-testid="receipt"') == 2 and 'data-status="settled"' in page.text


async def test_a_clerk_without_finance_rights_sees_no_cashier_form_and_may_not_post_one(app: Litestar,
                                                                                        client: Any) -> None:
    w = await make_world(client)
    order = await book(client, w, "res", "CLEAN", unit=w.units["A-101"], quantity="10")
    url = f"/catalogue/orders/{order['id']}"
    for who in ("clerk", "site"):
        async with as_person(app, w, who) as c:
            page = await c.get(url)
            assert page.status_code == 200
            assert "record-prepay" not in page.text and "/prepayment" not in page.text
            for action, fields in (("prepayment", {"method": "cash", "reference": "X"}),
                                   ("balance", {"method": "cash", "reference": "X"}),
                                   ("settlement", {"quantity": "10"})):
                r = await c.post(f"{url}/{action}", data={"_csrf_token": csrf_token(page), **fields})
                assert r.status_code == 403, (who, action, r.status_code)
    assert (await _order(w, order["id"]))["prepaid"] == 0


async def test_the_orders_list_filters_pages_and_downloads_what_it_shows(app: Litestar, client: Any) -> None:
    w = await make_world(client)
    for i in range(26):
        await book(client, w, "clerk", "MOVE", contact_name=f"Caller {i}", project=w.org["P1"])
    clean = await book(client, w, "res", "CLEAN", unit=w.units["A-101"], quantity="10")
    async with as_person(app, w, "site") as c:
        first = await c.get("/catalogue/orders")
        assert first.status_code == 200 and first.text.count("data-number=") == 25
        older = OLDER.search(first.text)
        assert older is not None
        second = await c.get("/catalogue/orders" + older.group(1).replace("&amp;", "&"))
        assert second.text.count("data-number=") == 2
        waiting = await c.get("/catalogue/orders?status=awaiting_prepayment")
        assert waiting.text.count("data-number=") == 1 and clean["number"] in waiting.text
        by_item = await c.get(f"/catalogue/orders?item={w.items['CLEAN']}")
        assert by_item.text.count("data-number=") == 1
        found = await c.get(f"/catalogue/orders?q={clean['number'].lower()}")  # a number, looked up exactly
        assert found.text.count("data-number=") == 1 and clean["number"] in found.text
        rows = sheet(await c.get("/catalogue/orders?format=xlsx"))
        assert rows[0][0] == "Number" and len(rows) == 28
        rows = sheet(await c.get("/catalogue/orders?status=awaiting_prepayment&format=xlsx"))
        assert len(rows) == 2 and rows[1][0] == clean["number"] and rows[1][7] == 50.0  # the price, in yuan
    async with as_person(app, w, "site", "zh_CN") as c:
        rows = sheet(await c.get("/catalogue/orders?format=xlsx"))
        assert rows[0][0] != "Number"  # the headers in the reader's language
    async with as_person(app, w, "site2") as c:  # another project's orders are not his
        assert (await c.get("/catalogue/orders")).text.count("data-number=") == 0
    async with as_person(app, w, "site") as c:
        rows = sheet(await c.get("/catalogue?format=xlsx"))
        assert rows[0][0] == "Code" and {r[0] for r in rows[1:]} == {"CLEAN", "WASH", "FIX", "MOVE"}
        rows = sheet(await c.get("/catalogue/subcontractors?format=xlsx"))
        assert [r[0] for r in rows[1:]] == ["MOVE"]


async def test_the_report_lists_work_done_but_not_settled(app: Litestar, client: Any) -> None:
    w = await make_world(client)
    done = await book(client, w, "res", "MOVE", unit=w.units["A-101"], quantity="2")
    await work_done(client, w, done["ticket"], handler="site")
    waiting = await book(client, w, "res", "MOVE", unit=w.units["A-101"], quantity="1")
    settled = await book(client, w, "res", "MOVE", unit=w.units["A-101"], quantity="1")
    await work_done(client, w, settled["ticket"], handler="site")
    await ok(await client.post(f"/api/v1/service-orders/{settled['id']}/settlement", headers=w.h("cashier"),
                               json={}))
    await pay_offline(client, w, "service_balance", settled["id"])
    async with as_person(app, w, "site") as c:
        r = await c.get("/catalogue/orders?unsettled=1")
        assert r.status_code == 200 and 'data-testid="unsettled-report"' in r.text
        assert done["number"] in r.text and waiting["number"] not in r.text and settled["number"] not in r.text
        rows = sheet(await c.get("/catalogue/orders?unsettled=1&format=xlsx"))
        assert [row[0] for row in rows[1:]] == [done["number"]]
    await move(client, w, "site", waiting["ticket"], "accepted")


async def test_the_printable_notice_lists_the_projects_offer_with_a_qr_code_to_book(app: Litestar,
                                                                                    client: Any) -> None:
    w = await make_world(client)
    async with as_person(app, w, "site") as c:
        r = await c.get("/catalogue/notice?project=P1")
        assert r.status_code == 200
        body = r.text
        assert re.search(r'<figure class="notice-qr" data-testid="notice-qr">\s*<svg xmlns="http://www.w3.org/2000/svg"',
                         body)
        for text in ("Deep cleaning", "¥5.00 / m²", "Prepayment ¥500.00", "¥50.00–300.00", "Deposit ¥100.00",
                     "Car wash", "¥30.00 / visit", "Moving help", "¥80.00 / hour", "/my/services?project=P1"):
            assert text in body, text
        assert "<script" not in body.split('<main class="content">')[1].split("</main>")[0]
        assert (await c.get("/catalogue/notice?project=NOPE")).status_code == 404
    async with as_person(app, w, "site2") as c:
        body = (await c.get("/catalogue/notice?project=P2")).text
        assert "Car wash" in body and "Deep cleaning" not in body and "/my/services?project=P2" in body


async def test_the_subcontractors_register_is_kept_from_its_page(app: Litestar, client: Any) -> None:
    w = await make_world(client)
    url = "/catalogue/subcontractors"
    async with as_person(app, w, "site") as c:
        r = await post_form(c, url, url, code="", name="", contract_from="2026-05-01", contract_until="2026-01-01",
                            active="1")
        assert r.status_code == 422
        assert {"sub-code", "sub-name", "sub-contract_until"} <= set(field_errors(r.text)), field_errors(r.text)
        r = await post_form(c, url, url, code="CLEANCO", name="Shiny Homes", services="deep cleaning",
                            contact_name="Ms Zhou", contact_phone="02188888888", contract_from="2026-01-01",
                            contract_until="2026-12-31", active="1")
        assert r.status_code == 303, r.text[:800]
        page = await c.get(url)
        assert "Shiny Homes" in page.text
        async with tenant_scope(w.tenant_id):
            sub = await Subcontractor.select().where(Subcontractor.code == "CLEANCO").first()
        assert sub is not None
        edit = f"{url}/{sub['id']}"
        r = await post_form(c, edit, edit, name="Shiny Homes Ltd", services="deep cleaning", active="")
        assert r.status_code == 303, r.text[:800]
    async with tenant_scope(w.tenant_id):
        sub = await Subcontractor.select().where(Subcontractor.code == "CLEANCO").first()
    assert sub is not None and sub["name"] == "Shiny Homes Ltd" and not sub["active"]
    async with as_person(app, w, "clerk") as c:  # read only
        page = await c.get(url)
        assert page.status_code == 200 and 'data-testid="add-subcontractor"' not in page.text
        r = await c.post(url, data={"_csrf_token": csrf_token(page), "code": "X", "name": "X"})
        assert r.status_code == 403


async def test_a_service_named_as_a_script_is_shown_as_text(app: Litestar, client: Any) -> None:
    w = await make_world(client)
    name = "<script>alert(1)</script>"
    new = "/catalogue/items/new"
    async with as_person(app, w, "site") as c:
        r = await post_form(c, new, new, **{**NEW_ITEM, "name": name, "standard": name, "project": w.org["P1"],
                                            "provider_department": w.org["P1-CS"]})
        assert r.status_code == 303, r.text[:800]
        pages = [r.headers["location"], "/catalogue"]
        for url in pages:
            body = (await c.get(url)).text
            assert name not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body, url
        # refused, drawn again: still escaped
        r = await post_form(c, new, new, **{**NEW_ITEM, "code": name, "name": name})
        assert r.status_code == 422 and name not in r.text and "&lt;script&gt;" in r.text
