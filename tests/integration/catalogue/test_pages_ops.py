"""The catalogue's operations pages as people use them in a browser, in both languages: recording a long-term
agreement (every problem shown at once, then recorded, its visits linked, ended early), the month's figures with
a loss and the site manager's decision from the review's page (stopping waits for the general manager, who sees
the review too), the quality figures and their Excel download, a needs survey opened from the page and answered
by a resident on his phone (the tally shown, a title with markup shown as text), and a subcontractor's people
linked from the page, who then see only the orders handed to their company."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from openpyxl import load_workbook

from careclub.catalogue import jobs as catalogue_jobs
from careclub.catalogue import service
from careclub.catalogue.tables import Subcontractor
from careclub.core import clock, sessions
from careclub.core.db import tenant_scope
from careclub.platform import service as platform_service
from careclub.platform.tables import User
from careclub.web.exports import XLSX
from tests.integration.catalogue.helpers import World, book, make_world, money, move, ok, work_done
from tests.integration.catalogue.test_items import _decide
from tests.integration.catalogue.test_operations import _enable_long_term, _settled, _today
from tests.integration.platform.pages import browser, csrf_token

ERROR = re.compile(r'<small class="error" id="e-([a-z_0-9-]+)">([^<]*)</small>')
MARKERS = (("en", '<html lang="en">'), ("zh_CN", '<html lang="zh-CN">'))
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(autouse=True)
def _reset_clock() -> Any:
    yield
    clock.reset()


def field_errors(body: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in ERROR.finditer(body)}


@asynccontextmanager
async def as_user(app: Litestar, w: World, who: str | uuid.UUID, lang: str = "en") -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in as one of the world's people (or a user id): a session of their own."""
    async with browser(app, lang=lang) as c:
        user_id = who if isinstance(who, uuid.UUID) else w.users[who]
        session_id = await sessions.create(w.tenant_id, user_id, idle_seconds=3600, absolute_seconds=7200)
        c.cookies.set(sessions.COOKIE, session_id, domain="testserver.local")
        yield c


async def post_form(c: httpx.AsyncClient, page: str, action: str, **fields: Any) -> httpx.Response:
    r = await c.get(page)
    assert r.status_code == 200, (page, r.status_code, r.text[:300])
    data = {"_csrf_token": csrf_token(r), **{k: v if isinstance(v, list) else str(v) for k, v in fields.items()}}
    return await c.post(action, data=data)


def workbook(r: httpx.Response) -> list[tuple[Any, ...]]:
    assert r.status_code == 200 and r.headers["content-type"].startswith(XLSX), (r.status_code, r.text[:300])
    return list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))


async def _agreement(client: httpx.AsyncClient, w: World) -> dict[str, Any]:
    today = await _today(w)
    return await ok(await client.post("/api/v1/service-agreements", headers=w.h("clerk"), json={
        "item": w.items["CLEAN"], "unit": w.units["A-101"], "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=27)).isoformat(), "weekday": today.weekday(), "quantity": "60",
        "price_per_visit": money("240.00"), "terms": "weekly"}), 201)


async def _survey(client: httpx.AsyncClient, w: World, title: str = "Which services would help you?") -> Any:
    return await ok(await client.post("/api/v1/catalogue/surveys", headers=w.h("site"), json={
        "project": w.org["P1"], "title": title, "proposals": [{"code": "laundry", "name": "Laundry pick-up"},
                                                              {"code": "clean", "name": "Deep cleaning"}]}), 201)


