"""A merchant's operators (issue #11): listed, linked, unlinked and invited from the merchant's page
and through the API; only people holding a role that may scan can be linked; every change is
audited; concurrent links of one person come out as if one ran after the other; and another
company sees, links and unlinks none of it."""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid
from typing import Any

from litestar import Litestar

from tests.conftest import PASSWORD, signup
from tests.integration.clubs.helpers import club_world, ok, qr, root_unit
from tests.integration.platform.pages import browser, csrf_token, login, submit


async def _person(client: Any, t: dict[str, Any], name: str, roles: list[str], kind: str = "staff",
                  password: bool = False) -> dict[str, Any]:
    email = f"{kind}-{uuid.uuid4().hex[:8]}@{t['slug']}.test"
    body: dict[str, Any] = {"email": email, "display_name": name, "org_unit": (await root_unit(client, t))["id"],
                            "roles": roles, "kind": kind}
    if password:
        body["password"] = PASSWORD
    user = await ok(await client.post("/api/v1/staff", headers=t["headers"], json=body), 201)
    return {"id": user["id"], "email": email, "name": name}


def _ops_url(merchant: dict[str, Any]) -> str:
    return f"/api/v1/merchants/{merchant['id']}/operators"


async def _operators(client: Any, t: dict[str, Any], merchant: dict[str, Any]) -> list[dict[str, Any]]:
    body = await ok(await client.get(_ops_url(merchant), headers=t["headers"]))
    return list(body["items"])


async def _audit(client: Any, t: dict[str, Any], action: str) -> list[dict[str, Any]]:
    body = await ok(await client.get("/api/v1/audit", headers=t["headers"], params={"action": action, "limit": 200}))
    return [e for e in body["items"] if e["action"] == action]


async def test_api_lists_links_and_unlinks_with_an_audit_entry_each(client: Any) -> None:
    w = await club_world(client)
    t, wash = w["t"], w["wash"]
    listed = await _operators(client, t, wash)
    assert [o["user"] for o in listed] == [w["operator"]["id"]]
    assert set(listed[0]) == {"user", "display_name", "email", "is_active", "may_scan", "linked_at"}
    assert listed[0]["may_scan"] is True and listed[0]["email"] == w["operator"]["email"]

    li = await _person(client, t, "Li Lei", ["merchant_operator"], kind="merchant")
    linked = await ok(await client.post(_ops_url(wash), headers=t["headers"], json={"user_id": li["id"]}), 201)
    assert linked == {"merchant": wash["id"], "user": li["id"]}
    assert [o["display_name"] for o in await _operators(client, t, wash)] == ["merchant person", "Li Lei"]

    gone = await ok(await client.delete(f"{_ops_url(wash)}/{li['id']}", headers=t["headers"]))
    assert gone == {"merchant": wash["id"], "user": li["id"]}
    assert [o["user"] for o in await _operators(client, t, wash)] == [w["operator"]["id"]]
    again = await client.delete(f"{_ops_url(wash)}/{li['id']}", headers=t["headers"])
    assert again.status_code == 404 and again.json()["error"]["code"] == "operator_not_found"
    assert (await client.delete(f"{_ops_url(wash)}/{uuid.uuid4()}", headers=t["headers"])).status_code == 404
    assert (await client.get(f"/api/v1/merchants/{uuid.uuid4()}/operators", headers=t["headers"])).status_code == 404

    links = [e for e in await _audit(client, t, "club_merchant.operator") if e["after"]["user"] == li["id"]]
    assert len(links) == 1 and links[0]["entity_id"] == wash["id"] and links[0]["before"] is None
    unlinks = await _audit(client, t, "club_merchant.operator_unlink")
    assert [(e["entity_id"], e["before"]["user"]) for e in unlinks] == [(wash["id"], li["id"])]

    # The scanner answers the unlinked person that he scans for nobody.
    li_token = await ok(await client.post("/api/v1/tokens", headers=t["headers"], json={
        "name": "scan", "user_id": li["id"], "kind": "scanner"}), 201)
    scan = await client.post("/api/v1/checkins", headers={"Authorization": f"Bearer {li_token['token']}"},
                             json={"token": await qr(client, w)})
    assert scan.status_code == 403 and scan.json()["error"]["code"] == "not_a_merchant_operator"


