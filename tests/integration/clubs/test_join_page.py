"""The public join page for a plan that needs approval: a visitor without an account registers and
applies in one go (account, member, pending card and approval request in one transaction, then
signed in and shown the pending card); failures re-render the form and create nothing; a signed-in
member applies without the account fields; the page is rate-limited per client address."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar

from careclub.clubs.tables import Member, MemberCard
from careclub.core.db import tenant_scope
from careclub.platform import service as platform_service
from careclub.platform.tables import User
from careclub.platform.tenant_file import apply_text
from tests.conftest import unique_slug
from tests.integration.clubs.helpers import ok
from tests.integration.clubs.test_applications import FILE, PASSWORD
from tests.integration.platform.pages import csrf_token, login, session_cookie, submit

NEW_PASSWORD = "quiet-harbour-lantern-42"


@asynccontextmanager
async def visitor(app: Litestar, address: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """A browser with its own cookies and its own client address (the rate limit counts per address)."""
    address = address or f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local",
                                 headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}) as c:
        yield c


async def _club(client: Any) -> dict[str, Any]:
    slug = unique_slug("join")
    await apply_text(FILE.format(slug=slug, password=PASSWORD), demo=True)
    r = await client.post("/api/v1/auth/token", json={"tenant": slug, "email": f"admin@{slug}.test",
                                                      "password": PASSWORD})
    admin = {"Authorization": f"Bearer {r.json()['token']}"}
    club = (await ok(await client.get("/api/v1/clubs", headers=admin)))[0]
    plans = {p["code"]: p for p in await ok(await client.get(f"/api/v1/clubs/{club['id']}/plans", headers=admin))}
    tenant = await platform_service.tenant_by_slug(slug)
    assert tenant is not None
    return {"slug": slug, "url": f"/join/{slug}/{club['code']}", "club": club, "plans": plans, "admin": admin,
            "tenant_id": tenant.id}


async def _token(client: Any, slug: str, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/token", json={"tenant": slug, "email": email, "password": password})


async def _counts(world: dict[str, Any], email: str) -> tuple[int, int, int]:
    async with tenant_scope(world["tenant_id"]):
        return (await User.count().where(User.email == email), await Member.count(), await MemberCard.count())


def _form(world: dict[str, Any], plan: str = "free", **overrides: str) -> dict[str, str]:
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    fields = {"plan": str(world["plans"][plan]["id"]), "name": "Lu Xiaoming", "phone": "13800001111",
              "plate": "", "vin": "", "email": email, "password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    return {**fields, **overrides}


async def test_a_visitor_registers_applies_and_is_approved(app: Litestar, client: Any) -> None:
    world = await _club(client)
    async with visitor(app) as c:
        page = await c.get(world["url"])
        assert page.status_code == 200 and 'data-testid="join-account"' in page.text
        assert f"/login?tenant={world['slug']}&amp;next=%2Fjoin%2F{world['slug']}%2Fgold" in page.text
        assert session_cookie(c) is None
        form = _form(world, plate="云A12345")
        r = await submit(c, world["url"], **form)
        assert r.status_code == 303 and r.headers["location"] == "/club/card", r.text[:500]
        assert session_cookie(c), "the new member is signed in"
        card_page = await c.get("/club/card")
        assert card_page.status_code == 200 and 'data-testid="waiting-approval"' in card_page.text
        assert "G-000001" in card_page.text and 'data-testid="qr"' not in card_page.text

    token = await _token(client, world["slug"], form["email"], NEW_PASSWORD)
    assert token.status_code == 200, token.text
    me = {"Authorization": f"Bearer {token.json()['token']}"}
    cards = await ok(await client.get("/api/v1/me/cards", headers=me))
    assert [(c["card_no"], c["status"]) for c in cards] == [("G-000001", "pending")]
    assert cards[0]["vehicle"]["plate"] == "云A12345" and cards[0]["approval_request"]

    r = await _token(client, world["slug"], f"approver@{world['slug']}.test", PASSWORD)
    approver = {"Authorization": f"Bearer {r.json()['token']}"}
    tasks = await ok(await client.get("/api/v1/approvals/tasks", headers=approver))
    assert len(tasks) == 1 and tasks[0]["subject_type"] == "member_application"
    assert "Lu Xiaoming" in str(tasks[0])
    await ok(await client.post(f"/api/v1/approvals/requests/{tasks[0]['request_id']}/decisions", headers=approver,
                               json={"step_id": tasks[0]["step_id"], "decision": "approve", "comment": "ok"}), 201)
    assert [c["status"] for c in await ok(await client.get("/api/v1/me/cards", headers=me))] == ["active"]

    async with tenant_scope(world["tenant_id"]):
        user = await User.select(User.id, User.kind).where(User.email == form["email"]).first()
        member = await Member.select(Member.user, Member.org_unit).first()
    assert user is not None and user["kind"] == "member" and member is not None and member["user"] == user["id"]


async def test_failures_rerender_the_form_and_create_nothing(app: Litestar, client: Any) -> None:
    world = await _club(client)
    taken = f"m1@{world['slug']}.test"
    cases = [
        ({"password": "short", "password2": "short"}, "password", 422),
        ({"password": "password123", "password2": "password123"}, "password", 422),
        ({"password2": "another-long-password"}, "password2", 422),
        ({"email": taken}, "email", 422),
        ({"email": "not-an-email"}, "email", 422),
        ({"email": "", "password": "", "password2": ""}, "email", 422),
        ({"plate": "!!"}, "plate", 422),
        ({"phone": "no phone"}, "phone", 422),
    ]
    async with visitor(app) as c:
        for overrides, field, status in cases:
            form = _form(world, **overrides)
            before = await _counts(world, form["email"] or "-")
            r = await submit(c, world["url"], **form)
            assert r.status_code == status, (overrides, r.status_code, r.text[:300])
            assert f'id="e-{field}"' in r.text or 'class="error-message"' in r.text, (overrides, r.text)
            assert 'value="Lu Xiaoming"' in r.text and 'data-testid="join-account"' in r.text
            assert NEW_PASSWORD not in r.text, "passwords are never echoed back"
            assert await _counts(world, form["email"] or "-") == before == ((1, 0, 0) if form["email"] == taken
                                                                          else (0, 0, 0)), overrides
            assert session_cookie(c) is None

    # Racing applicants pass the checks together: the loser fails after his account was written
    # (the plate, or the email, is taken meanwhile) and that account is rolled back with the rest.
    for shared in ({"plate": "云B77777"}, {"email": f"same-{uuid.uuid4().hex[:6]}@example.com"}):
        forms = [_form(world, **shared) for _ in range(4)]
        async with visitor(app) as a, visitor(app) as b, visitor(app) as c2, visitor(app) as d:
            pages = await asyncio.gather(*(v.get(world["url"]) for v in (a, b, c2, d)))
            answers = await asyncio.gather(*(
                v.post(world["url"], data={"_csrf_token": csrf_token(p), **f})
                for v, p, f in zip((a, b, c2, d), pages, forms, strict=True)))
        statuses = sorted(r.status_code for r in answers)
        assert statuses[0] == 303 and all(s in (409, 422) for s in statuses[1:]), statuses
        assert all('value="Lu Xiaoming"' in r.text for r in answers if r.status_code != 303)
        async with tenant_scope(world["tenant_id"]):
            emails = {f["email"] for f in forms}
            assert await User.count().where(User.email.is_in(list(emails))) == 1, shared
    async with tenant_scope(world["tenant_id"]):
        assert await Member.count() == 2 and await MemberCard.count() == 2


async def test_a_signed_in_member_applies_without_account_fields(app: Litestar, client: Any) -> None:
    world = await _club(client)
    async with visitor(app) as c:
        await login(c, world["slug"], f"m1@{world['slug']}.test", PASSWORD)
        page = await c.get(world["url"])
        assert 'data-testid="join-signed-in"' in page.text and 'data-testid="join-account"' not in page.text
        r = await submit(c, world["url"], plan=str(world["plans"]["paid"]["id"]), name="Member One",
                         phone="13000000001")
        assert r.status_code == 303 and r.headers["location"] == "/club/card", r.text[:500]
        assert 'data-testid="waiting-approval"' in (await c.get("/club/card")).text
    m1 = await _token(client, world["slug"], f"m1@{world['slug']}.test", PASSWORD)
    mine = await ok(await client.get("/api/v1/me/cards", headers={"Authorization": f"Bearer {m1.json()['token']}"}))
    assert [c["status"] for c in mine] == ["pending"] and mine[0]["approval_request"]
    async with tenant_scope(world["tenant_id"]):
        assert await User.count() == 4, "no new account"


async def test_the_join_page_is_rate_limited_per_address(app: Litestar, client: Any, monkeypatch: Any) -> None:
    world = await _club(client)
    monkeypatch.setattr(app.state, "settings", dataclasses.replace(app.state.settings, joins_per_address=3))
    address = f"10.99.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    async with visitor(app, address) as c:
        for _ in range(3):
            r = await submit(c, world["url"], **_form(world, phone="bad"))
            assert r.status_code == 422
        r = await submit(c, world["url"], **_form(world))
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    async with tenant_scope(world["tenant_id"]):
        assert await Member.count() == 0
    async with visitor(app) as other:  # another address is not affected
        assert (await submit(other, world["url"], **_form(world))).status_code == 303


async def test_another_tenants_club_code_answers_404(app: Litestar, client: Any) -> None:
    world = await _club(client)
    other_slug = unique_slug("join")
    await apply_text(FILE.format(slug=other_slug, password=PASSWORD).replace('code = "gold"', 'code = "silver"'),
                     demo=True)
    async with visitor(app) as c:
        assert (await c.get(f"/join/{world['slug']}/silver")).status_code == 404
        assert (await c.get(f"/join/{other_slug}/silver")).status_code == 200
        page = await c.get(world["url"])
        r = await c.post(f"/join/{world['slug']}/silver", data={"_csrf_token": csrf_token(page),
                                                               **_form(world)})
        assert r.status_code == 404
    async with tenant_scope(world["tenant_id"]):
        assert await Member.count() == 0
