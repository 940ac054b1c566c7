"""A plan that needs approval needs an approval policy for member applications: without one it
cannot be saved so (API, admin pages, tenant files: 409 `approval_policy_missing` naming
`needs_approval`, the page linking to the policy's page); staff enrolment on such a plan opens the
same approval request as the join page (no active card until it is approved); and when the policy
is gone later, or finds nobody, the join page and enrolment say so in the reader's words."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar import Litestar

from careclub.approvals.tables import ApprovalPolicy
from careclub.clubs.tables import Member, MemberCard
from careclub.core.db import tenant_scope
from careclub.core.errors import ValidationFailed
from careclub.platform.tables import User
from careclub.platform.tenant_file import apply_text
from tests.conftest import PASSWORD, signup, unique_slug
from tests.integration.clubs.helpers import ok, root_unit
from tests.integration.clubs.test_join_page import visitor
from tests.integration.platform.pages import browser, csrf_token, login, submit

POLICY_PAGE = "/approvals/policies/member_application"
APPLICATION_POLICY = {
    "subject_type": "member_application", "name": "Club applications",
    "rules": [{"name": "all", "steps": [{"kind": "single", "name": "The club approves",
                                         "approvers": [{"role": "approver", "at": "company"}]}]}],
}


async def application_policy(client: Any, t: dict[str, Any], policy: dict[str, Any] | None = None, *,
                             role: str = "approver") -> None:
    """Set up the member applications' policy (approved by `role` at the company)."""
    policy = policy or {**APPLICATION_POLICY, "rules": [{"name": "all", "steps": [{
        "kind": "single", "name": "The club approves", "approvers": [{"role": role, "at": "company"}]}]}]}
    r = await client.put("/api/v1/approvals/policies/member_application", headers=t["headers"],
                         json={"policy": policy})
    assert r.status_code == 200, r.text


async def _approver(client: Any, t: dict[str, Any]) -> dict[str, Any]:
    email = f"approver-{uuid.uuid4().hex[:6]}@{t['slug']}.test"
    user = await ok(await client.post("/api/v1/staff", headers=t["headers"], json={
        "email": email, "display_name": "Ann Approver", "org_unit": (await root_unit(client, t))["id"],
        "roles": ["approver"], "password": PASSWORD}), 201)
    token = await ok(await client.post("/api/v1/auth/token", json={"tenant": t["slug"], "email": email,
                                                                   "password": PASSWORD}))
    return {"id": user["id"], "headers": {"Authorization": f"Bearer {token['token']}"}}


async def _club(client: Any, t: dict[str, Any]) -> dict[str, Any]:
    return await ok(await client.post("/api/v1/clubs", headers=t["headers"], json={
        "code": "gold", "name": "Gold club", "card_prefix": "G" + uuid.uuid4().hex[:3].upper() + "-"}), 201)


def _refused(r: Any) -> None:
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert (error["code"], error["field"]) == ("approval_policy_missing", "needs_approval")
    assert POLICY_PAGE in error["message"]


async def _forget_policy(t: dict[str, Any]) -> None:
    """The policy is emptied: no current version any more."""
    async with tenant_scope(uuid.UUID(t["tenant_id"])):
        await ApprovalPolicy.update({ApprovalPolicy.is_current: False}).where(
            ApprovalPolicy.subject_type == "member_application")


async def test_the_api_refuses_a_plan_needing_approval_until_a_policy_covers_applications(client: Any) -> None:
    t = await signup(client)
    h = t["headers"]
    club = await _club(client, t)
    _refused(await client.post(f"/api/v1/clubs/{club['id']}/plans", headers=h, json={
        "code": "gold", "name": "Gold", "needs_approval": True}))
    plain = await ok(await client.post(f"/api/v1/clubs/{club['id']}/plans", headers=h, json={
        "code": "plain", "name": "Plain"}), 201)
    _refused(await client.patch(f"/api/v1/plans/{plain['id']}", headers=h, json={"needs_approval": True}))

    await _approver(client, t)
    # A policy with categories gives an application (which has none) no rule: it covers nothing.
    await application_policy(client, t, {**APPLICATION_POLICY, "categories": ["vip"]})
    _refused(await client.post(f"/api/v1/clubs/{club['id']}/plans", headers=h, json={
        "code": "gold", "name": "Gold", "needs_approval": True}))

    await application_policy(client, t)
    gold = await ok(await client.post(f"/api/v1/clubs/{club['id']}/plans", headers=h, json={
        "code": "gold", "name": "Gold", "needs_approval": True}), 201)
    assert gold["needs_approval"] is True
    assert (await ok(await client.patch(f"/api/v1/plans/{plain['id']}", headers=h,
                                        json={"needs_approval": True})))["needs_approval"] is True

    # The policy goes: such plans cannot be changed while they take members, but can be switched off.
    await _forget_policy(t)
    _refused(await client.patch(f"/api/v1/plans/{gold['id']}", headers=h, json={"name": "Gold 2"}))
    off = await ok(await client.patch(f"/api/v1/plans/{gold['id']}", headers=h, json={"active": False}))
    assert off["active"] is False