async def test_every_page_renders_for_its_people_in_both_languages(client: Any, app: Litestar) -> None:
    w = await make_world(client)
    await _enable_long_term(client, w)
    agreement = await _agreement(client, w)
    survey = await _survey(client, w)
    month = (await _today(w)).strftime("%Y-%m")
    pages = {"clerk": ["/catalogue/agreements", "/catalogue/agreements/new", f"/catalogue/agreements/{agreement['id']}",
                       "/catalogue/figures", f"/catalogue/figures?month={month}", "/catalogue/quality",
                       "/catalogue/quality?by=staff", "/catalogue/surveys", f"/catalogue/surveys/{survey['id']}"],
             "site": ["/catalogue/surveys", "/catalogue/surveys/new", f"/catalogue/surveys/{survey['id']}",
                      "/catalogue/quality?by=department", "/catalogue/quality?by=subcontractor"],
             "res": ["/my/surveys", f"/my/surveys/{survey['id']}"]}
    for lang, marker in MARKERS:
        for who, urls in pages.items():
            async with as_user(app, w, who, lang) as c:
                for url in urls:
                    r = await c.get(url)
                    assert r.status_code == 200, (who, url, r.status_code, r.text[:500])
                    assert marker in r.text and r.headers["content-type"].startswith("text/html")
    async with as_user(app, w, "clerk") as c:
        page = (await c.get("/catalogue/agreements")).text
        assert agreement["number"] in page and "¥240.00" in page and "A-101" in page
        rows = workbook(await c.get("/catalogue/agreements?format=xlsx"))
        assert rows[0][:2] == ("Number", "Service") and rows[1][0] == agreement["number"] and 240 in rows[1]
        assert (await c.get("/catalogue/surveys/new")).status_code == 403  # no right to survey residents
        surveys = workbook(await c.get("/catalogue/surveys?format=xlsx"))
        assert surveys[1][0] == "Which services would help you?"
    async with as_user(app, w, "res") as c:
        assert (await c.get("/catalogue/agreements")).status_code == 403
        r = await c.get("/catalogue/surveys")
        assert r.status_code == 403
        assert (await c.get("/partner/orders")).status_code == 404
    async with as_user(app, w, "far") as c:
        assert (await c.get(f"/my/surveys/{survey['id']}")).status_code == 404
        assert survey["title"] not in (await c.get("/my/surveys")).text
    async with as_user(app, w, "site2") as c:  # the other project's site manager
        assert (await c.get(f"/catalogue/surveys/{survey['id']}")).status_code == 404


async def test_recording_an_agreement_shows_every_problem_at_once_then_records_and_ends_it(
        client: Any, app: Litestar) -> None:
    w = await make_world(client)
    await _enable_long_term(client, w)
    today = await _today(w)
    async with as_user(app, w, "clerk") as c:
        form = (await c.get("/catalogue/agreements/new")).text
        assert f'value="{w.items["CLEAN"]}"' in form and f'value="{w.items["WASH"]}"' not in form  # no agreement
        assert 'name="price_per_visit"' in form and "data-money" in form
        r = await post_form(c, "/catalogue/agreements/new", "/catalogue/agreements/new", item=w.items["WASH"],
                            unit="", every_weeks="0", weekday="5", time_of_day="25:00", starts_on=today.isoformat(),
                            ends_on=(today - timedelta(days=1)).isoformat(), quantity="1",
                            price_per_visit="12,34", terms="as agreed", contact_name="Lin")
        assert r.status_code == 422, r.text[:500]
        errors = field_errors(r.text)
        assert set(errors) == {"item", "unit", "every_weeks", "time_of_day", "ends_on", "price_per_visit"}, errors
        assert 'value="12,34"' in r.text and "as agreed" in r.text  # what was typed is kept
        assert 'data-testid="form-errors"' in r.text
        r = await post_form(c, "/catalogue/agreements/new", "/catalogue/agreements/new", item=w.items["CLEAN"],
                            unit=w.units["A-101"], every_weeks="2", weekday=str(today.weekday()),
                            time_of_day="09:30", starts_on=today.isoformat(),
                            ends_on=(today + timedelta(days=60)).isoformat(), quantity="60",
                            price_per_visit="240", terms="every other week", contact_name="Lin",
                            contact_phone="13900000101")
        assert r.status_code == 303, (r.status_code, r.text[:500])
        url = r.headers["location"].split("?")[0]
        page = await c.get(r.headers["location"])
        assert page.status_code == 200 and "¥240.00" in page.text and "09:30" in page.text
        day = today.strftime("%A")
        assert f"Every 2 weeks on {day} at 09:30" in page.text
        assert 'data-testid="end"' in page.text
        # the job makes the first visit an order, linked from the agreement's page
        await catalogue_jobs.catalogue_tenant({}, tenant_id=str(w.tenant_id))
        page = await c.get(url)
        links = re.findall(r'href="/catalogue/orders/([0-9a-f-]{36})" data-testid="visit-link"', page.text)
        assert len(links) == 1
        # ending it: both problems at once, then ended
        r = await post_form(c, url, f"{url}/end", on="", reason="")
        assert r.status_code == 422 and set(field_errors(r.text)) == {"on", "reason"}
        r = await post_form(c, url, f"{url}/end", on=(today + timedelta(days=20)).isoformat(),
                            reason="the family moves out")
        assert r.status_code == 303
        page = await c.get(r.headers["location"])
        assert 'data-status="ended"' in page.text and "the family moves out" in page.text
        assert 'data-testid="end"' not in page.text
        listed = (await c.get("/catalogue/agreements?status=ended")).text
        assert url.rsplit("/", 1)[1] in listed
        assert url.rsplit("/", 1)[1] not in (await c.get("/catalogue/agreements?status=active")).text


