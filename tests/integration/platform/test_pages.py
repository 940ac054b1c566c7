"""The web pages: sign-up, login and logout through forms, CSRF, the session cookie, permission
guards on the management pages, invitations and the language choice."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import asyncpg
from litestar import Litestar

from careclub.core import redis as redis_mod
from careclub.core.security import digest
from careclub.settings import Settings
from tests.conftest import PASSWORD, signup, unique_slug
from tests.integration.platform.pages import (
    browser,
    csrf_token,
    login,
    session_cookie,
    set_cookie_headers,
    submit,
)

ZH_DASHBOARD = "工作台"


async def page_signup(c: Any, slug: str | None = None) -> dict[str, str]:
    slug = slug or unique_slug("pg")
    form = {"company": f"Company {slug}", "slug": slug, "display_name": "Ada", "email": f"ada@{slug}.test",
            "password": PASSWORD}
    r = await submit(c, "/signup", **form)
    assert r.status_code == 303, r.text[:800]
    assert r.headers["location"] == "/dashboard"
    return form


async def test_signup_login_logout_through_the_forms(app: Litestar, client: Any) -> None:
    async with browser(app) as c:
        form = await page_signup(c)
        first = session_cookie(c)
        assert first
        dash = await c.get("/dashboard")
        assert dash.status_code == 200
        assert f"Company {form['slug']}" in dash.text

        out = await submit(c, "/dashboard", "/logout")
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert session_cookie(c) is None
        assert (await c.get("/dashboard")).status_code in (302, 303)

        # the old cookie, replayed, no longer authenticates
        async with browser(app) as thief:
            thief.cookies.set("cc_session", first)
            r = await thief.get("/dashboard")
            assert r.status_code in (302, 303) and r.headers["location"].startswith("/login")

        await login(c, form["slug"], form["email"], PASSWORD)
        assert (await c.get("/dashboard")).status_code == 200


async def test_signup_form_keeps_input_and_shows_the_error_inline(app: Litestar, client: Any) -> None:
    async with browser(app) as c:
        r = await submit(c, "/signup", company="Acme", slug="Bad Slug", display_name="Bo", email="bo@acme.test",
                         password=PASSWORD)
        assert r.status_code == 422
        assert 'value="Acme"' in r.text and 'value="bo@acme.test"' in r.text
        assert 'id="e-slug"' in r.text
        assert PASSWORD not in r.text


async def test_wrong_password_on_the_login_page_is_401_with_the_form(app: Litestar, client: Any) -> None:
    t = await signup(client)
    async with browser(app) as c:
        r = await submit(c, "/login", tenant=t["slug"], email=t["email"], password="not-the-password")
        assert r.status_code == 401
        assert 'role="alert"' in r.text and t["email"] in r.text
        assert session_cookie(c) is None


async def test_post_without_or_with_a_wrong_csrf_token_is_refused(app: Litestar, client: Any) -> None:
    slug = unique_slug("csrf")
    body = {"company": "C", "slug": slug, "email": f"a@{slug}.test", "password": PASSWORD}
    async with browser(app) as c:
        await c.get("/signup")  # the CSRF cookie is set
        assert c.cookies.get("cc_csrf")
        missing = await c.post("/signup", data=body)
        assert missing.status_code == 403
        wrong = await c.post("/signup", data={**body, "_csrf_token": "x" * 64})
        assert wrong.status_code == 403
        header_wrong = await c.post("/signup", data=body, headers={"x-csrftoken": "y" * 64})
        assert header_wrong.status_code == 403
        assert session_cookie(c) is None
    async with browser(app) as fresh:  # a token without the cookie it belongs to
        page = await fresh.get("/signup")
        token = csrf_token(page)
        fresh.cookies.delete("cc_csrf")
        r = await fresh.post("/signup", data={**body, "_csrf_token": token})
        assert r.status_code == 403
    # nothing was written: the slug is still free
    assert (await client.post("/api/v1/signup", json=body)).status_code == 201


async def test_signed_in_form_without_csrf_writes_nothing(app: Litestar, client: Any) -> None:
    async with browser(app) as c:
        form = await page_signup(c)
        units = await c.get("/org")
        root = units.text.split('name="parent_id"', 1)[1].split('value="', 2)[1].split('"', 1)[0]
        r = await c.post("/org", data={"parent_id": root, "code": "NOCSRF", "name": "No", "kind": "branch"})
        assert r.status_code == 403
        assert "NOCSRF" not in (await c.get("/org")).text
        ok = await submit(c, "/org", parent_id=root, code="WITHCSRF", name="Yes", kind="branch")
        assert ok.status_code == 303
        assert "WITHCSRF" in (await c.get("/org")).text
        assert form["slug"]


async def test_session_cookie_flags(app: Litestar, client: Any, settings: Settings, infra: Any) -> None:
    async with browser(app) as c:
        page = await c.get("/signup")
        slug = unique_slug("ck")
        r = await c.post("/signup", data={"_csrf_token": csrf_token(page), "company": "C", "slug": slug,
                                          "email": f"a@{slug}.test", "password": PASSWORD})
        assert r.status_code == 303
        (cookie,) = set_cookie_headers(r, "cc_session")
        flags = cookie.lower()
        assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
        assert "secure" not in flags

    from careclub.app import create_app

    secure_app = create_app(dataclasses.replace(settings, cookie_secure=True), infra)
    async with browser(secure_app, base_url="https://testserver.local") as c:
        page = await c.get("/signup")
        assert any("secure" in h.lower() for h in set_cookie_headers(page, "cc_csrf"))
        slug = unique_slug("ck")
        r = await c.post("/signup", data={"_csrf_token": csrf_token(page), "company": "C", "slug": slug,
                                          "email": f"a@{slug}.test", "password": PASSWORD})
        assert r.status_code == 303, r.text[:500]
        (cookie,) = set_cookie_headers(r, "cc_session")
        assert "secure" in cookie.lower().split("; ")
        assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()


async def test_login_renews_the_session_id(app: Litestar, client: Any) -> None:
    async with browser(app) as c:
        form = await page_signup(c)
        before = session_cookie(c)
        assert before
        await login(c, form["slug"], form["email"], PASSWORD)
        after = session_cookie(c)
        assert after and after != before
        assert await redis_mod.redis().exists(f"sess:{digest(before)}") == 0
        assert (await c.get("/dashboard")).status_code == 200
    async with browser(app) as other:
        other.cookies.set("cc_session", before)
        assert (await other.get("/dashboard")).status_code in (302, 303)


async def test_a_planted_session_cookie_is_replaced_at_login(app: Litestar, client: Any) -> None:
    t = await signup(client)
    async with browser(app) as c:
        c.cookies.set("cc_session", "planted-by-an-attacker", domain="testserver.local")
        await login(c, t["slug"], t["email"], PASSWORD)
        assert session_cookie(c) not in (None, "planted-by-an-attacker")
        assert (await c.get("/dashboard")).status_code == 200


async def test_idle_timeout_ends_the_session_and_use_refreshes_it(app: Litestar, client: Any,
                                                                    settings: Settings) -> None:
    r = redis_mod.redis()
    async with browser(app) as c:
        await page_signup(c)
        key = f"sess:{digest(session_cookie(c) or '')}"
        await r.expire(key, 100)
        assert (await c.get("/dashboard")).status_code == 200
        assert await r.ttl(key) > 100  # each request pushes the idle deadline out again
        assert await r.ttl(key) <= settings.session_idle_minutes * 60
        await r.delete(key)  # what Redis does when the idle TTL runs out
        gone = await c.get("/dashboard")
        assert gone.status_code in (302, 303) and gone.headers["location"].startswith("/login")


async def test_absolute_timeout_ends_an_active_session(app: Litestar, client: Any, settings: Settings) -> None:
    r = redis_mod.redis()
    async with browser(app) as c:
        await page_signup(c)
        key = f"sess:{digest(session_cookie(c) or '')}"
        assert (await c.get("/dashboard")).status_code == 200
        logged_in_at = time.time() - settings.session_absolute_hours * 3600 - 5
        await r.hset(key, "c", f"{logged_in_at:.3f}")
        gone = await c.get("/dashboard")
        assert gone.status_code in (302, 303)
        assert await r.exists(key) == 0


# ---- permission guards ---------------------------------------------------------------------

async def _root_id(client: Any, t: dict[str, Any]) -> str:
    units = (await client.get("/api/v1/org-units", headers=t["headers"])).json()["items"]
    return str(next(u["id"] for u in units if u["parent"] is None))


async def _unit(client: Any, t: dict[str, Any], parent: str, code: str, kind: str = "branch") -> str:
    r = await client.post("/api/v1/org-units", headers=t["headers"],
                          json={"code": code, "name": f"Unit {code}", "kind": kind, "parent_id": parent})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _person(client: Any, t: dict[str, Any], unit: str, name: str, roles: list[str]) -> dict[str, Any]:
    email = f"{name}@{t['slug']}.test"
    r = await client.post("/api/v1/staff", headers=t["headers"],
                          json={"email": email, "display_name": name, "org_unit": unit, "roles": roles,
                                "password": PASSWORD})
    assert r.status_code == 201, r.text
    return {"id": str(r.json()["id"]), "email": email}


async def test_merchant_operator_cannot_open_management_pages(app: Litestar, client: Any) -> None:
    t = await signup(client)
    root = await _root_id(client, t)
    op = await _person(client, t, root, "scanner", ["merchant_operator"])
    async with browser(app) as c:
        await login(c, t["slug"], op["email"], PASSWORD)
        for path in ("/staff", "/org", "/roles", "/audit", "/staff/new", "/staff/invite"):
            r = await c.get(path)
            assert r.status_code == 403, (path, r.status_code)
        nav = (await c.get("/dashboard")).text
        assert 'href="/staff"' not in nav and 'href="/audit"' not in nav
        assert (await c.get("/tokens")).status_code == 200


async def test_branch_operator_sees_only_his_branch(app: Litestar, client: Any) -> None:
    t = await signup(client)
    root = await _root_id(client, t)
    a, b = await _unit(client, t, root, "BR-A"), await _unit(client, t, root, "BR-B")
    operator = await _person(client, t, a, "opa", ["branch_operator"])
    in_a = await _person(client, t, a, "alice", [])
    in_b = await _person(client, t, b, "bob", [])
    async with browser(app) as c:
        await login(c, t["slug"], operator["email"], PASSWORD)
        listing = await c.get("/staff")
        assert listing.status_code == 200
        assert in_a["email"] in listing.text
        assert in_b["email"] not in listing.text
        assert t["email"] not in listing.text  # the admin sits at the root, outside branch A
        assert (await c.get(f"/staff/{in_a['id']}")).status_code == 200
        assert (await c.get(f"/staff/{in_b['id']}")).status_code == 404
        org = await c.get("/org")
        assert "Unit BR-A" in org.text and "Unit BR-B" not in org.text
        assert (await c.get(f"/org/{b}")).status_code == 404
        # reading is not managing: the branch operator may not edit people
        edit = await submit(c, f"/staff/{in_a['id']}", display_name="Mallory", org_unit=a)
        assert edit.status_code == 403


async def test_admin_pages_render_and_work(app: Litestar, client: Any) -> None:
    async with browser(app) as c:
        form = await page_signup(c)
        for path in ("/org", "/staff", "/staff/new", "/staff/invite", "/roles", "/audit", "/tokens"):
            r = await c.get(path)
            assert r.status_code == 200, (path, r.text[:500])
        org = await c.get("/org")
        root = org.text.split('name="parent_id"', 1)[1].split('value="', 2)[1].split('"', 1)[0]
        bad = await submit(c, "/org", parent_id=root, code="bad code!", name="Branch East", kind="branch")
        assert bad.status_code == 422 and 'value="Branch East"' in bad.text and 'id="e-code"' in bad.text
        created = await submit(c, "/org", parent_id=root, code="EAST", name="Branch East", kind="branch")
        assert created.status_code == 303
        staff_new = await submit(c, "/staff/new", display_name="Carol", email=f"carol@{form['slug']}.test",
                                 kind="staff", org_unit=root, role="finance", password="")
        assert staff_new.status_code == 303
        person = await c.get(staff_new.headers["location"])
        assert person.status_code == 200 and f"carol@{form['slug']}.test" in person.text
        listing = await c.get("/staff", params={"q": "carol"})
        assert "Carol" in listing.text and "Ada" not in listing.text
        assert "共 1 人" in listing.text  # the page is in the tenant's language, plural forms included
        role = await submit(c, "/roles", code="gatekeeper", name="Gatekeeper", description="",
                            **{"perm:checkins.scan": "on", "perm:members.read": "on"})
        assert role.status_code == 303
        roles = await c.get("/roles")
        assert "Gatekeeper" in roles.text
        tok = await submit(c, "/tokens", name="front gate", kind="scanner", hours="")
        assert tok.status_code == 201 and 'id="new-token"' in tok.text
        shown = tok.text.split('id="new-token"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
        assert shown.startswith("cc_")
        assert shown not in (await c.get("/tokens")).text  # shown exactly once
        audit = await c.get("/audit", params={"action": "org_unit."})
        assert "org_unit.create" in audit.text and "EAST" in audit.text and "user.create" not in audit.text
        bad_date = await c.get("/audit", params={"since": "yesterday"})
        assert bad_date.status_code == 422 and 'id="e-since"' in bad_date.text


# ---- invitations ---------------------------------------------------------------------------

async def _invite(client: Any, t: dict[str, Any], email: str) -> str:
    root = await _root_id(client, t)
    r = await client.post("/api/v1/invites", headers=t["headers"],
                          json={"email": email, "role": "cs_clerk", "org_unit": root})
    assert r.status_code == 201, r.text
    return str(r.json()["url"]).split("testserver.local", 1)[1]


async def test_expired_invitation_says_so_with_410(app: Litestar, client: Any,
                                                    owner: asyncpg.Connection) -> None:
    t = await signup(client)
    email = f"late@{t['slug']}.test"
    path = await _invite(client, t, email)
    async with owner.transaction():  # RLS is forced even for the owner: name the tenant
        await owner.execute("SELECT set_config('app.tenant_id', $1, true)", t["tenant_id"])
        await owner.execute("UPDATE invite SET expires_at = now() - interval '1 minute' WHERE email = $1", email)
    async with browser(app, headers={"Accept-Language": "en"}) as c:
        r = await c.get(path)
        assert r.status_code == 410
        assert "expired" in r.text
        post = await c.post(path, data={"_csrf_token": csrf_token(r), "display_name": "Late", "password": PASSWORD,
                                        "password2": PASSWORD})
        assert post.status_code == 410
        assert session_cookie(c) is None
    async with browser(app) as c:
        r = await c.get(path)
        assert r.status_code == 410 and "已过期" in r.text


async def test_accepting_an_invitation_creates_the_account_and_signs_in_once(app: Litestar, client: Any) -> None:
    t = await signup(client)
    email = f"new@{t['slug']}.test"
    path = await _invite(client, t, email)
    async with browser(app, headers={"Accept-Language": "en"}) as c:
        mismatch = await submit(c, path, display_name="Nina", password=PASSWORD, password2=PASSWORD + "x")
        assert mismatch.status_code == 422 and 'value="Nina"' in mismatch.text
        r = await submit(c, path, display_name="Nina", password=PASSWORD, password2=PASSWORD)
        assert r.status_code == 303 and r.headers["location"] == "/dashboard"
        assert session_cookie(c)
        dash = await c.get("/dashboard")
        assert dash.status_code == 200 and "Nina" in dash.text
    async with browser(app, headers={"Accept-Language": "en"}) as c:
        again = await c.get(path)
        assert again.status_code == 409 and "used already" in again.text
        post = await c.post(path, data={"_csrf_token": csrf_token(again), "display_name": "Eve",
                                        "password": PASSWORD, "password2": PASSWORD})
        assert post.status_code == 409
    async with browser(app, headers={"Accept-Language": "en"}) as c:
        r = await c.get(f"/invite/{t['slug']}/not-a-real-token")
        assert r.status_code == 404 and "not valid" in r.text
    login_ok = await client.post("/api/v1/auth/token", json={"tenant": t["slug"], "email": email,
                                                             "password": PASSWORD})
    assert login_ok.status_code == 200


async def test_invite_page_shows_the_one_time_link(app: Litestar, client: Any) -> None:
    async with browser(app) as c:
        form = await page_signup(c)
        page = await c.get("/staff/invite")
        root = page.text.split('name="org_unit"', 1)[1].split('value="', 2)[1].split('"', 1)[0]
        r = await submit(c, "/staff/invite", email=f"dan@{form['slug']}.test", display_name="Dan", role="approver",
                         org_unit=root)
        assert r.status_code == 201
        link = r.text.split('id="invite-link"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
        assert f"/invite/{form['slug']}/" in link
        async with browser(app) as guest:
            accept = await guest.get(link.split("testserver.local", 1)[1])
            assert accept.status_code == 200 and f"dan@{form['slug']}.test" in accept.text


# ---- language ------------------------------------------------------------------------------

async def test_dashboard_is_chinese_by_default_and_english_when_chosen(app: Litestar, client: Any) -> None:
    async with browser(app) as c:
        form = await page_signup(c)
        dash = await c.get("/dashboard")
        assert '<html lang="zh-CN">' in dash.text and ZH_DASHBOARD in dash.text
        r = await c.post("/lang", data={"_csrf_token": csrf_token(dash), "lang": "en", "next": "/dashboard"})
        assert r.status_code == 303 and r.headers["location"] == "/dashboard"
        en = await c.get("/dashboard")
        assert '<html lang="en">' in en.text and "Dashboard" in en.text and ZH_DASHBOARD not in en.text
        # the choice belongs to the person: another browser (no language cookie) shows English too
        async with browser(app) as other:
            await login(other, form["slug"], form["email"], PASSWORD)
            assert '<html lang="en">' in (await other.get("/dashboard")).text
        back = await c.post("/lang", data={"_csrf_token": csrf_token(en), "lang": "zh_CN", "next": "/dashboard"})
        assert back.status_code == 303
        assert ZH_DASHBOARD in (await c.get("/dashboard")).text


async def test_accept_language_on_anonymous_pages(app: Litestar, client: Any) -> None:
    async with browser(app, headers={"Accept-Language": "en-US,en;q=0.9"}) as c:
        r = await c.get("/login")
        assert '<html lang="en">' in r.text and "Sign in" in r.text
    async with browser(app) as c:
        r = await c.get("/login")
        assert '<html lang="zh-CN">' in r.text and "登录" in r.text
    async with browser(app, headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}) as c:
        assert "登录" in (await c.get("/login")).text
