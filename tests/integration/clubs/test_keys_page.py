"""The QR signing keys from the clubs admin page: listed as the API lists them (a key made on first use
included), rotated with a chosen overlap, revoked behind a confirmation; the same limits as the API;
another company's keys never shown or touched."""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar

from tests.conftest import PASSWORD, signup
from tests.integration.clubs.helpers import club_world, ok, qr
from tests.integration.platform.pages import browser, csrf_token, login

KID = re.compile(r'<span class="row-main mono">#(\d+)</span>')


async def _keys(client: Any, t: dict[str, Any]) -> dict[int, dict[str, Any]]:
    rows = await ok(await client.get("/api/v1/club-signing-keys", headers=t["headers"]))
    return {k["kid"]: k for k in rows}


async def test_keys_are_listed_rotated_and_revoked_from_the_page(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t = w["t"]
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        page = await c.get("/club/admin")
        assert "No key yet" in page.text and not KID.findall(page.text)
        await qr(client, w)  # a member's card shows its code: the key is made on first use
        made = await _keys(client, t)
        assert len(made) == 1
        page = await c.get("/club/admin")
        assert [int(k) for k in KID.findall(page.text)] == list(made)

        r = await c.post("/club/admin/keys/rotate", data={"_csrf_token": csrf_token(page), "overlap_minutes": "60"})
        assert r.status_code == 303
        keys = await _keys(client, t)
        assert len(keys) == 2
        old = next(iter(made))
        assert keys[old]["status"] == "retiring"
        page = await c.get("/club/admin")
        assert "works until" in page.text

        for bad in ("1", "abc", "20000"):  # shorter than a code lives, not a number, longer than a week
            r = await c.post("/club/admin/keys/rotate", data={"_csrf_token": csrf_token(page), "overlap_minutes": bad})
            assert r.status_code == 422 and 'data-testid="key-error"' in r.text, (bad, r.status_code)
        assert len(await _keys(client, t)) == 2

        r = await c.post(f"/club/admin/keys/{old}/revoke", data={"_csrf_token": csrf_token(page)})
        assert r.status_code == 303
        assert (await _keys(client, t))[old]["status"] == "revoked"
        r = await c.post("/club/admin/keys/12345/revoke", data={"_csrf_token": csrf_token(page)})
        assert r.status_code == 404 or (await _keys(client, t)).get(12345) is None

    async with browser(app, lang="zh_CN") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        page = await c.get("/club/admin")
        assert "立即轮换" in page.text and "吊销" in page.text


async def test_another_company_neither_sees_nor_revokes_the_keys(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    await qr(client, w)
    theirs = next(iter(await _keys(client, w["t"])))
    other = await signup(client)
    async with browser(app, lang="en") as c:
        await login(c, other["slug"], other["email"], PASSWORD)
        page = await c.get("/club/admin")
        assert str(theirs) not in KID.findall(page.text)
        r = await c.post(f"/club/admin/keys/{theirs}/revoke", data={"_csrf_token": csrf_token(page)})
        assert r.status_code == 404
    assert (await _keys(client, w["t"]))[theirs]["status"] == "active"
