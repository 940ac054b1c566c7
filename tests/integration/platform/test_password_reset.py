"""Forgotten passwords: "Forgot password?" on the sign-in page, a form that answers the same whether or
not the address is registered, rate limits per address and per client, a one-use link by mail (the
outbox here) stored only as a hash, the same password rules as sign-up, the reset signing the person in
and ending their other sessions, an audit entry, and one reset for concurrent uses of one link."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
from litestar import Litestar
from markupsafe import escape

from careclub.core import i18n
from careclub.core.security import digest
from tests.conftest import PASSWORD, signup
from tests.integration.platform.pages import _served_as_html, csrf_token, session_cookie, submit

NEW_PASSWORD = "a-brand-new-passphrase-42"
LINK = re.compile(r"http://testserver\.local(/password/reset/[^\s]+)")


def some_address() -> str:
    """A client address of the test's own: the per-address limits count by it, across test runs."""
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


@asynccontextmanager
async def visitor(app: Litestar, address: str | None = None, lang: str = "en") -> AsyncIterator[httpx.AsyncClient]:
    """A browser of its own (cookies) coming from `address`, reading `lang`."""
    transport = httpx.ASGITransport(app=app, client=(address or some_address(), 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local",
                                 headers={"Accept": "text/html,*/*;q=0.8", "Accept-Language": lang},
                                 event_hooks={"response": [_served_as_html]}) as c:
        yield c


async def as_tenant(owner: asyncpg.Connection, tenant_id: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    async with owner.transaction():  # RLS is forced even for the owner: name the tenant
        await owner.execute("SELECT set_config('app.tenant_id', $1, true)", tenant_id)
        return await owner.fetch(sql, *args)


async def mails_to(owner: asyncpg.Connection, t: dict[str, Any], email: str) -> list[asyncpg.Record]:
    return await as_tenant(owner, t["tenant_id"], "SELECT subject, body FROM outbox_email WHERE to_email = $1 "
                                                  "ORDER BY created_at", email)


async def ask_for_link(app: Litestar, t: dict[str, Any], email: str, *, address: str | None = None,
                       lang: str = "en") -> httpx.Response:
    async with visitor(app, address, lang) as c:
        return await submit(c, f"/password/forgot?tenant={t['slug']}", "/password/forgot", tenant=t["slug"],
                            email=email)


async def reset_link(app: Litestar, owner: asyncpg.Connection, t: dict[str, Any], email: str) -> str:
    r = await ask_for_link(app, t, email)
    assert r.status_code == 200, r.text[:500]
    mails = await mails_to(owner, t, email)
    found = LINK.search(mails[-1]["body"])
    assert found, mails[-1]["body"]
    return found.group(1)


async def test_the_login_page_links_to_the_form(app: Litestar) -> None:
    async with visitor(app) as c:
        page = await c.get("/login", params={"tenant": "acme-co"})
        assert 'href="/password/forgot?tenant=acme-co"' in page.text and "Forgot password?" in page.text
        form = await c.get("/password/forgot", params={"tenant": "acme-co"})
        assert form.status_code == 200 and 'value="acme-co"' in form.text
    async with visitor(app, lang="zh-CN") as c:
        assert (await c.get("/password/forgot")).status_code == 200


async def test_the_answer_is_the_same_whether_or_not_the_address_is_registered(
        app: Litestar, client: Any, owner: asyncpg.Connection) -> None:
    t = await signup(client)
    answers = []
    for slug, email in ((t["slug"], t["email"]), (t["slug"], f"nobody@{t['slug']}.test"),
                        ("no-such-company-xyz", t["email"])):
        async with visitor(app) as c:
            r = await submit(c, "/password/forgot", tenant=slug, email=email)
        assert r.status_code == 200, r.text[:300]
        answers.append(r.text.split('id="reset-sent"', 1)[1].split("</div>", 1)[0])
        assert slug not in r.text.split('id="reset-sent"', 1)[1].split("</section>", 1)[0].replace(
            f"tenant={slug}", "")  # nothing said about the company or the address, beyond the form's own link
    assert answers[0] == answers[1] == answers[2]
    assert "If the address is registered" in answers[0]
    # only the registered address got a mail, with a link whose secret is stored only as its hash
    assert await mails_to(owner, t, f"nobody@{t['slug']}.test") == []
    mails = await mails_to(owner, t, t["email"])
    # written in the person's language (the company's default here, Chinese)
    subject = i18n.translate("zh_CN", "Reset your password at %(company)s") % {"company": f"Company {t['slug']}"}
    assert len(mails) == 1 and mails[0]["subject"] == subject
    secret = LINK.search(mails[0]["body"]).group(1).rsplit("/", 1)[1]  # type: ignore[union-attr]
    rows = await as_tenant(owner, t["tenant_id"], "SELECT token_hash, expires_at - created_at AS valid "
                                                  "FROM password_reset")
    assert [r["token_hash"] for r in rows] == [digest(secret)]
    assert 3590 <= rows[0]["valid"].total_seconds() <= 3610  # an hour
    dump = await as_tenant(owner, t["tenant_id"], "SELECT row_to_json(p)::text AS j FROM password_reset p")
    assert secret not in dump[0]["j"]
    audit = await as_tenant(owner, t["tenant_id"], "SELECT count(*) AS n FROM audit_entry "
                                                   "WHERE action = 'auth.password_reset_requested'")
    assert audit[0]["n"] == 1


async def test_the_form_names_missing_and_malformed_fields(app: Litestar) -> None:
    async with visitor(app) as c:
        r = await submit(c, "/password/forgot", tenant="", email="")
        assert r.status_code == 422
        assert 'id="e-tenant"' in r.text and 'id="e-email"' in r.text
        r = await submit(c, "/password/forgot", tenant="acme", email="not-an-address")
        assert r.status_code == 422 and 'id="e-email"' in r.text and 'value="acme"' in r.text


async def test_a_reset_sets_the_password_signs_in_and_ends_the_other_sessions(
        app: Litestar, client: Any, owner: asyncpg.Connection) -> None:
    t = await signup(client)
    async with visitor(app) as elsewhere:  # signed in on another device
        r = await submit(elsewhere, "/login", tenant=t["slug"], email=t["email"], password=PASSWORD)
        assert r.status_code == 303
        assert (await elsewhere.get("/dashboard")).status_code == 200
        path = await reset_link(app, owner, t, t["email"])
        async with visitor(app) as c:
            form = await c.get(path)
            assert form.status_code == 200 and t["email"] in form.text
            assert "no-store" in form.headers.get("cache-control", "")
            for password, again, field in (("short", "short", "password"),
                                           ("1234567890", "1234567890", "password"),
                                           (NEW_PASSWORD, NEW_PASSWORD + "x", "password2")):
                bad = await c.post(path, data={"_csrf_token": csrf_token(form), "password": password,
                                               "password2": again})
                assert bad.status_code == 422 and f'id="e-{field}"' in bad.text, (password, bad.text[:300])
            done = await c.post(path, data={"_csrf_token": csrf_token(form), "password": NEW_PASSWORD,
                                            "password2": NEW_PASSWORD})
            assert done.status_code == 303 and done.headers["location"] == "/dashboard"
            assert session_cookie(c)
            assert (await c.get("/dashboard")).status_code == 200
        # the other device's session is over
        gone = await elsewhere.get("/dashboard")
        assert gone.status_code in (302, 303) and gone.headers["location"].startswith("/login")
    # the link is spent; the old password no longer works, the new one does
    async with visitor(app) as c:
        spent = await c.get(path)
        assert spent.status_code == 409 and "used already" in spent.text
    old = await client.post("/api/v1/auth/token", json={"tenant": t["slug"], "email": t["email"],
                                                        "password": PASSWORD})
    assert old.status_code == 401
    new = await client.post("/api/v1/auth/token", json={"tenant": t["slug"], "email": t["email"],
                                                        "password": NEW_PASSWORD})
    assert new.status_code == 200
    audit = await as_tenant(owner, t["tenant_id"], "SELECT actor_name, entity_id FROM audit_entry "
                                                   "WHERE action = 'auth.password_reset'")
    assert len(audit) == 1 and audit[0]["actor_name"] == t["email"]


async def test_a_new_password_voids_the_other_links(app: Litestar, client: Any, owner: asyncpg.Connection) -> None:
    t = await signup(client)
    first = await reset_link(app, owner, t, t["email"])
    second = await reset_link(app, owner, t, t["email"])
    async with visitor(app) as c:
        assert (await submit(c, second, password=NEW_PASSWORD, password2=NEW_PASSWORD)).status_code == 303
    async with visitor(app) as c:
        assert (await c.get(first)).status_code == 409


async def test_unknown_and_expired_links_say_so(app: Litestar, client: Any, owner: asyncpg.Connection) -> None:
    t = await signup(client)
    path = await reset_link(app, owner, t, t["email"])
    async with visitor(app) as c:
        r = await c.get(f"/password/reset/{t['slug']}/not-a-real-token")
        assert r.status_code == 404 and "not valid" in r.text
        r = await c.get(path.replace(t["slug"], "no-such-company-xyz"))
        assert r.status_code == 404
    await as_tenant(owner, t["tenant_id"], "UPDATE password_reset SET expires_at = now() - interval '1 minute'")
    async with visitor(app) as c:
        r = await c.get(path)
        assert r.status_code == 410 and "expired" in r.text
        post = await c.post(path, data={"_csrf_token": csrf_token(r), "password": NEW_PASSWORD,
                                        "password2": NEW_PASSWORD})
        assert post.status_code == 410 and session_cookie(c) is None
    async with visitor(app, lang="zh-CN") as c:
        r = await c.get(path)
        # in the reader's language: the catalog's wording of the code (once the catalog has it)
        assert r.status_code == 410 and 'lang="zh-CN"' in r.text
        # the refusal's own wording, translated (the catalogs carry every error message)
        assert str(escape(i18n.translate("zh_CN", "this password-reset link has expired; ask for a new one"))) in r.text


async def test_a_link_of_one_company_does_nothing_in_another(app: Litestar, client: Any,
                                                              owner: asyncpg.Connection) -> None:
    a, b = await signup(client), await signup(client)
    path = await reset_link(app, owner, a, a["email"])
    token = path.rsplit("/", 1)[1]
    async with visitor(app) as c:
        r = await c.get(f"/password/reset/{b['slug']}/{token}")
        assert r.status_code == 404
        page = await c.get("/password/forgot")
        r = await c.post(f"/password/reset/{b['slug']}/{token}", data={
            "_csrf_token": csrf_token(page), "password": NEW_PASSWORD, "password2": NEW_PASSWORD})
        assert r.status_code == 404 and session_cookie(c) is None
    # B sees none of A's links; A's link still works in A
    assert await as_tenant(owner, b["tenant_id"], "SELECT id FROM password_reset WHERE token_hash = $1",
                           digest(token)) == []
    async with visitor(app) as c:
        assert (await c.get(path)).status_code == 200


async def test_requests_are_limited_per_address_and_per_client(app: Litestar, client: Any,
                                                               owner: asyncpg.Connection) -> None:
    t = await signup(client)
    # per address: three links an hour, from wherever they are asked
    for _ in range(3):
        assert (await ask_for_link(app, t, t["email"])).status_code == 200
    limited = await ask_for_link(app, t, t["email"])
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert len(await mails_to(owner, t, t["email"])) == 3
    # an address nobody has is limited the same way (the limit says nothing either)
    ghost = f"ghost@{t['slug']}.test"
    codes = [(await ask_for_link(app, t, ghost)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    # per client: twenty requests an hour from one address, whatever they ask for
    address = some_address()
    codes = [(await ask_for_link(app, t, f"p{i}@{t['slug']}.test", address=address)).status_code for i in range(21)]
    assert codes == [200] * 20 + [429]


async def test_concurrent_uses_of_one_link_reset_once(app: Litestar, client: Any, owner: asyncpg.Connection) -> None:
    t = await signup(client)
    path = await reset_link(app, owner, t, t["email"])

    async def use(i: int) -> tuple[int, bool]:
        async with visitor(app) as c:
            form = await c.get(path)
            if form.status_code != 200:
                return form.status_code, False
            password = f"racer-number-{i}-passphrase"
            r = await c.post(path, data={"_csrf_token": csrf_token(form), "password": password,
                                         "password2": password})
            return r.status_code, session_cookie(c) is not None

    results = await asyncio.gather(*(use(i) for i in range(8)))
    assert [code for code, _ in results].count(303) == 1, results
    assert all(code in (303, 409) for code, _ in results), results
    assert [signed_in for code, signed_in in results if code == 303] == [True]
    audit = await as_tenant(owner, t["tenant_id"], "SELECT count(*) AS n FROM audit_entry "
                                                   "WHERE action = 'auth.password_reset'")
    assert audit[0]["n"] == 1
    winner = results.index(next(r for r in results if r[0] == 303))
    ok = await client.post("/api/v1/auth/token", json={"tenant": t["slug"], "email": t["email"],
                                                       "password": f"racer-number-{winner}-passphrase"})
    assert ok.status_code == 200


async def test_a_member_lands_on_his_home_after_a_reset(app: Litestar, client: Any, owner: asyncpg.Connection) -> None:
    t = await signup(client)
    root = (await client.get("/api/v1/org-units", headers=t["headers"])).json()["items"][0]["id"]
    email = f"member@{t['slug']}.test"
    r = await client.post("/api/v1/staff", headers=t["headers"], json={
        "email": email, "display_name": "Mia", "org_unit": root, "roles": ["member"], "kind": "member"})
    assert r.status_code == 201, r.text
    path = await reset_link(app, owner, t, email)  # no password yet: the link sets the first one
    async with visitor(app) as c:
        done = await submit(c, path, password=NEW_PASSWORD, password2=NEW_PASSWORD)
        assert done.status_code == 303 and done.headers["location"] == "/my"