async def test_a_months_loss_and_the_site_managers_decision_from_the_page(client: Any, app: Litestar) -> None:
    w = await make_world(client)
    order = await _settled(client, w, "FIX", final="80.00")
    await ok(await client.put(f"/api/v1/service-orders/{order['id']}/costs", headers=w.h("site"), json={
        "labour_minutes": 90, "labour_rate": money("40.00"), "materials_cost": money("5.00"),
        "subcontractor_fee": money("70.00")}))
    await _settled(client, w, "CLEAN", quantity="100")
    month = (await _today(w)).strftime("%Y-%m")
    async with as_user(app, w, "site") as c:
        r = await c.get(f"/catalogue/figures?month={month}")
        assert r.status_code == 200
        fix = re.search(r'<tr data-code="FIX"[^>]*>.*?</tr>', r.text, re.S)
        assert fix is not None and 'data-loss="1"' in fix.group(0) and "-¥55.00" in fix.group(0)
        clean = re.search(r'<tr data-code="CLEAN"[^>]*>.*?</tr>', r.text, re.S)
        assert clean is not None and "data-loss" not in clean.group(0) and "¥500.00" in clean.group(0)
        assert 'data-testid="chart-figures"' in r.text
        rows = workbook(await c.get(f"/catalogue/figures?month={month}&format=xlsx"))
        assert rows[0][:3] == ("Code", "Service", "Orders settled")
        assert [r_[0] for r_ in rows[1:]] == ["FIX", "CLEAN"] and rows[1][5] == -55 and rows[1][6] == "Yes"
    # next month the job raises the review; the figures page opens on last month by default
    clock.travel(timedelta(days=32))
    async with tenant_scope(w.tenant_id):
        assert await service.raise_loss_tasks(month) == {"raised": 1}
        review = (await service.list_reviews(await _principal(w, "site")))[0]
    url = f"/catalogue/reviews/{review['id']}"
    for lang, marker in MARKERS:
        async with as_user(app, w, "site", lang) as c:
            page = await c.get("/catalogue/figures")
            assert page.status_code == 200 and marker in page.text and f"{month}" in page.text
            assert url in page.text
            r = await c.get(url)
            assert r.status_code == 200 and marker in r.text and 'data-testid="decide"' in r.text
    async with as_user(app, w, "site") as c:
        r = await post_form(c, url, f"{url}/decision", decision="stop", note="")
        assert r.status_code == 422 and set(field_errors(r.text)) == {"note"}
        assert 'value="stop" checked' in r.text
        r = await post_form(c, url, f"{url}/decision", decision="stop", note="too few residents; parts cost more")
        assert r.status_code == 303
        page = (await c.get(r.headers["location"])).text
        assert 'data-status="stopping"' in page and 'data-testid="waiting"' in page
        request_id = re.search(r'href="/approvals/requests/([0-9a-f-]{36})" data-testid="approval-link"', page)
        assert request_id is not None
        assert 'data-testid="decide"' not in page  # it waits for the general manager now
    async with as_user(app, w, "gm") as c:  # asked to approve: he sees what he decides on
        page = await c.get(url)
        assert page.status_code == 200 and "too few residents" in page.text and 'data-testid="decide"' not in page.text
    async with as_user(app, w, "clerk") as c:  # reads the catalogue: sees it, decides nothing
        page = await c.get(url)
        assert page.status_code == 200 and 'data-testid="decide"' not in page.text
        assert (await c.post(f"{url}/decision", data={"_csrf_token": csrf_token(page), "decision": "other",
                                                       "note": "x"})).status_code == 403
    async with as_user(app, w, "site2") as c:
        assert (await c.get(url)).status_code == 404
    await _decide(client, w, {"approval_request": request_id.group(1)})
    async with as_user(app, w, "site") as c:
        page = (await c.get(url)).text
        assert 'data-status="stopped"' in page


