"""A member enrolled by staff gets an account of their own: an invitation made with the enrolment (or
later, from the member's page) shows a one-use, expiring link and its QR code, is mailed when an address
is given, and accepting it sets a password and lands on the member's card. One account per invitation,
however many accept it at once; no invitation reaches across branches or companies."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from typing import Any

import asyncpg
import httpx
from litestar import Litestar

from careclub.core.security import digest
from tests.conftest import PASSWORD, signup
from tests.integration.clubs.helpers import as_owner, ok, root_unit
from tests.integration.platform.pages import browser, csrf_token, login, session_cookie, submit

LINK = re.compile(r'id="invitation-link"[^>]*value="([^"]+)"')


def link_on(page: httpx.Response) -> str:
    """The invitation's path, as the page shows it (once)."""
    found = LINK.search(page.text)
    assert found, page.text[:2000]
    return html.unescape(found.group(1)).split("testserver.local", 1)[1]


async def _club(client: Any, t: dict[str, Any]) -> dict[str, Any]:
    h = t["headers"]
    club = await ok(await client.post("/api/v1/clubs", headers=h, json={
        "code": "car", "name": "Car club", "card_prefix": "M" + uuid.uuid4().hex[:3].upper() + "-"}), 201)
    plan = await ok(await client.post(f"/api/v1/clubs/{club['id']}/plans", headers=h, json={
        "code": "free", "name": "Free card"}), 201)
    return {"club": club, "plan": plan, "root": (await root_unit(client, t))["id"]}


async def _enrol(c: httpx.AsyncClient, w: dict[str, Any], name: str, phone: str, **extra: str) -> httpx.Response:
    return await submit(c, "/club/members/new", "/club/members/new", plan=w["plan"]["id"], name=name, phone=phone,
                        org_unit=w["root"], **extra)


async def _member_id(client: Any, t: dict[str, Any], name: str) -> str:
    rows = (await client.get("/api/v1/members", headers=t["headers"], params={"q": name})).json()["items"]
    assert len(rows) == 1, rows
    return str(rows[0]["id"])


async def _mails(owner: asyncpg.Connection, t: dict[str, Any], email: str) -> list[Any]:
    return await as_owner(owner, t["tenant_id"], "SELECT subject, body FROM outbox_email WHERE to_email = $1", email)


async def test_enrolment_with_an_address_shows_the_link_and_mails_it(app: Litestar, client: Any,
                                                                     owner: asyncpg.Connection) -> None:
    t = await signup(client)
    w = await _club(client, t)
    email = f"lin@{t['slug']}.test"
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        form = await c.get("/club/members/new")
        assert 'name="invite" data-testid="invite-box" checked' in form.text and 'name="invite_email"' in form.text
        r = await _enrol(c, w, "林小姐", "13900000001", invite="on", invite_email=email)
        assert r.status_code == 201, r.text[:500]
        assert "The member is enrolled." in r.text
        path = link_on(r)
        assert path.startswith(f"/welcome/{t['slug']}/")
        qr = r.text.split('data-testid="invitation-qr">', 1)[1].split("</div>", 1)[0]
        assert qr.startswith("<svg") and "<path" in qr  # drawn inline: no script, no style, no data: URL
        assert f"is on its way to {email}" in r.text or f"the email to {email} waits in the outbox" in r.text
        assert "no-store" in r.headers.get("cache-control", "")
        # the link goes out by mail (the outbox here) and is stored only as its hash
        mails = await _mails(owner, t, email)
        assert len(mails) == 1 and "Car club" in mails[0]["body"]
        assert f"http://testserver.local{path}" in mails[0]["body"]
        secret = path.rsplit("/", 1)[1]
        hashes = await as_owner(owner, t["tenant_id"], "SELECT token_hash FROM invite WHERE email = $1", email)
        assert [h["token_hash"] for h in hashes] == [digest(secret)]
        # the member's page, opened later, says an invitation is open but never shows the link again
        member = await c.get(f"/club/members/{await _member_id(client, t, '林小姐')}")
        assert 'data-testid="open-invite"' in member.text and email in member.text
        assert secret not in member.text and 'data-testid="invitation"' not in member.text


