"""Revealing a member's clear ID number on the staff member page: a POST form offered only to
staff who manage the member, the number shown once, one audit entry per reveal (the same one the
API writes), never cached, and the branch and tenant cut answering 404."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from litestar import Litestar

from tests.conftest import PASSWORD, signup
from tests.integration.clubs.helpers import branch, club_world, ok, staff_with_password
from tests.integration.platform.pages import browser, csrf_token, login, submit

CLEAR = "110101199003071234"  # club_world's member
MASKED = "110***********1234"
BUTTON = 'data-testid="reveal-id"'


async def _member(client: Any, t: dict[str, Any], club_id: str, unit: str, phone: str,
                  id_number: str | None) -> dict[str, Any]:
    return await ok(await client.post("/api/v1/members", headers=t["headers"], json={
        "club_id": club_id, "name": "会员" + phone[-4:], "phone": phone, "org_unit": unit,
        "id_number": id_number}), 201)


async def _reveals(client: Any, t: dict[str, Any], member_id: str) -> list[dict[str, Any]]:
    log = await ok(await client.get("/api/v1/audit", headers=t["headers"],
                                    params={"action": "club_member.reveal_id", "entity_id": member_id}))
    return log["items"]


async def _reveal(c: httpx.AsyncClient, member_id: str) -> httpx.Response:
    url = f"/club/members/{member_id}"
    return await submit(c, url, f"{url}/id-number")


async def test_button_only_for_those_who_manage_the_member(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t = w["t"]
    cid = w["club"]["id"]
    north, south = await branch(client, t, "RN"), await branch(client, t, "RS")
    in_north = await _member(client, t, cid, north["id"], "13900000101", "530102199001010001")
    in_south = await _member(client, t, cid, south["id"], "13900000102", "530102199001010002")
    no_number = await _member(client, t, cid, north["id"], "13900000103", None)
    clerk = await staff_with_password(client, t, roles=["cs_clerk"])  # members.read only
    operator = await staff_with_password(client, t, roles=["branch_operator"], unit=north["id"])
    # reads the whole tenant, manages the north branch only
    mixed = await staff_with_password(client, t, roles=["cs_clerk"])
    await ok(await client.post(f"/api/v1/staff/{mixed['id']}/grants", headers=t["headers"],
                               json={"role": "branch_operator", "org_unit": north["id"]}), 201)

    async def has_button(email: str, member_id: str) -> bool:
        async with browser(app) as c:
            await login(c, t["slug"], email, PASSWORD)
            page = await c.get(f"/club/members/{member_id}")
            assert page.status_code == 200, (email, member_id, page.status_code)
            assert "530102199001010001" not in page.text and CLEAR not in page.text  # masked until asked
            return BUTTON in page.text and f'action="/club/members/{member_id}/id-number"' in page.text

    assert await has_button(t["email"], w["member"]["id"])
    assert await has_button(t["email"], in_south["id"])
    assert not await has_button(t["email"], no_number["id"])  # nothing to reveal
    assert await has_button(operator["email"], in_north["id"])
    assert not await has_button(clerk["email"], w["member"]["id"])
    assert not await has_button(clerk["email"], in_north["id"])
    assert await has_button(mixed["email"], in_north["id"])
    assert not await has_button(mixed["email"], in_south["id"])  # may read, may not manage there


async def test_post_shows_the_number_once_audited_and_never_cached(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t = w["t"]
    mid = w["member"]["id"]
    assert await _reveals(client, t, mid) == []
    async with browser(app) as admin:
        await login(admin, t["slug"], t["email"], PASSWORD)
        page = await admin.get(f"/club/members/{mid}")
        assert MASKED in page.text and CLEAR not in page.text
        r = await _reveal(admin, mid)
        assert r.status_code == 200, r.text
        assert CLEAR in r.text and 'data-testid="id-number-revealed"' in r.text and BUTTON not in r.text
        assert "no-store" in r.headers.get("cache-control", "")
        assert w["card"]["card_no"] in r.text  # the whole member page, not a fragment
        again = await admin.get(f"/club/members/{mid}")
        assert CLEAR not in again.text and MASKED in again.text and BUTTON in again.text
        # without the CSRF token nothing is revealed and nothing recorded
        no_csrf = await admin.post(f"/club/members/{mid}/id-number", data={})
        assert no_csrf.status_code == 403 and CLEAR not in no_csrf.text
        # a GET of the reveal address reveals nothing either
        assert (await admin.get(f"/club/members/{mid}/id-number")).status_code == 405
    entries = await _reveals(client, t, mid)
    assert len(entries) == 1
    me = await ok(await client.get("/api/v1/me", headers=t["headers"]))
    assert (entries[0]["entity_type"], entries[0]["actor_id"]) == ("club_member", me["user"]["id"])
    # the API's reveal leaves the same kind of entry
    assert await ok(await client.get(f"/api/v1/members/{mid}/id-number", headers=t["headers"])) == {
        "id_number": CLEAR}
    entries = await _reveals(client, t, mid)
    assert len(entries) == 2 and {e["action"] for e in entries} == {"club_member.reveal_id"}


async def test_forged_post_without_permission_is_refused(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t = w["t"]
    mid = w["member"]["id"]
    clerk = await staff_with_password(client, t, roles=["cs_clerk"])
    async with browser(app) as c:
        await login(c, t["slug"], clerk["email"], PASSWORD)
        page = await c.get(f"/club/members/{mid}")
        r = await c.post(f"/club/members/{mid}/id-number", data={"_csrf_token": csrf_token(page)})
        assert r.status_code == 403 and CLEAR not in r.text
    assert await _reveals(client, t, mid) == []


async def test_branch_operator_reveals_only_in_his_branch(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t = w["t"]
    cid = w["club"]["id"]
    north, south = await branch(client, t, "BN"), await branch(client, t, "BS")
    mine = await _member(client, t, cid, north["id"], "13900000201", "530102199001010201")
    theirs = await _member(client, t, cid, south["id"], "13900000202", "530102199001010202")
    operator = await staff_with_password(client, t, roles=["branch_operator"], unit=north["id"])
    async with browser(app) as c:
        await login(c, t["slug"], operator["email"], PASSWORD)
        r = await _reveal(c, mine["id"])
        assert r.status_code == 200 and "530102199001010201" in r.text
        token = csrf_token(await c.get(f"/club/members/{mine['id']}"))
        for member_id in (theirs["id"], w["member"]["id"]):  # the south branch; the root unit
            r = await c.post(f"/club/members/{member_id}/id-number", data={"_csrf_token": token})
            assert r.status_code == 404, (member_id, r.status_code)
            assert "530102199001010202" not in r.text and CLEAR not in r.text
    assert len(await _reveals(client, t, mine["id"])) == 1
    assert await _reveals(client, t, theirs["id"]) == []
    assert await _reveals(client, t, w["member"]["id"]) == []


async def test_another_tenants_member_answers_404(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    theirs = w["t"]
    mine = await signup(client)
    async with browser(app) as c:
        await login(c, mine["slug"], mine["email"], PASSWORD)
        token = csrf_token(await c.get("/club/members"))
        r = await c.post(f"/club/members/{w['member']['id']}/id-number", data={"_csrf_token": token})
        assert r.status_code == 404 and CLEAR not in r.text
        assert (await c.post(f"/club/members/{uuid.uuid4()}/id-number",
                             data={"_csrf_token": token})).status_code == 404
    assert await _reveals(client, theirs, w["member"]["id"]) == []
    log = await ok(await client.get("/api/v1/audit", headers=mine["headers"],
                                    params={"action": "club_member.reveal_id"}))
    assert log["total"] == 0