async def _principal(w: World, who: str) -> Any:
    tenant = await platform_service.get_tenant(w.tenant_id)
    assert tenant is not None
    return await platform_service.load_principal(tenant, w.users[who])


async def test_the_quality_page_and_its_download(client: Any, app: Litestar) -> None:
    w = await make_world(client)
    good = await book(client, w, "res", "MOVE", unit=w.units["A-101"])
    await work_done(client, w, good["ticket"], handler="site")
    await move(client, w, "site", good["ticket"], "visited", satisfaction=5, reason="satisfied")
    bad = await book(client, w, "res", "MOVE", unit=w.units["A-101"])
    await work_done(client, w, bad["ticket"], handler="site")
    await move(client, w, "site", bad["ticket"], "visited", satisfaction=1, reason="quality")
    await ok(await client.post(f"/api/v1/service-orders/{bad['id']}/complaints", headers=w.h("res"),
                               json={"title": "They scratched the floor"}), 201)
    today = await _today(w)
    q = f"since={(today - timedelta(days=1)).isoformat()}&until={(today + timedelta(days=1)).isoformat()}"
    async with as_user(app, w, "site") as c:
        r = await c.get(f"/catalogue/quality?{q}&by=subcontractor")
        assert r.status_code == 200
        row = re.search(r"<tr data-key=[^>]*>(.*?)</tr>", r.text, re.S)
        assert row is not None and "Swift Movers" in row.group(1)
        cells = dict(re.findall(r'data-col="([a-z_]+)">([^<]*)<', row.group(1)))
        assert cells == {"orders": "2", "rated": "2", "satisfaction": "3.00", "bad": "1", "rework": "1",
                         "complaints": "1", "share": cells["share"]} and cells["share"].endswith("%")
        page = (await c.get("/catalogue/quality")).text  # this month so far, per service
        assert "Moving help" in page and f'value="{today.replace(day=1).isoformat()}"' in page
        rows = workbook(await c.get(f"/catalogue/quality?{q}&by=staff&format=xlsx"))
        assert rows[0][0] == "Staff member" and rows[0][1] == "Orders" and rows[0][-1] == "On-time share (%)"
        assert rows[1][1] == 2 and rows[1][3] == 3.0 and rows[1][6] == 1
        r = await c.get("/catalogue/quality?since=0001-01-01&until=2026-13-01")
        assert r.status_code == 422 and set(field_errors(r.text)) == {"since", "until"}
    async with as_user(app, w, "site2") as c:  # the other project's orders are not his
        assert "Moving help" not in (await c.get(f"/catalogue/quality?{q}")).text