async def test_accepting_creates_the_member_account_and_shows_the_card(app: Litestar, client: Any,
                                                                       owner: asyncpg.Connection) -> None:
    t = await signup(client)
    w = await _club(client, t)
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        r = await _enrol(c, w, "周先生", "13900000002", invite="on")  # no address: print or send the link
        assert r.status_code == 201
        path = link_on(r)
        assert 'data-testid="invitation-mailed"' not in r.text
    member_id = await _member_id(client, t, "周先生")
    email = f"zhou@{t['slug']}.test"
    async with browser(app, lang="en") as m:
        page = await m.get(path)
        assert page.status_code == 200 and "周先生" in page.text and 'name="email"' in page.text
        assert t["slug"] in page.text  # how to sign in later
        bad = await m.post(path, data={"_csrf_token": csrf_token(page), "email": "nope", "password": "short",
                                       "password2": "other"})
        assert bad.status_code == 422
        assert 'id="e-email"' in bad.text and 'id="e-password"' in bad.text  # every problem at once
        done = await m.post(path, data={"_csrf_token": csrf_token(page), "email": email, "password": PASSWORD,
                                        "password2": PASSWORD})
        assert done.status_code == 303 and done.headers["location"] == "/club/card"
        assert session_cookie(m)
        card = await m.get("/club/card")
        assert card.status_code == 200 and 'data-testid="qr"' in card.text
        assert 'href="/tokens"' not in card.text and 'href="/dashboard"' not in card.text
    # the member record now has the account; the account is a member's
    member = (await client.get(f"/api/v1/members/{member_id}", headers=t["headers"])).json()
    users = await as_owner(owner, t["tenant_id"], "SELECT id, kind FROM app_user WHERE email = $1", email)
    assert len(users) == 1 and users[0]["kind"] == "member" and str(users[0]["id"]) == str(member["user"])
    login_ok = await client.post("/api/v1/auth/token", json={"tenant": t["slug"], "email": email,
                                                             "password": PASSWORD})
    assert login_ok.status_code == 200
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        page = await c.get(f"/club/members/{member_id}")
        assert f"Signs in as {email}" in page.text and 'data-testid="invite-form"' not in page.text
        again = await submit(c, f"/club/members/{member_id}", f"/club/members/{member_id}/invite")
        assert again.status_code == 409
    async with browser(app, lang="en") as m:
        used = await m.get(path)
        assert used.status_code == 409 and "used already" in used.text


async def test_a_taken_address_is_refused_on_the_enrol_form_and_nothing_is_written(app: Litestar,
                                                                                  client: Any) -> None:
    t = await signup(client)
    w = await _club(client, t)
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        r = await _enrol(c, w, "重复地址", "13900000003", invite="on", invite_email=t["email"])
        assert r.status_code == 409 and 'id="e-invite_email"' in r.text and "重复地址" in r.text
        r = await _enrol(c, w, "坏地址", "13900000004", invite="on", invite_email="not an address")
        assert r.status_code == 422 and 'id="e-invite_email"' in r.text
        # without the box ticked: enrolled as before, no invitation
        r = await _enrol(c, w, "不邀请", "13900000005")
        assert r.status_code == 303 and "done=enrolled" in r.headers["location"]
    names = {m["name"] for m in (await client.get("/api/v1/members", headers=t["headers"])).json()["items"]}
    assert names == {"不邀请"}


async def test_a_new_link_from_the_member_page_voids_the_old_one(app: Litestar, client: Any) -> None:
    t = await signup(client)
    w = await _club(client, t)
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        r = await _enrol(c, w, "吴女士", "13900000006")
        assert r.status_code == 303
        member_id = await _member_id(client, t, "吴女士")
        page = await c.get(f"/club/members/{member_id}")
        assert 'data-testid="no-account"' in page.text and 'data-testid="invite-form"' in page.text
        first = await submit(c, f"/club/members/{member_id}", f"/club/members/{member_id}/invite")
        assert first.status_code == 201
        bad = await submit(c, f"/club/members/{member_id}", f"/club/members/{member_id}/invite",
                           invite_email="bad@")
        assert bad.status_code == 422 and 'id="e-invite_email"' in bad.text and 'value="bad@"' in bad.text
        second = await submit(c, f"/club/members/{member_id}", f"/club/members/{member_id}/invite")
        assert second.status_code == 201
    async with browser(app, lang="en") as m:
        assert (await m.get(link_on(first))).status_code == 410  # replaced
        assert (await m.get(link_on(second))).status_code == 200