async def test_tenant_files_need_the_policy_first(client: Any) -> None:
    slug = unique_slug("npol")
    text = f"""
[tenant]
slug = "{slug}"
name = "Needs a policy {slug}"

[[clubs]]
code = "gold"
name = "Gold club"
card_prefix = "G-"

[[clubs.plans]]
code = "gold"
name = "Gold by approval"
needs_approval = true
"""
    with pytest.raises(ValidationFailed) as err:
        await apply_text(text, demo=False)
    assert "clubs[0].plans[0]" in err.value.message and POLICY_PAGE in err.value.message
    policy = f"""
[[staff]]
email = "approver@{slug}.test"
name = "Ann Approver"
roles = ["approver"]

[[approvals.policies]]
subject_type = "member_application"

[[approvals.policies.rules]]
name = "all"

[[approvals.policies.rules.steps]]
kind = "single"
name = "The club approves"
approvers = [{{ role = "approver", at = "company" }}]
"""
    report = await apply_text(text + policy, demo=False)  # sections apply in order: approvals before clubs
    assert report.created


async def test_the_admin_pages_refuse_it_and_link_to_the_policy_page(app: Litestar, client: Any) -> None:
    t = await signup(client)
    club = await _club(client, t)
    plan = await ok(await client.post(f"/api/v1/clubs/{club['id']}/plans", headers=t["headers"], json={
        "code": "plain", "name": "Plain"}), 201)
    async with browser(app, lang="en") as admin:
        await login(admin, t["slug"], t["email"], PASSWORD)
        r = await submit(admin, "/club/admin", "/club/admin/plan", club=club["id"], code="gold", name="Gold",
                         fee="100", term_months="12", grace_days="0", static_daily_cap="0", needs_approval="on")
        assert r.status_code == 409
        assert f'href="{POLICY_PAGE}"' in r.text and 'data-testid="policy-link"' in r.text
        assert 'id="e-needs_approval"' in r.text and 'value="Gold"' in r.text  # what was typed stays
        edit = f"/club/admin/plan/{plan['id']}"
        r = await submit(admin, edit, edit, name="Plain", fee="0", term_months="12", grace_days="0",
                         static_daily_cap="0", needs_approval="on", active="on")
        assert r.status_code == 409
        assert f'href="{POLICY_PAGE}"' in r.text and 'id="e-needs_approval"' in r.text
        # the link leads to a form that sets the policy up
        policy_page = await admin.get(POLICY_PAGE)
        assert policy_page.status_code == 200 and 'data-testid="not-set-up"' in policy_page.text
    plans = await ok(await client.get(f"/api/v1/clubs/{club['id']}/plans", headers=t["headers"]))
    assert [(p["code"], p["needs_approval"]) for p in plans] == [("plain", False)]