async def test_only_a_person_holding_a_scanning_role_can_be_linked(client: Any) -> None:
    w = await club_world(client)
    t, wash = w["t"], w["wash"]
    clerk = await _person(client, t, "Wang Fang", ["cs_clerk"])
    r = await client.post(_ops_url(wash), headers=t["headers"], json={"user_id": clerk["id"]})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "operator_role_missing" and error["field"] == "user_id"
    assert "Wang Fang" in error["message"] and "Merchant operator" in error["message"]
    missing = await client.post(_ops_url(wash), headers=t["headers"], json={"user_id": str(uuid.uuid4())})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "user_not_found"
    # A role of the company's own that carries the scanning permission is as good as merchant_operator.
    await ok(await client.post("/api/v1/roles", headers=t["headers"], json={
        "code": "cashier", "name": "Cashier", "permissions": ["checkins.scan"]}), 201)
    cashier = await _person(client, t, "Zhao Min", ["cashier"])
    await ok(await client.post(_ops_url(wash), headers=t["headers"], json={"user_id": cashier["id"]}), 201)
    assert clerk["id"] not in {o["user"] for o in await _operators(client, t, wash)}


async def test_linking_someone_who_scans_elsewhere_moves_him_and_says_so_in_the_audit(client: Any) -> None:
    w = await club_world(client)
    t, wash, foreign, op = w["t"], w["wash"], w["foreign"], w["operator"]
    await ok(await client.post(_ops_url(foreign), headers=t["headers"], json={"user_id": op["id"]}), 201)
    assert op["id"] not in {o["user"] for o in await _operators(client, t, wash)}
    assert op["id"] in {o["user"] for o in await _operators(client, t, foreign)}
    moves = [e for e in await _audit(client, t, "club_merchant.operator") if e["entity_id"] == foreign["id"]
             and e["after"]["user"] == op["id"]]
    assert len(moves) == 1 and moves[0]["before"] == {"user": op["id"], "merchant": wash["id"]}
    # linking him where he is already changes nothing and records nothing
    await ok(await client.post(_ops_url(foreign), headers=t["headers"], json={"user_id": op["id"]}), 201)
    assert len([e for e in await _audit(client, t, "club_merchant.operator") if e["after"]["user"] == op["id"]]) == 2


async def test_racing_links_of_one_person_come_out_one_after_the_other(client: Any, app: Litestar) -> None:
    w = await club_world(client)
    t, wash, foreign = w["t"], w["wash"], w["foreign"]
    h = t["headers"]

    # A double click: ten links of one person to one merchant at once make one link and one audit entry.
    twice = await _person(client, t, "Double Click", ["merchant_operator"], kind="merchant")
    answers = await asyncio.gather(*(client.post(_ops_url(wash), headers=h, json={"user_id": twice["id"]})
                                     for _ in range(10)))
    assert [r.status_code for r in answers] == [201] * 10, [r.text for r in answers]
    assert [o["user"] for o in await _operators(client, t, wash)].count(twice["id"]) == 1
    assert len([e for e in await _audit(client, t, "club_merchant.operator") if e["after"]["user"] == twice["id"]]) == 1

    # Two admins linking one person to two merchants at once, many times over: each link happens after
    # the one before it, so he ends at exactly one merchant, and the audit's chain of moves is unbroken.
    torn = await _person(client, t, "Torn Between", ["merchant_operator"], kind="merchant")
    targets = [wash, foreign] * 6
    answers = await asyncio.gather(*(client.post(_ops_url(m), headers=h, json={"user_id": torn["id"]})
                                     for m in targets))
    assert [r.status_code for r in answers] == [201] * len(targets), [r.text for r in answers]
    at_wash = torn["id"] in {o["user"] for o in await _operators(client, t, wash)}
    at_foreign = torn["id"] in {o["user"] for o in await _operators(client, t, foreign)}
    assert at_wash != at_foreign  # exactly one
    chain = sorted((e for e in await _audit(client, t, "club_merchant.operator") if e["after"]["user"] == torn["id"]),
                   key=lambda e: (e["created_at"], e["id"]))
    assert chain[0]["before"] is None
    for earlier, later in itertools.pairwise(chain):
        assert later["before"]["merchant"] == earlier["after"]["merchant"] != later["after"]["merchant"]
    assert chain[-1]["after"]["merchant"] == (wash if at_wash else foreign)["id"]

    # Racing unlinks: exactly one succeeds, the others find nothing to unlink.
    last = (wash if at_wash else foreign)
    answers = await asyncio.gather(*(client.delete(f"{_ops_url(last)}/{torn['id']}", headers=h) for _ in range(6)))
    assert sorted(r.status_code for r in answers) == [200] + [404] * 5
    # A link racing an unlink: whichever order, the person is linked once or not at all, never twice.
    link, unlink = await asyncio.gather(client.post(_ops_url(wash), headers=h, json={"user_id": torn["id"]}),
                                        client.delete(f"{_ops_url(wash)}/{torn['id']}", headers=h))
    assert link.status_code == 201 and unlink.status_code in (200, 404)
    linked = [o["user"] for o in await _operators(client, t, wash)].count(torn["id"])
    assert linked == (0 if unlink.status_code == 200 else 1)