async def test_concurrent_accepts_make_exactly_one_account(app: Litestar, client: Any,
                                                           owner: asyncpg.Connection) -> None:
    t = await signup(client)
    w = await _club(client, t)
    email = f"race@{t['slug']}.test"
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        path = link_on(await _enrol(c, w, "赛跑者", "13900000007", invite="on", invite_email=email))
    member_id = await _member_id(client, t, "赛跑者")

    async def accept(i: int) -> tuple[int, bool]:
        async with browser(app) as m:
            page = await m.get(path)
            if page.status_code != 200:
                return page.status_code, False
            r = await m.post(path, data={"_csrf_token": csrf_token(page), "password": PASSWORD,
                                         "password2": PASSWORD})
            return r.status_code, session_cookie(m) is not None

    results = await asyncio.gather(*(accept(i) for i in range(8)))
    assert [code for code, _ in results].count(303) == 1, results
    assert all(code in (303, 409) for code, _ in results), results
    assert [signed_in for code, signed_in in results if code == 303] == [True]
    users = await as_owner(owner, t["tenant_id"], "SELECT id FROM app_user WHERE email = $1", email)
    assert len(users) == 1
    linked = await as_owner(owner, t["tenant_id"], 'SELECT "user" FROM club_member WHERE id = $1',
                            uuid.UUID(member_id))
    assert linked[0]["user"] == users[0]["id"]


async def test_invitations_stay_in_their_branch_and_company(app: Litestar, client: Any) -> None:
    a, b = await signup(client), await signup(client)
    wa = await _club(client, a)
    await _club(client, b)
    north = await ok(await client.post("/api/v1/org-units", headers=a["headers"], json={
        "code": "N", "name": "North", "parent_id": wa["root"], "kind": "branch"}), 201)
    south = await ok(await client.post("/api/v1/org-units", headers=a["headers"], json={
        "code": "S", "name": "South", "parent_id": wa["root"], "kind": "branch"}), 201)
    theirs = await ok(await client.post("/api/v1/members", headers=a["headers"], json={
        "club_id": wa["club"]["id"], "name": "南方会员", "phone": "13900000008", "org_unit": south["id"]}), 201)
    for who, unit, roles in (("north", north["id"], ["branch_operator"]), ("reader", wa["root"], ["cs_clerk"])):
        await ok(await client.post("/api/v1/staff", headers=a["headers"], json={
            "email": f"{who}@{a['slug']}.test", "display_name": who, "org_unit": unit, "roles": roles,
            "password": PASSWORD}), 201)
    path = None
    async with browser(app, lang="en") as c:
        await login(c, a["slug"], a["email"], PASSWORD)
        path = link_on(await submit(c, f"/club/members/{theirs['id']}", f"/club/members/{theirs['id']}/invite"))
    # a branch operator of another branch: the member is not there for him
    async with browser(app, lang="en") as c:
        await login(c, a["slug"], f"north@{a['slug']}.test", PASSWORD)
        own = await c.get("/club/members/new")
        r = await c.post(f"/club/members/{theirs['id']}/invite", data={"_csrf_token": csrf_token(own)})
        assert r.status_code == 404
    # who only reads members sees the member's account state but may not invite
    async with browser(app, lang="en") as c:
        await login(c, a["slug"], f"reader@{a['slug']}.test", PASSWORD)
        page = await c.get(f"/club/members/{theirs['id']}")
        assert page.status_code == 200 and 'data-testid="invite-form"' not in page.text
        r = await c.post(f"/club/members/{theirs['id']}/invite", data={"_csrf_token": csrf_token(page)})
        assert r.status_code == 403
    # another company: neither the member nor the link exists there
    async with browser(app, lang="en") as c:
        await login(c, b["slug"], b["email"], PASSWORD)
        page = await c.get("/club/members/new")
        r = await c.post(f"/club/members/{theirs['id']}/invite", data={"_csrf_token": csrf_token(page)})
        assert r.status_code == 404
    token = path.rsplit("/", 1)[1]
    async with browser(app, lang="en") as m:
        assert (await m.get(f"/welcome/{b['slug']}/{token}")).status_code == 404
        # nor does the staff invitation page take a member's link
        assert (await m.get(f"/invite/{a['slug']}/{token}")).status_code == 404
        assert (await m.get(path)).status_code == 200
