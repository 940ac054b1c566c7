"""The resident's home page (/my), where members land: a tile for each thing they have with the company, each
registered by its domain. A resident of a company without clubs sees his requests (with how many are open) and
no card; a club member sees his card; a member without one sees the club he may join; a tile a domain registers
shows up, and one with nothing to show does not. Names people typed are printed escaped; the page answers in
Chinese too."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar

from careclub.core import sessions
from careclub.core.principal import Principal
from careclub.platform import resident_home
from tests.integration.clubs.helpers import club_world, ok, person
from tests.integration.platform.pages import browser
from tests.integration.tickets.helpers import raise_ticket, tower

TILE = re.compile(r'<a class="my-tile" href="([^"]+)" data-tile="([^"]+)">(.*?)</a>', re.S)


@asynccontextmanager
async def signed_in(app: Litestar, tenant_id: str, user_id: str, lang: str = "en"
                    ) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(app, lang=lang) as c:
        session_id = await sessions.create(uuid.UUID(tenant_id), uuid.UUID(user_id), idle_seconds=3600,
                                           absolute_seconds=7200)
        c.cookies.set(sessions.COOKIE, session_id, domain="testserver.local")
        yield c


def tiles(body: str) -> dict[str, tuple[str, str]]:
    """data-tile -> (link, the tile's text without tags)."""
    return {key: (link, " ".join(re.sub(r"<[^>]+>", " ", inner).split())) for link, key, inner in TILE.findall(body)}


async def test_a_resident_without_clubs_lands_on_his_requests(app: Litestar, client: Any) -> None:
    w = await tower(client)
    t, resident = w["t"], w["resident"]
    async with signed_in(app, t["tenant_id"], resident["id"]) as c:
        assert (await c.get("/")).headers["location"] == "/my"
        page = await c.get("/my")
        assert page.status_code == 200
        shown = tiles(page.text)
        assert set(shown) == {"my-tickets"}  # no club in this company: no card tile
        assert shown["my-tickets"] == ("/my/tickets", "My requests Nothing open. Report a problem in your home here.")
        assert 'data-testid="tile-count"' not in page.text
    await raise_ticket(client, resident, unit=w["unit"])
    await raise_ticket(client, resident, unit=w["unit"], title="Window")
    async with signed_in(app, t["tenant_id"], resident["id"]) as c:
        shown = tiles((await c.get("/my")).text)
        assert shown["my-tickets"] == ("/my/tickets", "My requests 2 Open: 2")
        assert (await c.get("/my/tickets")).status_code == 200
    async with signed_in(app, t["tenant_id"], resident["id"], lang="zh_CN") as c:
        body = (await c.get("/my")).text
        assert "欢迎" in body and 'data-tile="my-tickets"' in body


async def test_a_club_member_sees_his_card_and_others_the_club_they_may_join(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t = w["t"]
    async with signed_in(app, t["tenant_id"], w["member_user"]["id"]) as c:
        shown = tiles((await c.get("/my")).text)
        assert set(shown) == {"club-card"}  # no home in the archive, no ticket: no requests tile
        link, text = shown["club-card"]
        assert link == "/club/card" and w["card"]["card_no"] in text and "Free card" in text and "active" in text
    # a member with no card yet: the first open club with a plan, by its public join page
    h = t["headers"]
    newcomer = await person(client, t, kind="member", roles=["member"])
    await ok(await client.patch(f"/api/v1/clubs/{w['club']['id']}", headers=h, json={"name": "<b>Car</b> & club"}))
    async with signed_in(app, t["tenant_id"], newcomer["id"]) as c:
        body = (await c.get("/my")).text
        shown = tiles(body)
        assert set(shown) == {"club-join"}
        assert shown["club-join"][0] == f"/join/{t['slug']}/car"
        assert "&lt;b&gt;Car&lt;/b&gt; &amp; club" in body and "<b>Car</b>" not in body
    # the staff who may open the page too see no requests tile (theirs are on /tickets)
    admin = (await ok(await client.get("/api/v1/me", headers=h)))["user"]["id"]
    async with signed_in(app, t["tenant_id"], admin) as c:
        assert "my-tickets" not in tiles((await c.get("/my")).text)


async def test_a_registered_tile_shows_and_one_with_nothing_to_show_does_not(app: Litestar, client: Any) -> None:
    w = await tower(client)
    saved = list(resident_home._TILES)

    async def orders(principal: Principal) -> resident_home.Tile | None:
        return resident_home.Tile(key="orders", title="Orders", line=f"<i>{principal.display_name}</i>",
                                  link="/my/orders", count=3)

    async def nothing(principal: Principal) -> resident_home.Tile | None:
        return None

    try:
        resident_home.register(orders, order=15)
        resident_home.register(orders, order=15)  # twice: once
        resident_home.register(nothing)
        async with signed_in(app, w["t"]["tenant_id"], w["resident"]["id"]) as c:
            body = (await c.get("/my")).text
        assert list(tiles(body)) == ["orders", "my-tickets"]  # by their order: 15 before 20
        assert "&lt;i&gt;" in body and "<i>" not in body
    finally:
        resident_home._TILES[:] = saved


async def test_a_member_with_nothing_yet_is_told_so(app: Litestar, client: Any) -> None:
    w = await tower(client)
    lonely = await person(client, w["t"], kind="member", roles=["member"])
    async with signed_in(app, w["t"]["tenant_id"], lonely["id"]) as c:
        body = (await c.get("/my")).text
    assert tiles(body) == {} and 'data-testid="no-tiles"' in body