async def test_merchant_page_lists_links_and_unlinks_operators(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t, wash = w["t"], w["wash"]
    li = await _person(client, t, "Li Lei", ["merchant_operator"], kind="merchant")
    clerk = await _person(client, t, "Wang Fang", ["cs_clerk"])
    page_url = f"/club/admin/merchant/{wash['id']}"
    act = f"/club/merchants/{wash['id']}/operators"
    async with browser(app, lang="en") as admin:
        await login(admin, t["slug"], t["email"], PASSWORD)
        page = await admin.get(page_url)
        assert page.status_code == 200
        section = page.text[page.text.index('id="operators"'):]
        assert "merchant person" in section and w["operator"]["email"] in section
        assert f'value="{li["id"]}"' in section  # may scan: offered
        assert f'value="{clerk["id"]}"' not in section  # may not: not offered
        assert f'value="{w["operator"]["id"]}"' not in section.split('data-testid="operator-link"')[1]  # linked already
        # someone scanning elsewhere is offered with where he is now
        assert "Not ours" in section and f'value="{w["foreign_op"]["id"]}"' in section

        r = await submit(admin, page_url, act, user=li["id"])
        assert r.status_code == 303 and r.headers["location"] == f"{page_url}?operators=linked#operators"
        after = await admin.get(r.headers["location"])
        assert "The operator was linked" in after.text
        assert li["id"] in {o["user"] for o in await _operators(client, t, wash)}

        # A person without a scanning role (the form offers none, but a post can name anyone): the page is
        # drawn again with the error beside the field, naming the person and the role he lacks.
        refused = await submit(admin, page_url, act, user=clerk["id"])
        assert refused.status_code == 422
        assert re.search(r'<small class="error" id="e-user">Wang Fang holds no role that may scan member cards: '
                         r"grant the role Merchant operator first</small>", refused.text), refused.text[-3000:]
        assert 'aria-invalid="true"' in refused.text
        nobody = await submit(admin, page_url, act, user="")
        assert nobody.status_code == 422 and "Choose the person to link." in nobody.text

        r = await submit(admin, page_url, f"{act}/{li['id']}/unlink")
        assert r.status_code == 303 and r.headers["location"] == f"{page_url}?operators=unlinked#operators"
        assert li["id"] not in {o["user"] for o in await _operators(client, t, wash)}
        twice = await submit(admin, page_url, f"{act}/{li['id']}/unlink")
        assert twice.status_code == 404 and "not an operator of this merchant" in twice.text
        # without the CSRF token nothing happens
        forged = await admin.post(act, data={"user": li["id"]})
        assert forged.status_code == 403
    # Only the clubs' managers reach these pages.
    scanner = await _person(client, t, "Scanner", ["merchant_operator"], kind="merchant", password=True)
    async with browser(app) as c:
        await login(c, t["slug"], scanner["email"], PASSWORD)
        token = csrf_token(await c.get("/club/scan"))
        assert (await c.post(act, data={"_csrf_token": token, "user": li["id"]})).status_code == 403
        assert (await c.get(page_url)).status_code == 403


async def test_inviting_a_new_operator_straight_into_the_merchant(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    t, wash = w["t"], w["wash"]
    page_url = f"/club/admin/merchant/{wash['id']}"
    act = f"/club/merchants/{wash['id']}/operators"
    email = f"new-{uuid.uuid4().hex[:6]}@{t['slug']}.test"
    async with browser(app, lang="en") as admin:
        await login(admin, t["slug"], t["email"], PASSWORD)
        taken = await submit(admin, page_url, f"{act}/invite", email=t["email"], display_name="X",
                             org_unit=(await root_unit(client, t))["id"])
        assert taken.status_code == 409 and 'id="e-email"' in taken.text
        r = await submit(admin, page_url, f"{act}/invite", email=email, display_name="Chen Jing",
                         org_unit=(await root_unit(client, t))["id"])
        assert r.status_code == 201, r.text[-2000:]
        link = re.search(r'data-testid="invite-link"', r.text) and re.search(
            r'value="(http[^"]+/invite/[^"]+)"', r.text)
        assert link, r.text[-2000:]
        url = link.group(1)
        again = await admin.get(page_url)  # the open invitation shows on the merchant's page
        assert email in again.text.split('data-testid="operator-invites"')[1]
    # The invitation grants merchant_operator and, accepted, links the new account to this merchant.
    accept = url.split("testserver.local", 1)[1] if "testserver.local" in url else url[url.index("/invite/"):]
    async with browser(app) as newcomer:
        r = await submit(newcomer, accept, display_name="Chen Jing", password=PASSWORD, password2=PASSWORD)
        assert r.status_code == 303, r.text[-2000:]
        scan_page = await newcomer.get("/club/scan")
        assert scan_page.status_code == 200 and "Sparkle Wash" in scan_page.text
    listed = await _operators(client, t, wash)
    newcomer_row = [o for o in listed if o["email"] == email]
    assert newcomer_row and newcomer_row[0]["display_name"] == "Chen Jing" and newcomer_row[0]["may_scan"]
    links = [e for e in await _audit(client, t, "club_merchant.operator")
             if e["after"]["user"] == newcomer_row[0]["user"]]
    assert len(links) == 1 and links[0]["entity_id"] == wash["id"]
    invites = await _audit(client, t, "invite.create")
    assert any(e["after"].get("on_accept") == {"action": "club_merchant_operator", "merchant": wash["id"]}
               for e in invites)
    async with browser(app, lang="en") as admin:
        await login(admin, t["slug"], t["email"], PASSWORD)
        page = await admin.get(page_url)
        assert 'data-testid="operator-invites"' not in page.text  # accepted: no longer open
        assert "Chen Jing" in page.text.split('data-testid="operator-list"')[1].split("</ul>")[0]


async def test_another_company_cannot_list_link_or_unlink_our_operators(app: Litestar, client: Any) -> None:
    w = await club_world(client)
    a, wash, op = w["t"], w["wash"], w["operator"]
    b_world = await club_world(client)
    b = b_world["t"]
    hb = b["headers"]
    assert (await client.get(_ops_url(wash), headers=hb)).status_code == 404
    r = await client.post(_ops_url(wash), headers=hb, json={"user_id": b_world["operator"]["id"]})
    assert r.status_code == 404 and r.json()["error"]["code"] == "merchant_not_found"
    # our person linked to their merchant: they cannot see him at all
    r = await client.post(_ops_url(b_world["wash"]), headers=hb, json={"user_id": op["id"]})
    assert r.status_code == 404 and r.json()["error"]["code"] == "user_not_found"
    assert (await client.delete(f"{_ops_url(wash)}/{op['id']}", headers=hb)).status_code == 404
    assert (await client.delete(f"{_ops_url(b_world['wash'])}/{op['id']}", headers=hb)).status_code == 404
    async with browser(app, lang="en") as other:
        await login(other, b["slug"], b["email"], PASSWORD)
        assert (await other.get(f"/club/admin/merchant/{wash['id']}")).status_code == 404
        own = f"/club/admin/merchant/{b_world['wash']['id']}"
        own_page = await other.get(own)
        assert own_page.status_code == 200 and op["email"] not in own_page.text and op["id"] not in own_page.text
        for action, fields in ((f"/club/merchants/{wash['id']}/operators", {"user": op["id"]}),
                               (f"/club/merchants/{wash['id']}/operators/{op['id']}/unlink", {}),
                               (f"/club/merchants/{wash['id']}/operators/invite",
                                {"email": "x@example.test", "display_name": "", "org_unit": ""})):
            assert (await submit(other, own, action, **fields)).status_code == 404, action
        own_act = f"/club/merchants/{b_world['wash']['id']}/operators"
        refused = await submit(other, own, own_act, user=op["id"])
        assert refused.status_code == 404 and op["email"] not in refused.text
        assert (await submit(other, own, f"{own_act}/{op['id']}/unlink")).status_code == 404
    # ours untouched
    assert [o["user"] for o in await _operators(client, a, wash)] == [op["id"]]
    # and signing up anew sees nothing of either
    c = await signup(client)
    assert (await client.get(_ops_url(wash), headers=c["headers"])).status_code == 404
