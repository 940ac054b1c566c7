"""Plans and spending through the approval core: a plan approved and revised, in-plan requests limited to
their line, off-plan requests in the month's batch, approvals committing money (and losing the race
cleanly when it runs out), claims refused or accepted by the named roles, reimbursement with evidence."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from careclub.approvals import service as approvals
from careclub.approvals.tables import ApprovalStep
from careclub.core import clock, i18n
from careclub.core.db import tenant_scope
from careclub.core.errors import Conflict
from careclub.funds.service._requests import CLAIM_PAID, CLAIM_REASON, CLAIM_REFUSED, CLAIM_TO_PAY, CLAIM_TO_SIGN
from careclub.platform import service as platform_service
from careclub.platform.tables import User
from careclub.platform.tenant_file import apply_text
from tests.conftest import unique_slug
from tests.integration.funds.helpers import balanced

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

WORLD = """
[tenant]
slug = "{slug}"
name = "Funds test {slug}"

[[org_units]]
code = "P1"
name = "Project one"
kind = "project"

[[roles]]
code = "fund_approver"
name = "Fund approver"
permissions = ["dashboard.view", "org.read", "approvals.decide"]

[[roles]]
code = "project_lead"
name = "Project lead"
permissions = ["dashboard.view", "org.read"]

[[roles]]
code = "inspector"
name = "Acceptance inspector"
permissions = ["dashboard.view", "org.read"]

[[staff]]
email = "lead@{slug}.test"
name = "Lee Lead"
unit = "P1"
roles = ["project_lead"]

[[staff]]
email = "boss@{slug}.test"
name = "Bo Boss"
unit = "HQ"
roles = ["fund_approver"]

[[staff]]
email = "insp@{slug}.test"
name = "Ina Inspector"
unit = "HQ"
roles = ["inspector"]

[[staff]]
email = "fin@{slug}.test"
name = "Fin Finance"
unit = "HQ"
roles = ["finance"]

[[approvals.policies]]
subject_type = "fund_request"
name = "Fund requests"

[[approvals.policies.rules]]
name = "all"

[[approvals.policies.rules.steps]]
kind = "single"
name = "Boss decides"
approvers = [{{ role = "fund_approver", at = "company" }}]

[[approvals.policies]]
subject_type = "annual_plan"
name = "Annual plans"

[[approvals.policies.rules]]
name = "all"

[[approvals.policies.rules.steps]]
kind = "single"
name = "Boss approves the plan"
approvers = [{{ role = "fund_approver", at = "company" }}]

[funds]

[[funds.funds]]
code = "CARE"
name = "Care fund"
years = [{year}]
acceptance_roles = ["inspector", "finance"]

