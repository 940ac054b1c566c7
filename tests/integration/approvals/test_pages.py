from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar

from careclub.core import sessions
from tests.integration.approvals.conftest import World, make_world
from tests.integration.approvals.test_requests import active_step, detail
from tests.integration.platform.pages import browser, csrf_token


@asynccontextmanager
async def signed_in(app: Litestar, w: World, who: str) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(app, lang="en") as c:
        session_id = await sessions.create(w.tenant_id, w.users[who], idle_seconds=3600, absolute_seconds=7200)
        c.cookies.set(sessions.COOKIE, session_id, domain="testserver.local")
        yield c


async def post_form(c: httpx.AsyncClient, page_url: str, action: str, **fields: Any) -> httpx.Response:
    page = await c.get(page_url)
    assert page.status_code == 200, page.text[:500]
    return await c.post(action, data={"_csrf_token": csrf_token(page), **fields})


async def test_approver_decides_from_the_inbox_page(app: Litestar, client: Any, world: World) -> None:
    req = await world.open(50000, title="Replace the gate motor")
    async with signed_in(app, world, "pmc1") as c:
        inbox = await c.get("/approvals")
        assert inbox.status_code == 200
        assert "Replace the gate motor" in inbox.text
        assert re.search(r'data-approvals-count\s*>1<', inbox.text), "the navigation shows one waiting step"
        assert (await c.get("/approvals/count")).json() == {"count": 1}
        url = f"/approvals/requests/{req['id']}"
        page = await c.get(url)
        assert 'name="decision" value="approve"' in page.text
        step = active_step(await detail(client, world, req["id"]))
        r = await c.post(f"{url}/decide", data={"_csrf_token": csrf_token(page), "step_id": step["id"],
                                                "decision": "reject", "comment": ""})
        assert r.status_code == 422
        assert "say why" in r.text
        r = await post_form(c, url, f"{url}/decide", step_id=step["id"], decision="approve", comment="go ahead")
        assert r.status_code == 303
        done = await c.get(r.headers["location"])
        assert "Your decision was recorded." in done.text
        assert "go ahead" in done.text and "Approved" in done.text
        assert 'name="decision"' not in done.text
        assert (await c.get("/approvals/count")).json() == {"count": 0}
        # without the form's CSRF token nothing is decided
        r = await c.post(f"{url}/decide", data={"step_id": step["id"], "decision": "approve"})
        assert r.status_code == 403


async def test_requester_sees_the_timeline_and_withdraws(app: Litestar, world: World) -> None:
    req = await world.open(500000, title="Garden lights")
    async with signed_in(app, world, "clerk") as c:
        url = f"/approvals/requests/{req['id']}"
        page = await c.get(url)
        assert page.status_code == 200
        assert "submitted the request" in page.text
        assert 'name="decision"' not in page.text
        r = await post_form(c, url, f"{url}/withdraw", reason="no longer needed")
        assert r.status_code == 303
        assert "Withdrawn" in (await c.get(url)).text


async def test_meeting_agenda_and_minutes_pages(app: Litestar, client: Any, world: World) -> None:
    req = await world.open(2_000_000, title="Roof repair")
    step = active_step(await detail(client, world, req["id"]))
    r = await client.post(f"/api/v1/approvals/requests/{req['id']}/decisions", headers=world.h("pmc1"),
                          json={"step_id": step["id"], "decision": "approve"})
    assert r.status_code == 201
    meeting_step = active_step(await detail(client, world, req["id"]))
    async with signed_in(app, world, "lead1") as c:
        listing = await c.get("/approvals/meetings")
        [meeting_id] = re.findall(r'href="/approvals/meetings/([0-9a-f-]{36})"', listing.text)
        url = f"/approvals/meetings/{meeting_id}"
        agenda = await c.get(url)
        assert "Roof repair" in agenda.text and "Record the minutes" in agenda.text
        r = await post_form(c, url, f"{url}/minutes", **{f"decision:{meeting_step['id']}": "approve",
                                                         f"comment:{meeting_step['id']}": "approved, item 3",
                                                         "note": "all present"})
        assert r.status_code == 303
        held = await c.get(url)
        assert "Held" in held.text and "Record the minutes" not in held.text
    d = await detail(client, world, req["id"])
    assert active_step(d)["kind"] == "committee"


async def test_policy_editor_validates_and_previews(app: Litestar, world: World) -> None:
    async with signed_in(app, world, "admin") as c:
        listing = await c.get("/approvals/policies")
        assert 'href="/approvals/policies/purchase"' in listing.text
        url = "/approvals/policies/purchase"
        page = await c.get(url, params={"amount": "5000.00", "org_unit": "P1"})
        assert page.status_code == 200
        assert "Pat Manager" in page.text and "Rita Reviewer" in page.text
        bad_amount = await c.get(url, params={"amount": "5.001"})  # typed in yuan: at most two places
        assert bad_amount.status_code == 200 and "two decimal places" in bad_amount.text
        text = re.search(r'<textarea name="policy"[^>]*>(.*?)</textarea>', page.text, re.S)
        assert text is not None
        import html

        toml = html.unescape(text.group(1))
        gap = toml.replace('below = "100.00"', 'below = "90.00"', 1)
        r = await c.post(url, data={"_csrf_token": csrf_token(page), "policy": gap})
        assert r.status_code == 422
        assert "amounts 90.00–99.99 of off-plan match no rule" in r.text
        same = await c.post(url, data={"_csrf_token": csrf_token(page), "policy": toml})
        assert same.status_code == 303 and same.headers["location"].endswith("done=unchanged")
        changed = toml.replace('below = "100.00"', 'below = "200.00"', 1).replace(
            'at_least = "100.00"', 'at_least = "200.00"', 1)
        r = await c.post(url, data={"_csrf_token": csrf_token(page), "policy": changed})
        assert r.status_code == 303
        assert "version 2" in (await c.get(url)).text.replace("</span>", "")
    async with signed_in(app, world, "pmc1") as c:
        assert (await c.get(url)).status_code == 403


async def test_another_tenants_request_page_is_404(app: Litestar, client: Any, world: World) -> None:
    other = await make_world(client)
    req = await world.open(50000)
    async with signed_in(app, other, "admin") as c:
        assert (await c.get(f"/approvals/requests/{req['id']}")).status_code == 404
