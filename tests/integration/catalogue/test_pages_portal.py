"""The residents' paid-service pages as people use them in a browser: the offer grouped by category with its
fees (both languages, one project's offer from the printed notice's QR code), booking with every problem shown
at once and then a valid booking, a fully booked day refused on the form with what was typed kept, the order
page with the prepayment paid through the Stripe sandbox's checkout (or at the cashier when the company takes
no online payments), a neighbour's 404, and a note with markup shown as text."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
from litestar import Litestar

from careclub.catalogue.tables import ServiceOrder
from careclub.core import clock, sessions
from careclub.core.db import tenant_scope
from careclub.payments import service as payments
from tests.integration.catalogue.helpers import World, book, make_world, ok
from tests.integration.payments.helpers import deliver_all, pay
from tests.integration.platform.pages import browser, csrf_token

ERROR = re.compile(r'<small class="error" id="e-book-([a-z_0-9-]+)">([^<]*)</small>')
ZONE = ZoneInfo("Asia/Shanghai")  # the world's company zone


def field_errors(body: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in ERROR.finditer(body)}


@asynccontextmanager
async def as_user(app: Litestar, w: World, who: str, lang: str = "en") -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in as one of the world's people (a session of their own: they have no password)."""
    async with browser(app, lang=lang) as c:
        session_id = await sessions.create(w.tenant_id, w.users[who], idle_seconds=3600, absolute_seconds=7200)
        c.cookies.set(sessions.COOKIE, session_id, domain="testserver.local")
        yield c


async def post_form(c: httpx.AsyncClient, page: str, action: str, **fields: Any) -> httpx.Response:
    r = await c.get(page)
    assert r.status_code == 200, (page, r.status_code, r.text[:300])
    return await c.post(action, data={"_csrf_token": csrf_token(r), **{k: str(v) for k, v in fields.items()}})


def local_day(days: int, hour: int = 10) -> datetime:
    """A time `days` ahead, at `hour` o'clock in the company's zone."""
    day = clock.now().astimezone(ZONE).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=ZONE)


async def order_row(w: World, order_id: str) -> dict[str, Any]:
    async with tenant_scope(w.tenant_id):
        row = await ServiceOrder.select().where(ServiceOrder.id == uuid.UUID(order_id)).first()
    assert row is not None
    return dict(row)


async def link_stripe(app: Litestar, client: httpx.AsyncClient, w: World) -> None:
    """The company links its Stripe account and finishes onboarding in the sandbox (the world has no admin to
    press the settings page's button, so the service is asked directly)."""
    async with tenant_scope(w.tenant_id):
        url = await payments.start_onboarding(email=f"gm@{w.slug}.test", site_url=app.state.settings.site_url)
    done = await client.post(url, data={})
    assert done.status_code == 303, (done.status_code, done.text[:300])
    await deliver_all(app, client, str(w.tenant_id))
    async with tenant_scope(w.tenant_id):
        assert (await payments.current_settings())["charges_enabled"] is True


async def test_the_offer_grouped_by_category_in_both_languages(client: Any, app: Litestar) -> None:
    w = await make_world(client)
    for lang, marker in (("en", '<html lang="en">'), ("zh_CN", '<html lang="zh-CN">')):
        async with as_user(app, w, "res", lang) as c:
            r = await c.get("/my/services")
            assert r.status_code == 200, r.text[:500]
            page = r.text
            assert marker in page
            for name in ("Deep cleaning", "Car wash", "Appliance repair", "Moving help"):
                assert name in page, (lang, name)
            for category in ("cleaning", "repair", "moving", "car_wash"):
                assert f'data-category="{category}"' in page
            assert page.count('data-testid="book"') == 4
            assert "¥5.00" in page and "¥500.00" in page and "¥50.00" in page and "¥300.00" in page
            if lang == "en":
                assert "¥5.00 / m²" in page and "¥30.00 per visit" in page and "¥80.00 per hour" in page
                assert "¥50.00 to ¥300.00, quoted after an inspection" in page
                assert "Before the work: Prepayment: ¥500.00" in page and "Before the work: Deposit: ¥100.00" in page
                assert "3 bookings a day" in page and "Appliance and home repair" in page
    # the API says the same offer
    api = await ok(await client.get("/api/v1/catalogue", headers=w.h("res")))
    assert {e["id"] for e in api} == set(re.findall(r'href="/my/services/([0-9a-f-]{36})/book"', page))


