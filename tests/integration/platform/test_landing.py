"""Where people land after signing in, and what the navigation offers them: staff on the dashboard,
merchant operators at the scanner, members on their own home page (/my); an explicit `next` wins only when it is a
local path the person may open. Every link in the navigation opens for the person it is shown to, and a
member sees no staff links (API tokens among them)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar import Litestar

from careclub.platform import landing
from tests.conftest import PASSWORD, signup
from tests.integration.platform.pages import browser, submit

NAV = re.compile(r'<nav class="nav">(.*?)</nav>', re.S)
HREF = re.compile(r'<a href="([^"]+)"')


async def _people(client: Any) -> dict[str, Any]:
    """A company with an admin, a branch operator, a merchant operator and a member, all with passwords."""
    t = await signup(client)
    root = (await client.get("/api/v1/org-units", headers=t["headers"])).json()["items"][0]["id"]
    people = {"admin": t["email"]}
    ids: dict[str, str] = {}
    for who, kind, roles in (("branch", "staff", ["branch_operator"]), ("scanner", "merchant", ["merchant_operator"]),
                             ("member", "member", ["member"])):
        email = f"{who}@{t['slug']}.test"
        r = await client.post("/api/v1/staff", headers=t["headers"], json={
            "email": email, "display_name": who.title(), "org_unit": root, "roles": roles, "kind": kind,
            "password": PASSWORD})
        assert r.status_code == 201, r.text
        people[who] = email
        ids[who] = r.json()["id"]
    # the merchant operator scans for a merchant of a club
    h = t["headers"]
    club = (await client.post("/api/v1/clubs", headers=h, json={"code": "car", "name": "Car club",
                                                                 "card_prefix": "L-"})).json()
    merchant = (await client.post(f"/api/v1/clubs/{club['id']}/merchants", headers=h,
                                  json={"code": "wash", "name": "Wash"})).json()
    r = await client.post(f"/api/v1/merchants/{merchant['id']}/operators", headers=h, json={"user_id": ids["scanner"]})
    assert r.status_code == 201, r.text
    return {"t": t, "people": people}


async def _sign_in(c: Any, slug: str, email: str, next_: str | None = None) -> str:
    login_page = "/login" + (f"?next={next_}" if next_ is not None else "")
    fields = {"tenant": slug, "email": email, "password": PASSWORD}
    if next_ is not None:
        fields["next"] = next_
    r = await submit(c, login_page, "/login", **fields)
    assert r.status_code == 303, r.text[:300]
    return str(r.headers["location"])


async def test_each_role_lands_on_its_own_page(app: Litestar, client: Any) -> None:
    w = await _people(client)
    wanted = {"admin": "/dashboard", "branch": "/dashboard", "scanner": "/club/scan", "member": "/my"}
    for who, target in wanted.items():
        async with browser(app, lang="en") as c:
            assert await _sign_in(c, w["t"]["slug"], w["people"][who]) == target, who
            # the brand link ("/") leads to the same page
            home = await c.get("/")
            assert home.status_code in (302, 303) and home.headers["location"] == target, who


async def test_an_explicit_next_wins_when_safe_and_allowed(app: Litestar, client: Any) -> None:
    w = await _people(client)
    slug, people = w["t"]["slug"], w["people"]
    cases = [
        ("admin", "/staff?q=x", "/staff?q=x"),  # a page the admin may open, with its query
        ("admin", "/club/card", "/club/card"),  # the admin holds every permission
        ("branch", "/club/members", "/club/members"),
        ("branch", "/staff/invite", "/dashboard"),  # needs staff.manage, which a branch operator lacks
        ("member", "/staff", "/my"),  # a staff page: the member's own home instead
        ("member", "/tokens", "/tokens"),  # any signed-in person may open it by its address
        ("member", "/club/card", "/club/card"),
        ("scanner", "/dashboard", "/dashboard"),  # open to every signed-in person (a short page for scanners)
        ("scanner", "/club/members", "/club/scan"),
        ("admin", "//evil.example/x", "/dashboard"),  # another site, however written
        ("admin", "https://evil.example/", "/dashboard"),
        ("admin", "/\\evil.example", "/dashboard"),
        ("admin", "/no/such/page", "/dashboard"),
        ("admin", "/api/v1/me", "/dashboard"),  # not a page
        ("admin", "/login", "/dashboard"),
        ("member", "/logout", "/my"),  # POST only
        ("member", "", "/my"),
    ]
    for who, next_, target in cases:
        async with browser(app, lang="en") as c:
            assert await _sign_in(c, slug, people[who], next_) == target, (who, next_)


@pytest.mark.parametrize("target", ["/x\r\nLocation: //evil", "javascript:alert(1)", "\\\\evil", "/" + "a" * 3000])
def test_local_path_refuses_what_is_no_local_path(target: str) -> None:
    assert landing.local_path(target) is None


async def test_every_nav_link_opens_and_members_see_no_staff_links(app: Litestar, client: Any) -> None:
    w = await _people(client)
    slug, people = w["t"]["slug"], w["people"]
    seen: dict[str, set[str]] = {}
    for who, email in people.items():
        async with browser(app, lang="en") as c:
            home = await _sign_in(c, slug, email)
            page = await c.get(home)
            assert page.status_code == 200, (who, home)
            links = set(HREF.findall(NAV.search(page.text).group(1)))  # type: ignore[union-attr]
            seen[who] = links
            for link in sorted(links):
                r = await c.get(link)
                assert r.status_code == 200, (who, link, r.status_code)
    assert "/tokens" not in seen["member"] and "/dashboard" not in seen["member"]
    assert not any(link.startswith(("/staff", "/roles", "/org", "/audit", "/club/members", "/club/admin", "/payments",
                                    "/approvals")) for link in seen["member"]), seen["member"]
    assert "/club/card" in seen["member"]
    assert "/club/scan" in seen["scanner"] and "/club/members" not in seen["scanner"]
    assert {"/tokens", "/staff", "/club/members"} <= seen["admin"]
    assert "/club/members" in seen["branch"] and "/audit" not in seen["branch"]
