"""Pages between two tenants answer 404 for each other's records, and racing invitation accepts
let exactly one through."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Litestar

from tests.conftest import PASSWORD, signup
from tests.integration.platform.pages import browser, csrf_token, login, session_cookie


async def test_another_tenants_records_answer_404_on_every_page(app: Litestar, client: Any) -> None:
    a, b = await signup(client), await signup(client)
    b_units = (await client.get("/api/v1/org-units", headers=b["headers"])).json()["items"]
    b_root = b_units[0]["id"]
    b_people = (await client.get("/api/v1/staff", headers=b["headers"])).json()["items"]
    b_admin = b_people[0]["id"]
    b_role = next(r["id"] for r in (await client.get("/api/v1/roles", headers=b["headers"])).json()
                  if r["code"] == "finance")
    b_grant = (await client.get(f"/api/v1/staff/{b_admin}", headers=b["headers"])).json()["roles"][0]["id"]
    b_tokens = (await client.get("/api/v1/tokens", headers=b["headers"])).json()
    async with browser(app) as c:
        await login(c, a["slug"], a["email"], PASSWORD)
        for path in (f"/org/{b_root}", f"/staff/{b_admin}", f"/roles/{b_role}"):
            assert (await c.get(path)).status_code == 404, path
        token = csrf_token(await c.get("/tokens"))
        posts = {
            f"/org/{b_root}": {"name": "Hijacked", "kind": "branch"},
            f"/org/{b_root}/delete": {},
            f"/staff/{b_admin}": {"display_name": "Hijacked", "org_unit": b_root},
            f"/staff/{b_admin}/grants": {"role": "finance", "org_unit": b_root},
            f"/staff/{b_admin}/grants/{b_grant}/delete": {},
            f"/roles/{b_role}": {"name": "Hijacked"},
            f"/roles/{b_role}/delete": {},
            f"/tokens/{b_tokens[0]['id']}/revoke": {},
        }
        for path, data in posts.items():
            r = await c.post(path, data={"_csrf_token": token, **data})
            assert r.status_code == 404, (path, r.status_code)
        listing = await c.get("/staff")
        assert b["email"] not in listing.text
    # B's records are as they were
    me = (await client.get(f"/api/v1/staff/{b_admin}", headers=b["headers"])).json()
    assert me["display_name"] != "Hijacked" and len(me["roles"]) == 1
    assert (await client.get("/api/v1/me", headers=b["headers"])).status_code == 200


async def test_racing_accepts_of_one_invitation_let_exactly_one_through(app: Litestar, client: Any) -> None:
    t = await signup(client)
    root = (await client.get("/api/v1/org-units", headers=t["headers"])).json()["items"][0]["id"]
    r = await client.post("/api/v1/invites", headers=t["headers"],
                          json={"email": f"race@{t['slug']}.test", "role": "approver", "org_unit": root})
    path = str(r.json()["url"]).split("testserver.local", 1)[1]

    async def accept(i: int) -> tuple[int, bool]:
        async with browser(app) as c:
            page = await c.get(path)
            if page.status_code != 200:
                return page.status_code, False
            done = await c.post(path, data={"_csrf_token": csrf_token(page), "display_name": f"Racer {i}",
                                            "password": PASSWORD, "password2": PASSWORD})
            return done.status_code, session_cookie(c) is not None

    results = await asyncio.gather(*(accept(i) for i in range(6)))
    assert sorted(code for code, _ in results).count(303) == 1, results
    assert all(code in (303, 409) for code, _ in results), results
    assert [signed_in for code, signed_in in results if code == 303] == [True]
    people = (await client.get("/api/v1/staff", headers=t["headers"], params={"q": "race@"})).json()
    assert people["total"] == 1


async def test_staff_pages_page_through_results(app: Litestar, client: Any) -> None:
    t = await signup(client)
    root = (await client.get("/api/v1/org-units", headers=t["headers"])).json()["items"][0]["id"]
    for i in range(27):
        r = await client.post("/api/v1/staff", headers=t["headers"],
                              json={"email": f"p{i:02d}@{t['slug']}.test", "display_name": f"Person {i:02d}",
                                    "org_unit": root, "kind": "member" if i % 3 == 0 else "staff"})
        assert r.status_code == 201
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        first = await c.get("/staff")
        assert "Page 1 of 2" in first.text and "28 people" in first.text
        second = await c.get("/staff", params={"page": 2})
        rows = second.text.split('id="people"', 1)[1].split("</ul>", 1)[0]
        assert rows.count('class="row-main"') == 3  # 25 on the first page, the other 3 here
        first_rows = first.text.split('id="people"', 1)[1].split("</ul>", 1)[0]
        assert first_rows.count('class="row-main"') == 25
        members = await c.get("/staff", params={"kind": "member"})
        assert "9 people" in members.text and "Person 01" not in members.text
        assert (await c.get("/staff", params={"page": 0})).status_code in (400, 422)