async def test_one_projects_offer_from_the_notices_qr_code(client: Any, app: Litestar) -> None:
    w = await make_world(client)
    async with as_user(app, w, "res") as c:
        page = (await c.get("/my/services?project=P1")).text
        assert "Offered in Garden One" in page and "Deep cleaning" in page and "Moving help" in page
    async with as_user(app, w, "far") as c:
        page = (await c.get("/my/services")).text
        assert "Car wash" in page and "Moving help" in page and "Deep cleaning" not in page
        page = (await c.get("/my/services?project=P2")).text
        assert "Garden Two" in page and "Deep cleaning" not in page
        assert (await c.get("/my/services?project=P1")).status_code == 404  # not his project
        assert (await c.get(f"/my/services/{w.items['CLEAN']}/book")).status_code == 404  # nor its services


async def test_booking_shows_every_problem_at_once_then_books(client: Any, app: Litestar) -> None:
    w = await make_world(client)
    url = f"/my/services/{w.items['CLEAN']}/book"
    async with as_user(app, w, "res") as c:
        form = await c.get(url)
        assert form.status_code == 200
        assert f'<option value="{w.units["A-101"]}" selected>' in form.text  # his one home, chosen
        assert "Area in m²" in form.text and 'name="preferred_at" type="datetime-local"' in form.text
        r = await post_form(c, url, url, unit="", preferred_at="next Tuesday", quantity="lots",
                            note="keep the cat in")
        assert r.status_code == 422, r.text[:500]
        errors = field_errors(r.text)
        assert set(errors) == {"unit", "preferred_at", "quantity"}, errors
        assert "Type a day and a time" in errors["preferred_at"] and "Type a number" in errors["quantity"]
        assert 'data-testid="form-errors"' in r.text and "3 fields need attention" in r.text
        assert ">keep the cat in</textarea>" in r.text and 'value="next Tuesday"' in r.text and 'value="lots"' in r.text
        # a time in the past: the service's word beside the field
        past = (local_day(-1)).strftime("%Y-%m-%dT%H:%M")
        r = await post_form(c, url, url, unit=w.units["A-101"], preferred_at=past, quantity="80")
        assert r.status_code == 422 and set(field_errors(r.text)) == {"preferred_at"}
        assert "Estimated price: ¥400.00" in r.text  # the estimate for what was typed
        # a note too long: said beside it, without the field's code
        r = await post_form(c, url, url, unit=w.units["A-101"], quantity="80", note="n" * 2001)
        assert r.status_code == 422 and field_errors(r.text) == {"note": "at most 2000 characters"}
        when = local_day(2)
        r = await post_form(c, url, url, unit=w.units["A-101"], preferred_at=when.strftime("%Y-%m-%dT%H:%M"),
                            quantity="80", note="before Spring Festival")
        assert r.status_code == 303, r.text[:500]
        target = r.headers["location"]
        assert re.fullmatch(r"/my/services/orders/[0-9a-f-]{36}\?done=booked", target), target
        page = await c.get(target)
        assert page.status_code == 200
        assert "Your booking is sent." in page.text and 'data-status="awaiting_prepayment"' in page.text
        assert "¥400.00" in page.text and "¥500.00" in page.text and "80 m²" in page.text
        assert "before Spring Festival" in page.text and when.strftime("%Y-%m-%d %H:%M") in page.text
        order_id = target.split("/")[-1].split("?")[0]
        row = await order_row(w, order_id)
        assert row["preferred_at"] == when and row["quantity_centi"] == 8000 and row["source"] == "portal"
        assert f'href="/my/tickets/{row["ticket"]}"' in page.text
        # without online payments, the resident is told to pay at the cashier
        assert 'data-testid="pay-at-office"' in page.text and 'data-testid="pay"' not in page.text
        # and his orders list it
        listed = (await c.get("/my/services")).text
        assert row["number"] in listed and "Awaiting prepayment" in listed


async def test_a_fully_booked_day_is_refused_on_the_form_keeping_what_was_typed(client: Any,
                                                                                  app: Litestar) -> None:
    w = await make_world(client)
    when = local_day(3)
    for who, unit in (("res", "A-101"), ("res", "A-101"), ("neighbour", "A-102")):
        await book(client, w, who, "WASH", unit=w.units[unit], preferred_at=when.isoformat())
    url = f"/my/services/{w.items['WASH']}/book"
    async with as_user(app, w, "res") as c:
        form = (await c.get(url)).text
        assert 'data-testid="places"' in form and f'data-day="{when.date().isoformat()}"' in form
        assert "Fully booked" in form and 'name="quantity"' not in form  # a visit is one visit
        typed = when.strftime("%Y-%m-%dT%H:%M")
        r = await post_form(c, url, url, unit=w.units["A-101"], preferred_at=typed, note="the blue one")
        assert r.status_code == 409, r.text[:500]
        errors = field_errors(r.text)
        assert set(errors) == {"preferred_at"} and "fully booked" in errors["preferred_at"], errors
        assert f'value="{typed}"' in r.text and ">the blue one</textarea>" in r.text
        assert f"On {when.date().isoformat()}: 0 left" in r.text
        # another day has its places
        other = local_day(4).strftime("%Y-%m-%dT%H:%M")
        r = await post_form(c, url, url, unit=w.units["A-101"], preferred_at=other)
        assert r.status_code == 303, r.text[:500]
        # a service with a daily capacity needs a day
        r = await post_form(c, url, url, unit=w.units["A-101"], preferred_at="")
        assert r.status_code == 422 and set(field_errors(r.text)) == {"preferred_at"}