async def test_a_survey_opened_from_the_page_and_answered_by_residents_on_their_phones(
        client: Any, app: Litestar) -> None:
    w = await make_world(client)
    today = await _today(w)
    async with as_user(app, w, "site") as c:
        r = await post_form(c, "/catalogue/surveys/new", "/catalogue/surveys/new", project=w.org["P1"], title="",
                            name_3="x" * 121, closes_on="2020-13-01")
        assert r.status_code == 422
        assert set(field_errors(r.text)) == {"title", "name_3", "closes_on"}, field_errors(r.text)
        r = await post_form(c, "/catalogue/surveys/new", "/catalogue/surveys/new", project=w.org["P1"], title="t")
        assert r.status_code == 422 and set(field_errors(r.text)) == {"proposals"}
        r = await post_form(c, "/catalogue/surveys/new", "/catalogue/surveys/new", project=w.org["P1"],
                            title=f"{SCRIPT} Which services?", intro="A short survey", name_0="Laundry pick-up",
                            name_2=SCRIPT, item_2="CLEAN", closes_on=(today + timedelta(days=7)).isoformat())
        assert r.status_code == 303, r.text[:500]
        url = r.headers["location"].split("?")[0]
        survey_id = url.rsplit("/", 1)[1]
        page = (await c.get(r.headers["location"])).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Which services?" in page and SCRIPT not in page
        assert 'data-testid="sent-to">2<' in page and 'data-testid="respondents">0<' in page
    for lang, marker in MARKERS:
        async with as_user(app, w, "res", lang) as c:
            listed = await c.get("/my/surveys")
            assert marker in listed.text and f"/my/surveys/{survey_id}" in listed.text
            page = await c.get(f"/my/surveys/{survey_id}")
            assert page.status_code == 200 and marker in page.text
            assert SCRIPT not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
            assert 'name="wanted" value="p1"' in page.text and 'name="wanted" value="p2"' in page.text
    async with as_user(app, w, "res") as c:
        mine = f"/my/surveys/{survey_id}"
        r = await post_form(c, mine, mine, wanted=["p1", "spa"], comment="")
        assert r.status_code == 422 and "wanted" in field_errors(r.text)
        r = await post_form(c, mine, mine, wanted=["p1"], comment="weekends please")
        assert r.status_code == 303
        r = await post_form(c, mine, mine, wanted=["p1", "p2"], comment="weekends please")
        assert r.status_code == 303
        page = (await c.get(r.headers["location"])).text
        assert 'value="p1" checked' in page and 'value="p2" checked' in page and "weekends please" in page
        assert 'data-testid="answered"' in (await c.get("/my/surveys")).text
    seen = await ok(await client.get(f"/api/v1/catalogue/surveys/{survey_id}", headers=w.h("res")))
    assert seen["my_answer"] == ["p1", "p2"]  # the API gives the resident his answer too
    async with as_user(app, w, "neighbour") as c:
        r = await post_form(c, f"/my/surveys/{survey_id}", f"/my/surveys/{survey_id}", wanted=["p2"])
        assert r.status_code == 303
    async with as_user(app, w, "site") as c:
        page = (await c.get(url)).text
        tally = dict(re.findall(r'<li data-code="(p\d)">.*?data-testid="wanted">(\d+)<', page, re.S))
        assert tally == {"p1": "1", "p2": "2"}
        assert 'data-testid="respondents">2<' in page and "100.0 %" in page and "CLEAN" in page
        r = await post_form(c, url, f"{url}/close")
        assert r.status_code == 303
        assert 'data-status="closed"' in (await c.get(url)).text
    async with as_user(app, w, "res") as c:
        page = (await c.get(f"/my/surveys/{survey_id}")).text
        assert 'data-testid="closed"' in page and 'data-testid="my-answer"' in page and 'name="wanted"' not in page
        r = await c.post(f"/my/surveys/{survey_id}", data={"_csrf_token": csrf_token(await c.get("/my/surveys")),
                                                           "wanted": "p1"})
        assert r.status_code == 409 and 'data-testid="closed"' in r.text
        assert survey_id not in (await c.get("/my/surveys")).text