async def test_staff_enrolment_opens_the_approval_request_like_the_join_page(app: Litestar, client: Any) -> None:
    t = await signup(client)
    h = t["headers"]
    approver = await _approver(client, t)
    await application_policy(client, t)
    club = await _club(client, t)
    free = await ok(await client.post(f"/api/v1/clubs/{club['id']}/plans", headers=h, json={
        "code": "gold", "name": "Gold", "needs_approval": True}), 201)
    paid = await ok(await client.post(f"/api/v1/clubs/{club['id']}/plans", headers=h, json={
        "code": "paid", "name": "Paid gold", "needs_approval": True,
        "fee": {"amount": "200.00", "currency": "CNY"}}), 201)

    async with browser(app, lang="en") as admin:
        await login(admin, t["slug"], t["email"], PASSWORD)
        r = await submit(admin, "/club/members/new", plan=free["id"], name="Lu Xiaoming", phone="13800001111",
                         id_number="", org_unit="", plate="", vin="", policy_no="", policy_ends_at="", household="")
        assert r.status_code == 303, r.text[-2000:]
        member_url = r.headers["location"].split("?")[0]
        page = await admin.get(member_url)
        assert 'data-testid="waiting-approval"' in page.text
        [card] = await ok(await client.get(f"/api/v1/members/{member_url.rsplit('/', 1)[1]}/cards", headers=h))
        assert card["status"] == "pending" and card["approval_request"]
        assert f'href="/approvals/requests/{card["approval_request"]}"' in page.text
        assert (await admin.get(f"/approvals/requests/{card['approval_request']}")).status_code == 200

        # a second card on the paid plan from the member's page: also an application
        form_page = await admin.get(member_url)
        r = await admin.post(f"{member_url}/cards", data={"_csrf_token": csrf_token(form_page), "plan": paid["id"],
                                                           "vehicle": "", "policy_no": "", "policy_ends_at": ""})
        assert r.status_code == 303 and r.headers["location"].endswith("done=application"), r.text[-1000:]
        assert "sent for approval" in (await admin.get(r.headers["location"])).text

    # the API enrols the same way
    member = await ok(await client.post("/api/v1/members", headers=h, json={
        "club_id": club["id"], "name": "Wang Fang", "phone": "13800002222"}), 201)
    by_api = await ok(await client.post(f"/api/v1/members/{member['id']}/cards", headers=h,
                                        json={"plan_id": free["id"]}), 201)
    assert by_api["status"] == "pending" and by_api["approval_request"]
    # staff cannot activate a card waiting for its approval (the decision does), by the page or the API
    r = await client.post(f"/api/v1/cards/{by_api['card_no']}/activate", headers=h, json={"reason": "skip"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "awaiting_approval", r.text
    async with browser(app, lang="en") as admin:
        await login(admin, t["slug"], t["email"], PASSWORD)
        page = await admin.get(f"/club/members/{member['id']}")
        assert f"/cards/{by_api['card_no']}/activate" not in page.text
        r = await admin.post(f"/club/members/{member['id']}/cards/{by_api['card_no']}/activate",
                             data={"_csrf_token": csrf_token(page), "reason": ""})
        assert r.status_code == 409, r.status_code
    assert (await ok(await client.get(f"/api/v1/cards/{by_api['card_no']}", headers=h)))["status"] == "pending"

    tasks = await ok(await client.get("/api/v1/approvals/tasks", headers=approver["headers"]))
    assert len(tasks) == 3 and {x["subject_type"] for x in tasks} == {"member_application"}
    for task in tasks:
        await ok(await client.post(f"/api/v1/approvals/requests/{task['request_id']}/decisions",
                                   headers=approver["headers"],
                                   json={"step_id": task["step_id"], "decision": "approve", "comment": "ok"}), 201)
    assert (await ok(await client.get(f"/api/v1/cards/{card['card_no']}", headers=h)))["status"] == "active"
    assert (await ok(await client.get(f"/api/v1/cards/{by_api['card_no']}", headers=h)))["status"] == "active"
    cards = await ok(await client.get(f"/api/v1/members/{member_url.rsplit('/', 1)[1]}/cards", headers=h))
    paid_card = next(c for c in cards if c["plan"]["code"] == "paid")
    periods = await ok(await client.get(f"/api/v1/cards/{paid_card['card_no']}/periods", headers=h))
    assert [(p["kind"], p["status"]) for p in periods] == [("join", "pending")]  # approved: now it is paid for


async def test_a_policy_gone_later_is_told_in_the_readers_words(app: Litestar, client: Any) -> None:
    t = await signup(client)
    h = t["headers"]
    approver = await _approver(client, t)
    await application_policy(client, t)
    club = await _club(client, t)
    gold = await ok(await client.post(f"/api/v1/clubs/{club['id']}/plans", headers=h, json={
        "code": "gold", "name": "Gold", "needs_approval": True}), 201)
    member = await ok(await client.post("/api/v1/members", headers=h, json={
        "club_id": club["id"], "name": "Wang Fang", "phone": "13800002222"}), 201)
    await _forget_policy(t)
    tenant_id = uuid.UUID(t["tenant_id"])

    async def counts() -> tuple[int, int, int]:
        async with tenant_scope(tenant_id):
            return await User.count(), await Member.count(), await MemberCard.count()

    before = await counts()
    url = f"/join/{t['slug']}/gold"
    form = {"plan": gold["id"], "name": "Lu Xiaoming", "phone": "13800001111", "plate": "", "vin": "",
            "email": f"new-{uuid.uuid4().hex[:6]}@example.com", "password": "quiet-harbour-lantern-42",
            "password2": "quiet-harbour-lantern-42"}
    async with visitor(app) as c:
        c.cookies.set("lang", "en", domain="testserver.local")
        r = await submit(c, url, **form)
        assert r.status_code == 409
        assert "This plan cannot take applications at the moment" in r.text
        assert "no approval policy" not in r.text and "member_application" not in r.text
    async with visitor(app) as c:  # the visitor's default language (Chinese): no raw English either
        r = await submit(c, url, **form)
        assert r.status_code == 409 and "no approval policy" not in r.text and "member_application" not in r.text
    assert await counts() == before

    async with browser(app, lang="en") as admin:
        await login(admin, t["slug"], t["email"], PASSWORD)
        page_url = f"/club/members/{member['id']}"
        page = await admin.get(page_url)
        r = await admin.post(f"{page_url}/cards", data={"_csrf_token": csrf_token(page), "plan": gold["id"],
                                                         "vehicle": "", "policy_no": "", "policy_ends_at": ""})
        assert r.status_code == 409 and f'href="{POLICY_PAGE}"' in r.text
    r = await client.post(f"/api/v1/members/{member['id']}/cards", headers=h, json={"plan_id": gold["id"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "approval_policy_missing"
    assert await counts() == before

    # the policy is back, but its only approver has left: nobody can approve
    await application_policy(client, t, {**APPLICATION_POLICY, "name": "Club applications again"})
    await ok(await client.patch(f"/api/v1/staff/{approver['id']}", headers=h, json={"is_active": False}))
    async with visitor(app) as c:
        c.cookies.set("lang", "en", domain="testserver.local")
        r = await submit(c, url, **{**form, "email": f"new-{uuid.uuid4().hex[:6]}@example.com"})
        assert r.status_code == 422 and "This plan cannot take applications at the moment" in r.text
        assert "finds no approver" not in r.text
    assert await counts() == before