[[funds.contributions]]
fund = "CARE"
year = {year}
kind = "reserve"
source = "Set-up reserve"
amount = "{opening}"
received_on = {year}-01-05
"""


@dataclass
class World:
    slug: str
    tenant_id: uuid.UUID
    fund_id: str = ""
    users: dict[str, uuid.UUID] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)


async def make_world(client: httpx.AsyncClient, opening: str = "100000.00") -> World:
    slug = unique_slug("fund")
    year = clock.now().year
    await apply_text(WORLD.format(slug=slug, year=year, opening=opening), demo=False)
    tenant = await platform_service.tenant_by_slug(slug)
    assert tenant is not None
    w = World(slug=slug, tenant_id=tenant.id)
    async with tenant_scope(tenant.id):
        for short in ("lead", "boss", "insp", "fin"):
            row = await User.select(User.id).where(User.email == f"{short}@{slug}.test").first()
            assert row is not None
            w.users[short] = row["id"]
            token, _ = await platform_service.issue_token(row["id"], kind="login", hours=24 * 30)
            w.headers[short] = {"Authorization": f"Bearer {token}"}
    funds = (await client.get("/api/v1/funds", headers=w.headers["fin"])).json()
    w.fund_id = funds[0]["id"]
    return w


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


async def decide(w: World, approval_id: str, decision: str = "approve", comment: str = "") -> None:
    async with tenant_scope(w.tenant_id):
        step = await ApprovalStep.select().where(ApprovalStep.request == uuid.UUID(approval_id),
                                                 ApprovalStep.status == "active").first()
        assert step is not None
        await approvals.decide(request_id=uuid.UUID(approval_id), step_id=step["id"], decision=decision,
                               comment=comment, actor_id=w.users["boss"], actor_name="Bo Boss")


@pytest.fixture(autouse=True)
def _reset_clock() -> Any:
    yield
    clock.reset()


async def _approved_plan(client: httpx.AsyncClient, w: World) -> dict[str, Any]:
    r = await client.post(f"/api/v1/funds/{w.fund_id}/plans", headers=w.headers["fin"], json={
        "title": "January plan", "lines": [
            {"code": "L1", "org_unit": "P1", "category": "customer_care", "item": "Mid-autumn gifts", "month": 9,
             "amount": money("20000.00")},
            {"code": "L2", "org_unit": "P1", "category": "quality_improvement", "item": "Lobby lights", "month": 5,
             "amount": money("30000.00")}]})
    assert r.status_code == 201, r.text
    plan = r.json()
    r = await client.post(f"/api/v1/fund-plans/{plan['id']}/submission", headers=w.headers["fin"])
    assert r.json()["status"] == "in_review"
    await decide(w, r.json()["approval_request"])
    approved = (await client.get(f"/api/v1/fund-plans/{plan['id']}", headers=w.headers["fin"])).json()
    assert approved["status"] == "approved"
    return approved


async def test_a_plan_is_approved_revised_and_compared(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    v1 = await _approved_plan(client, w)
    r = await client.post(f"/api/v1/funds/{w.fund_id}/plans", headers=w.headers["fin"], json={"title": "June"})
    v2 = r.json()
    assert (v2["version"], v2["previous"], len(v2["lines"])) == (2, v1["id"], 2)  # a copy to change
    lines = [{"code": ln["code"], "org_unit": ln["org_unit"], "category": ln["category"], "item": ln["item"],
              "month": ln["month"], "amount": ln["amount"]} for ln in v2["lines"] if ln["code"] != "L2"]
    lines[0]["amount"] = money("25000.00")
    lines.append({"category": "customer_care", "item": "Elderly visits", "month": 10, "amount": money("5000.00"),
                  "code": "L3"})
    r = await client.put(f"/api/v1/fund-plans/{v2['id']}", headers=w.headers["fin"],
                         json={"title": "June revision", "lines": lines})
    assert r.status_code == 200, r.text
    cmp = (await client.get(f"/api/v1/fund-plans/{v2['id']}/comparison", headers=w.headers["fin"])).json()
    assert {c["code"]: (c["kind"], c["delta"]["amount"]) for c in cmp["lines"]} == {
        "L1": ("changed", "5000.00"), "L2": ("removed", "-30000.00"), "L3": ("added", "5000.00")}
    assert cmp["total_delta"] == money("-20000.00")
    r = await client.post(f"/api/v1/fund-plans/{v2['id']}/submission", headers=w.headers["fin"])
    await decide(w, r.json()["approval_request"])
    plans = {p["version"]: p["status"] for p in
             (await client.get(f"/api/v1/funds/{w.fund_id}/plans", headers=w.headers["fin"])).json()}
    assert plans == {1: "superseded", 2: "approved"}


async def test_in_plan_spending_is_limited_to_what_is_left_on_its_line(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    await _approved_plan(client, w)
    body = {"title": "Gifts", "amount": money("15000.00"), "in_plan": True, "plan_line": "L1"}
    r = await client.post(f"/api/v1/funds/{w.fund_id}/requests", headers=w.headers["lead"], json=body)
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["org_unit"], first["category"]) == ("P1", "customer_care")  # from the line
    await decide(w, first["approval_request"])
    r = await client.post(f"/api/v1/funds/{w.fund_id}/requests", headers=w.headers["lead"],
                          json={**body, "amount": money("5000.01")})
    assert r.status_code == 409 and r.json()["error"]["code"] == "plan_line_exceeded"
    plan = (await client.get(f"/api/v1/funds/{w.fund_id}/plans", headers=w.headers["fin"])).json()[0]
    assert {ln["code"]: ln["remaining"] for ln in plan["lines"]}["L1"] == money("5000.00")


async def test_two_approvals_racing_for_the_last_of_a_line_commit_once(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    await _approved_plan(client, w)
    reqs = []
    for _ in range(2):
        r = await client.post(f"/api/v1/funds/{w.fund_id}/requests", headers=w.headers["lead"],
                              json={"title": "Gifts", "amount": money("12000.00"), "in_plan": True, "plan_line": "L1"})
        reqs.append(r.json())

    async def approve(req: dict[str, Any]) -> bool:
        try:
            await decide(w, req["approval_request"])
            return True
        except Conflict as exc:
            assert exc.code == "plan_line_exceeded"
            return False

    assert sorted(await asyncio.gather(*(approve(r) for r in reqs))) == [False, True]


async def test_a_hundred_concurrent_approvals_for_a_fund_that_pays_for_ten(client: httpx.AsyncClient) -> None:
    w = await make_world(client, opening="1000.00")
    reqs = []
    for i in range(100):
        r = await client.post(f"/api/v1/funds/{w.fund_id}/requests", headers=w.headers["lead"],
                              json={"title": f"Visit {i}", "amount": money("100.00"), "in_plan": False})
        assert r.status_code == 201, r.text
        reqs.append(r.json())

    async def approve(req: dict[str, Any]) -> bool:
        try:
            await decide(w, req["approval_request"])
            return True
        except Conflict as exc:
            assert exc.code == "insufficient_funds"
            return False

    assert sum(await asyncio.gather(*(approve(r) for r in reqs))) == 10
    statuses = [(await client.get(f"/api/v1/fund-requests/{r['id']}", headers=w.headers["lead"])).json()["status"]
                for r in reqs]
    assert statuses.count("approved") == 10 and statuses.count("in_review") == 90
    fund = (await client.get(f"/api/v1/funds/{w.fund_id}", headers=w.headers["fin"])).json()
    assert (fund["balances"]["available"], fund["balances"]["committed"]) == (money("0.00"), money("1000.00"))
    assert await balanced({"tenant_id": str(w.tenant_id)}, uuid.UUID(w.fund_id))


async def test_off_plan_requests_after_the_cutoff_join_next_months_batch(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    clock.travel(datetime(clock.now().year, 3, 25, 15, 59, tzinfo=UTC) - clock.now())  # 23:59 in Shanghai
    r = await client.post(f"/api/v1/funds/{w.fund_id}/requests", headers=w.headers["lead"],
                          json={"title": "Flowers", "amount": money("300.00"), "in_plan": False})
    assert (r.json()["batch_month"][5:], r.json()["pushed_to_next_batch"]) == ("03", False)
    clock.travel(datetime(clock.now().year, 3, 25, 16, 1, tzinfo=UTC) - clock.now())  # the 26th there
    r = await client.post(f"/api/v1/funds/{w.fund_id}/requests", headers=w.headers["lead"],
                          json={"title": "Flowers", "amount": money("300.00"), "in_plan": False})
    assert (r.json()["batch_month"][5:], r.json()["pushed_to_next_batch"]) == ("04", True)


async def test_a_claim_is_refused_when_it_does_not_match_then_accepted_and_reimbursed(
        client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    r = await client.post(f"/api/v1/funds/{w.fund_id}/requests", headers=w.headers["lead"],
                          json={"title": "Repair the gate", "amount": money("3000.00"), "in_plan": False})
    req = r.json()
    await decide(w, req["approval_request"])
    over = {"items": [{"description": "Gate motor", "spec": "550W", "quantity": 1, "unit": "pc",
                       "unit_price": money("3200.00")}]}
    r = await client.post(f"/api/v1/fund-requests/{req['id']}/claims", headers=w.headers["lead"], json=over)
    assert r.status_code == 409 and r.json()["error"]["code"] == "claim_exceeds_commitment"
    claim_body = {"items": [{"description": "Gate motor", "spec": "550W", "quantity": 1, "unit": "pc",
                             "unit_price": money("2100.00")},
                            {"description": "Labour", "quantity": 3, "unit": "h", "unit_price": money("150.00")}]}
    r = await client.post(f"/api/v1/fund-requests/{req['id']}/claims", headers=w.headers["lead"], json=claim_body)
    claim = r.json()["claims"][-1]
    assert claim["total"] == money("2550.00")
    # the inspector finds the motor is not the one approved: refused with the reason, then claimed again
    r = await client.post(f"/api/v1/fund-claims/{claim['id']}/refusal", headers=w.headers["insp"],
                          json={"reason": "The motor installed is 370W, not the 550W approved"})
    assert r.json()["claims"][-1]["status"] == "refused" and r.json()["status"] == "approved"
    r = await client.post(f"/api/v1/fund-requests/{req['id']}/claims", headers=w.headers["lead"], json=claim_body)
    claim = r.json()["claims"][-1]
    r = await client.post(f"/api/v1/fund-claims/{claim['id']}/signoff", headers=w.headers["insp"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "evidence_missing"
    r = await client.post(f"/api/v1/fund-claims/{claim['id']}/attachments", headers=w.headers["lead"],
                          files={"file": ("receipt.pdf", PDF, "application/pdf")})
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/fund-claims/{claim['id']}/signoff", headers=w.headers["lead"])
    assert r.status_code == 403  # who claimed does not accept
    r = await client.post(f"/api/v1/fund-claims/{claim['id']}/reimbursement", headers=w.headers["fin"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "claim_not_accepted"
    for who in ("insp", "fin"):
        r = await client.post(f"/api/v1/fund-claims/{claim['id']}/signoff", headers=w.headers[who])
        assert r.status_code == 200, r.text
    assert r.json()["claims"][-1]["status"] == "accepted"
    r = await client.post(f"/api/v1/fund-claims/{claim['id']}/reimbursement", headers=w.headers["fin"])
    done = r.json()
    assert (done["status"], done["spent"], done["committed"]) == ("reimbursed", money("2550.00"), money("0.00"))
    fund = (await client.get(f"/api/v1/funds/{w.fund_id}", headers=w.headers["fin"])).json()
    assert (fund["balances"]["available"], fund["balances"]["spent"]) == (money("97450.00"), money("2550.00"))
    assert await balanced({"tenant_id": str(w.tenant_id)}, uuid.UUID(w.fund_id))
    # another tenant's staff cannot read the request or its evidence
    other = await make_world(client)
    assert (await client.get(f"/api/v1/fund-requests/{req['id']}", headers=other.headers["fin"])).status_code == 404
    url = done["claims"][-1]["attachments"][0]["url"]
    assert (await client.get(url, headers=other.headers["fin"])).status_code == 404
    assert (await client.get(url, headers=w.headers["fin"])).content == PDF


async def test_returned_work_goes_round_again_and_commits_what_was_finally_approved(
        client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    # a plan returned for revision is changed and resubmitted on the same approval request
    r = await client.post(f"/api/v1/funds/{w.fund_id}/plans", headers=w.headers["fin"], json={
        "title": "January plan", "lines": [{"code": "L1", "category": "customer_care", "item": "Gifts", "month": 2,
                                            "amount": money("1000.00")}]})
    plan = r.json()
    r = await client.post(f"/api/v1/fund-plans/{plan['id']}/submission", headers=w.headers["fin"])
    approval = r.json()["approval_request"]
    await decide(w, approval, "return", "split the gifts by building")
    assert (await client.get(f"/api/v1/fund-plans/{plan['id']}", headers=w.headers["fin"])).json()["status"] == \
        "returned"
    r = await client.post(f"/api/v1/fund-plans/{plan['id']}/submission", headers=w.headers["fin"])
    assert (r.json()["status"], r.json()["approval_request"]) == ("in_review", approval)
    await decide(w, approval)
    assert (await client.get(f"/api/v1/fund-plans/{plan['id']}", headers=w.headers["fin"])).json()["status"] == \
        "approved"
    # a request returned and resubmitted (on the approval's page) with a lower amount commits that amount
    r = await client.post(f"/api/v1/funds/{w.fund_id}/requests", headers=w.headers["lead"],
                          json={"title": "Paint the fence", "amount": money("900.00"), "in_plan": False})
    req = r.json()
    await decide(w, req["approval_request"], "return", "too dear")
    r = await client.post(f"/api/v1/approvals/requests/{req['approval_request']}/resubmit",
                          headers=w.headers["lead"], json={"amount": money("750.00"), "comment": "new quote"})
    assert r.status_code in (200, 201), r.text
    await decide(w, req["approval_request"])
    done = (await client.get(f"/api/v1/fund-requests/{req['id']}", headers=w.headers["lead"])).json()
    assert (done["status"], done["amount"], done["committed"]) == ("approved", money("750.00"), money("750.00"))
    assert await balanced({"tenant_id": str(w.tenant_id)}, uuid.UUID(w.fund_id))


async def test_the_approver_sees_what_he_decides(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    r = await client.post(f"/api/v1/funds/{w.fund_id}/requests", headers=w.headers["lead"],
                          json={"title": "Repaint the lobby", "amount": money("800.00"), "in_plan": False,
                                "description": "two coats, washable"})
    req = r.json()
    # the approver holds no finance rights: he reads the request because he is asked to decide it
    seen = await client.get(f"/api/v1/fund-requests/{req['id']}", headers=w.headers["boss"])
    assert seen.status_code == 200 and seen.json()["description"] == "two coats, washable"
    assert (await client.get("/api/v1/funds", headers=w.headers["boss"])).status_code == 403
    # someone not involved (a signer of no claim yet is involved only through the fund's roles) does not
    outsider = await client.get(f"/api/v1/fund-requests/{req['id']}", headers=w.headers["lead"])
    assert outsider.status_code == 200  # the requester, of course
    async with tenant_scope(w.tenant_id):
        assert approvals.subject_link("fund_request", req["id"]) == f"/funds/requests/{req['id']}"
        assert approvals.subject_link("annual_plan", "x") == "/funds/plans/x/compare"


async def test_a_claim_tells_each_person_what_is_theirs_to_do(client: httpx.AsyncClient) -> None:
    from careclub.approvals.tables import Notification

    w = await make_world(client)
    r = await client.post(f"/api/v1/funds/{w.fund_id}/requests", headers=w.headers["lead"],
                          json={"title": "Fix the gate", "amount": money("500.00"), "in_plan": False})
    req = r.json()
    await decide(w, req["approval_request"])
    body = {"items": [{"description": "Hinge", "quantity": 2, "unit_price": money("100.00")}]}
    claim = (await client.post(f"/api/v1/fund-requests/{req['id']}/claims", headers=w.headers["lead"],
                               json=body)).json()["claims"][-1]
    await client.post(f"/api/v1/fund-claims/{claim['id']}/refusal", headers=w.headers["insp"],
                      json={"reason": "wrong hinge"})
    claim = (await client.post(f"/api/v1/fund-requests/{req['id']}/claims", headers=w.headers["lead"],
                               json=body)).json()["claims"][-1]
    await client.post(f"/api/v1/fund-claims/{claim['id']}/attachments", headers=w.headers["lead"],
                      files={"file": ("receipt.pdf", PDF, "application/pdf")})
    for who in ("insp", "fin"):
        await client.post(f"/api/v1/fund-claims/{claim['id']}/signoff", headers=w.headers[who])
    await client.post(f"/api/v1/fund-claims/{claim['id']}/reimbursement", headers=w.headers["fin"])
    async with tenant_scope(w.tenant_id):
        rows = await Notification.select(Notification.user_id, Notification.title, Notification.body).where(
            Notification.kind == "fund_claim")
    told: dict[str, list[str]] = {}
    for n in rows:
        who = next(k for k, v in w.users.items() if v == n["user_id"])
        told.setdefault(who, []).append(n["title"] + (f" / {n['body']}" if n["body"] else ""))
    # each reads it in the company's language (these people chose none); the values are put in after
    values = {"number": req["number"], "title": "Fix the gate"}

    def said(template: str) -> str:
        return i18n.translate("zh_CN", template).format(**values)

    assert told["insp"] == [said(CLAIM_TO_SIGN)] * 2
    assert said(CLAIM_TO_PAY) in told["fin"]
    refused = said(CLAIM_REFUSED) + " / " + i18n.translate("zh_CN", CLAIM_REASON).format(reason="wrong hinge")
    assert sorted(told["lead"]) == sorted([said(CLAIM_PAID), refused])