async def test_paying_the_prepayment_through_the_sandbox_checkout(client: Any, app: Litestar) -> None:
    w = await make_world(client)
    order = await book(client, w, "res", "CLEAN", unit=w.units["A-101"], quantity="80")
    url = f"/my/services/orders/{order['id']}"
    async with as_user(app, w, "res") as c:
        # no online payments yet: back to the order, saying where to pay
        r = await post_form(c, url, f"{url}/pay", what="prepay")
        assert r.status_code == 303 and r.headers["location"] == f"{url}?pay_error=online_payments_unavailable"
        refused = (await c.get(r.headers["location"])).text
        assert 'data-testid="pay-error"' in refused and 'data-testid="pay-at-office"' in refused
        assert "Please pay at its office." in refused
    await link_stripe(app, client, w)
    async with as_user(app, w, "res") as c:
        page = await c.get(url)
        assert 'data-testid="pay"' in page.text and "Pay the prepayment online: ¥500.00" in page.text
        r = await c.post(f"{url}/pay", data={"_csrf_token": csrf_token(page), "what": "prepay"})
        assert r.status_code == 303, r.text[:300]
        checkout_url = r.headers["location"]
        assert "/_sandbox/" in checkout_url, checkout_url
        # asking again answers the same open checkout
        again = await c.post(f"{url}/pay", data={"_csrf_token": csrf_token(page), "what": "prepay"})
        assert again.headers["location"] == checkout_url
        checkout = await client.get(checkout_url)
        assert checkout.status_code == 200 and "500" in checkout.text
        paid = await pay(client, checkout_url)
        assert paid.status_code == 303
        await deliver_all(app, client, str(w.tenant_id))
        # back from the checkout, the resident is led on to his order (not to a member card he may not have)
        returned = urlsplit(paid.headers["location"])  # the site's address, as the member's browser sees it
        back = await c.get(f"{returned.path}?{returned.query}")
        assert back.status_code == 200 and 'data-status="paid"' in back.text
        assert f'<a class="button primary" href="{url}">' in back.text
        row = await order_row(w, order["id"])
        assert row["prepaid"] == 50000 and row["status"] == "open"
        page = await c.get(url)
        assert 'data-status="open"' in page.text and 'data-testid="pay"' not in page.text
        assert 'data-testid="prepaid"' in page.text and "¥500.00" in page.text
        api = await ok(await client.get(f"/api/v1/service-orders/{order['id']}", headers=w.h("res")))
        receipt = api["payments"][0]
        assert receipt["purpose"] == "service_prepay" and receipt["status"] == "paid"
        assert receipt["number"] in page.text and f'href="/payments/{receipt["id"]}/receipt"' in page.text
        assert (await c.get(f"/payments/{receipt['id']}/receipt")).status_code == 200
        # paid already: the button is gone, and posting anyway is refused saying so
        r = await c.post(f"{url}/pay", data={"_csrf_token": csrf_token(page), "what": "prepay"})
        assert r.headers["location"] == f"{url}?pay_error=already_paid"


async def test_a_neighbour_gets_404_and_a_note_with_markup_shows_as_text(client: Any, app: Litestar) -> None:
    w = await make_world(client)
    note = "<script>alert(1)</script> by the door"
    order = await book(client, w, "res", "MOVE", unit=w.units["A-101"], quantity="2.5", note=note)
    url = f"/my/services/orders/{order['id']}"
    async with as_user(app, w, "res") as c:
        page = await c.get(url)
        assert page.status_code == 200
        assert "&lt;script&gt;alert(1)&lt;/script&gt; by the door" in page.text and "<script>alert" not in page.text
        assert "2.5 h" in page.text and "¥200.00" in page.text
        assert "Nothing to pay now" in page.text
    for who in ("neighbour", "far"):
        async with as_user(app, w, who) as c:
            assert (await c.get(url)).status_code == 404, who
            r = await post_form(c, "/my/services", f"{url}/pay", what="balance")
            assert r.status_code == 404, who
            assert order["number"] not in (await c.get("/my/services")).text
    # typed into the booking form, it comes back escaped too
    async with as_user(app, w, "res") as c:
        form = f"/my/services/{w.items['MOVE']}/book"
        r = await post_form(c, form, form, unit=w.units["A-101"], quantity="0", note=note)
        assert r.status_code == 422 and "<script>alert" not in r.text and "&lt;script&gt;" in r.text