async def test_a_subcontractors_people_are_linked_from_the_page_and_see_only_their_orders(
        client: Any, app: Litestar) -> None:
    w = await make_world(client)
    theirs = await book(client, w, "res", "MOVE", unit=w.units["A-101"])
    other = await book(client, w, "res", "WASH", unit=w.units["A-101"],
                       preferred_at=(clock.now() + timedelta(days=2)).isoformat())
    async with tenant_scope(w.tenant_id):
        sub = await Subcontractor.select().where(Subcontractor.code == "MOVE").first()
        assert sub is not None
        mover = User(email=f"mover@{w.slug}.test", display_name="Mover Ma", kind="staff",
                     org_unit=uuid.UUID(w.org["P1"]))
        await mover.save()
        # the general manager also keeps the register: catalogue.manage at the company
        await platform_service.grant_role(None, w.users["gm"], "site_manager", uuid.UUID(w.org["HQ"]))
    url = f"/catalogue/subcontractors/{sub['id']}/people"
    async with as_user(app, w, mover.id) as c:
        assert (await c.get("/partner/orders")).status_code == 404  # not linked yet
    async with as_user(app, w, "site") as c:  # a project's site manager does not keep the company's register
        assert (await c.get(url)).status_code == 403
    for lang, marker in MARKERS:
        async with as_user(app, w, "gm", lang) as c:
            r = await c.get(url)
            assert r.status_code == 200 and marker in r.text and "Swift Movers" in r.text
    async with as_user(app, w, "gm") as c:
        r = await post_form(c, url, url, email=f"nobody@{w.slug}.test")
        assert r.status_code == 422 and set(field_errors(r.text)) == {"email"}
        r = await post_form(c, url, url, email=f"res@{w.slug}.test")  # a resident is no staff sign-in
        assert r.status_code == 422 and set(field_errors(r.text)) == {"email"}
        r = await post_form(c, url, url, email=f"  MOVER@{w.slug.upper()}.test ")
        assert r.status_code == 303
        page = (await c.get(r.headers["location"])).text
        assert "Mover Ma" in page and f'data-user="{mover.id}"' in page
        rows = workbook(await c.get(f"{url}?format=xlsx"))
        assert rows[1] == ("Mover Ma", f"mover@{w.slug}.test")
    for lang, marker in MARKERS:
        async with as_user(app, w, mover.id, lang) as c:
            r = await c.get("/partner/orders")
            assert r.status_code == 200 and marker in r.text
            assert theirs["number"] in r.text and other["number"] not in r.text
            assert f'href="/tickets/{theirs["ticket"]}"' in r.text
            assert (await c.get(f"/tickets/{theirs['ticket']}")).status_code == 200
    async with as_user(app, w, mover.id) as c:
        rows = workbook(await c.get("/partner/orders?format=xlsx"))
        assert [row[0] for row in rows[1:]] == [theirs["number"]]
    async with as_user(app, w, "site") as c:
        assert (await c.get("/partner/orders")).status_code == 404
    async with as_user(app, w, "gm") as c:
        page = await c.get(url)
        r = await c.post(f"{url}/{mover.id}/remove", data={"_csrf_token": csrf_token(page)})
        assert r.status_code == 303
        assert "Mover Ma" not in (await c.get(url)).text
    async with as_user(app, w, mover.id) as c:
        assert (await c.get("/partner/orders")).status_code == 404
