from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any

import pytest

from careclub.approvals.tables import ApprovalStep
from careclub.core.db import tenant_scope
from careclub.core.errors import Conflict, ValidationFailed
from careclub.platform import audit
from tests.integration.approvals.conftest import CALLS, World


async def detail(client: Any, w: World, request_id: Any, who: str = "clerk") -> dict[str, Any]:
    r = await client.get(f"/api/v1/approvals/requests/{request_id}", headers=w.h(who))
    assert r.status_code == 200, r.text
    return r.json()


def active_step(d: dict[str, Any]) -> dict[str, Any]:
    [step] = [s for s in d["steps"] if s["status"] == "active"]
    return step


async def decide(client: Any, w: World, request_id: Any, step_id: Any, who: str, decision: str = "approve",
                 comment: str = "ok") -> Any:
    return await client.post(f"/api/v1/approvals/requests/{request_id}/decisions",
                             json={"step_id": str(step_id), "decision": decision, "comment": comment},
                             headers=w.h(who))


def calls_for(request_id: Any) -> list[str]:
    return [name for name, req in CALLS if str(req["id"]) == str(request_id)]


async def test_auto_step_approves_at_once_with_its_reason(client: Any, world: World) -> None:
    req = await world.open(9999)
    assert req["status"] == "approved"
    assert calls_for(req["id"]) == ["approved"]
    [(_, payload)] = [c for c in CALLS if str(c[1]["id"]) == str(req["id"])]
    assert {"id", "subject_type", "subject_id", "status", "amount", "requester_id"} <= set(payload)
    assert payload["status"] == "approved" and payload["amount"] == 9999
    d = await detail(client, world, req["id"])
    assert d["steps"][0]["status"] == "approved"
    assert d["steps"][0]["reason"] == "below 100.00 no approval is needed"
    kinds = [e["kind"] for e in d["timeline"]]
    assert kinds == ["submitted", "auto_approved", "approved"]
    assert d["timeline"][1]["detail"]["reason"] == "below 100.00 no approval is needed"


async def test_single_step_decided_from_the_task_list(client: Any, world: World) -> None:
    req = await world.open(50000, title="New desk")
    tasks = (await client.get("/api/v1/approvals/tasks", headers=world.h("pmc2"))).json()
    [task] = [t for t in tasks if t["request_id"] == str(req["id"])]
    assert task["title"] == "New desk" and task["kind"] == "single"
    assert (await client.get("/api/v1/approvals/tasks", headers=world.h("pm"))).json() == []
    r = await decide(client, world, req["id"], task["step_id"], "pmc2", comment="fine by me")
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "approved"
    assert calls_for(req["id"]) == ["approved"]
    d = await detail(client, world, req["id"], who="pmc2")
    [dec] = d["decisions"]
    assert (dec["decision"], dec["comment"], dec["decider_name"]) == ("approve", "fine by me", "Paul Centre")
    assert (await client.get("/api/v1/approvals/tasks", headers=world.h("pmc1"))).json() == []


async def test_racing_deciders_exactly_one_wins(client: Any, world: World) -> None:
    req = await world.open(50000)
    step = active_step(await detail(client, world, req["id"]))

    async def attempt(i: int) -> int:
        who = "pmc1" if i % 2 else "pmc2"
        decision = "approve" if i % 3 else "reject"
        return (await decide(client, world, req["id"], step["id"], who, decision, comment=f"try {i}")).status_code

    codes = await asyncio.gather(*(attempt(i) for i in range(12)))
    assert sorted(codes) == [201] + [409] * 11
    d = await detail(client, world, req["id"])
    assert len(d["decisions"]) == 1
    assert len(calls_for(req["id"])) == 1
    assert d["status"] in ("approved", "rejected")


async def test_a_late_decider_gets_a_clear_409(client: Any, world: World) -> None:
    req = await world.open(50000)
    step = active_step(await detail(client, world, req["id"]))
    assert (await decide(client, world, req["id"], step["id"], "pmc1")).status_code == 201
    late = await decide(client, world, req["id"], step["id"], "pmc2")
    assert late.status_code == 409
    assert late.json()["error"]["code"] in ("request_not_in_review", "step_already_decided")


@pytest.mark.parametrize("order", list(itertools.permutations(("pm", "rr", "pmc1"))))
async def test_countersign_completes_only_when_all_have_approved(client: Any, world: World,
                                                                 order: tuple[str, ...]) -> None:
    req = await world.open(500000)
    step = active_step(await detail(client, world, req["id"]))
    assert step["kind"] == "countersign"
    for n, who in enumerate(order):
        r = await decide(client, world, req["id"], step["id"], who)
        assert r.status_code == 201, r.text
        expected = "approved" if n == len(order) - 1 else "in_review"
        assert r.json()["status"] == expected
        assert calls_for(req["id"]) == (["approved"] if n == len(order) - 1 else [])
        again = await decide(client, world, req["id"], step["id"], who)
        assert again.status_code == 409
    d = await detail(client, world, req["id"])
    assert [x["decider_name"] for x in d["decisions"]] == [
        {"pm": "Pat Manager", "rr": "Rita Reviewer", "pmc1": "Pam Centre"}[w] for w in order]


async def test_countersign_any_rejection_rejects(client: Any, world: World) -> None:
    req = await world.open(500000)
    step = active_step(await detail(client, world, req["id"]))
    assert (await decide(client, world, req["id"], step["id"], "rr")).status_code == 201
    r = await decide(client, world, req["id"], step["id"], "pm", "reject", comment="over budget")
    assert r.status_code == 201
    assert r.json()["status"] == "rejected"
    assert calls_for(req["id"]) == ["rejected"]
    late = await decide(client, world, req["id"], step["id"], "pmc1")
    assert late.status_code == 409


async def test_countersign_racing_signers_of_one_slot(client: Any, world: World) -> None:
    # rr and deputy both hold the region slot: one signature fills it, the other gets 409.
    req = await world.open(500000)
    step = active_step(await detail(client, world, req["id"]))
    codes = await asyncio.gather(*(decide(client, world, req["id"], step["id"], who)
                                   for who in ("rr", "deputy", "rr", "deputy")))
    assert sorted(c.status_code for c in codes) == [201, 409, 409, 409]
    d = await detail(client, world, req["id"])
    assert d["status"] == "in_review" and len(d["decisions"]) == 1


async def test_reject_and_return_need_a_comment_and_strangers_are_refused(client: Any, world: World) -> None:
    req = await world.open(50000)
    step = active_step(await detail(client, world, req["id"]))
    r = await decide(client, world, req["id"], step["id"], "pmc1", "reject", comment=" ")
    assert r.status_code == 422 and r.json()["error"]["field"] == "comment"
    r = await decide(client, world, req["id"], step["id"], "pmc1", "maybe")
    assert r.status_code == 422 and r.json()["error"]["field"] == "decision"
    # lead1 holds approvals.decide but is no approver of this request: he cannot even see it.
    r = await decide(client, world, req["id"], step["id"], "lead1")
    assert r.status_code == 404
    # the requester sees the request but may not decide (no approvals.decide permission)
    r = await decide(client, world, req["id"], step["id"], "clerk")
    assert r.status_code == 403
    r = await decide(client, world, req["id"], uuid.uuid4(), "pmc1")
    assert r.status_code == 404


async def test_return_resubmit_keeps_history_and_the_policy_version(client: Any, world: World) -> None:
    req = await world.open(50000, title="Paint the lobby")
    step = active_step(await detail(client, world, req["id"]))
    r = await decide(client, world, req["id"], step["id"], "pmc1", "return", comment="attach three quotes")
    assert r.json()["status"] == "returned"
    assert calls_for(req["id"]) == ["returned"]
    # a new policy version meanwhile must not change this request's chain
    spec = (await client.get("/api/v1/approvals/policies/purchase", headers=world.h("admin"))).json()["spec"]
    spec["rules"][1]["steps"][0]["name"] = "Centre approves (v2)"
    put = await client.put("/api/v1/approvals/policies/purchase", json={"policy": spec}, headers=world.h("admin"))
    assert put.json()["version"] == 2
    stranger = await client.post(f"/api/v1/approvals/requests/{req['id']}/resubmit", json={},
                                 headers=world.h("pmc1"))
    assert stranger.status_code == 403
    r = await client.post(f"/api/v1/approvals/requests/{req['id']}/resubmit",
                          json={"comment": "quotes attached", "amount": {"amount": "450.00", "currency": "CNY"},
                                "attachments": [{"name": "quotes.pdf", "url": "/files/q.pdf"}]},
                          headers=world.h("clerk"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "in_review" and r.json()["round"] == 2
    assert r.json()["amount"] == {"amount": "450.00", "currency": "CNY"}
    d = await detail(client, world, req["id"])
    assert d["policy_version"] == 1
    assert [(s["round"], s["name"], s["status"]) for s in d["steps"]] == [
        (1, "Centre approves", "returned"), (2, "Centre approves", "active")]
    again = await client.post(f"/api/v1/approvals/requests/{req['id']}/resubmit", json={}, headers=world.h("clerk"))
    assert again.status_code == 409
    step2 = active_step(d)
    assert (await decide(client, world, req["id"], step2["id"], "pmc2")).json()["status"] == "approved"
    d = await detail(client, world, req["id"])
    assert [e["kind"] for e in d["timeline"]] == ["submitted", "step_started", "decided", "returned", "resubmitted",
                                                  "step_started", "decided", "approved"]
    assert calls_for(req["id"]) == ["returned", "approved"]
    assert d["attachments"] == [{"name": "quotes.pdf", "url": "/files/q.pdf"}]


async def test_withdraw_ends_the_request(client: Any, world: World) -> None:
    req = await world.open(500000)
    step = active_step(await detail(client, world, req["id"]))
    assert (await decide(client, world, req["id"], step["id"], "pm")).status_code == 201
    r = await client.post(f"/api/v1/approvals/requests/{req['id']}/withdraw", json={"reason": "not needed"},
                          headers=world.h("rr"))
    assert r.status_code == 403
    r = await client.post(f"/api/v1/approvals/requests/{req['id']}/withdraw", json={"reason": "not needed"},
                          headers=world.h("clerk"))
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert calls_for(req["id"]) == ["withdrawn"]
    assert (await decide(client, world, req["id"], step["id"], "rr")).status_code == 409
    again = await client.post(f"/api/v1/approvals/requests/{req['id']}/withdraw", json={}, headers=world.h("clerk"))
    assert again.status_code == 409
    assert (await client.get("/api/v1/approvals/tasks", headers=world.h("rr"))).json() == []


async def test_every_event_is_in_the_audit_trail(client: Any, world: World) -> None:
    req = await world.open(50000)
    step = active_step(await detail(client, world, req["id"]))
    await decide(client, world, req["id"], step["id"], "pmc1")
    async with tenant_scope(world.tenant_id):
        rows = await audit.browse(entity_type="approval_request", entity_id=str(req["id"]))
    assert sorted(r["action"] for r in rows) == sorted(
        ["approval.submitted", "approval.step_started", "approval.decided", "approval.approved"])
    [decided] = [r for r in rows if r["action"] == "approval.decided"]
    assert decided["actor_name"] == "Pam Centre"


async def test_open_request_refusals(world: World) -> None:
    with pytest.raises(ValidationFailed) as err:
        await world.open(100, subject_type="never_registered")
    assert err.value.code == "unknown_subject_type"
    with pytest.raises(ValidationFailed) as err:
        await world.open(-1)
    assert err.value.field == "amount"
    # from the company itself the countersign finds no project manager: refused, nothing kept
    with pytest.raises(ValidationFailed) as err:
        await world.open(500000, unit="HQ")
    assert err.value.code == "no_approver"
    async with tenant_scope(world.tenant_id):
        assert await ApprovalStep.count() == 0


async def test_another_tenants_ids_answer_404(client: Any, world: World) -> None:
    from tests.integration.approvals.conftest import make_world

    other = await make_world(client)
    req = await world.open(50000)
    step = active_step(await detail(client, world, req["id"]))
    for who in ("admin", "pmc1", "clerk"):
        assert (await client.get(f"/api/v1/approvals/requests/{req['id']}", headers=other.h(who))).status_code == 404
        r = await decide(client, other, req["id"], step["id"], "pmc1")
        assert r.status_code == 404
        r = await client.post(f"/api/v1/approvals/requests/{req['id']}/withdraw", json={}, headers=other.h("clerk"))
        assert r.status_code == 404
        r = await client.post(f"/api/v1/approvals/requests/{req['id']}/resubmit", json={}, headers=other.h("clerk"))
        assert r.status_code == 404
    assert (await client.get("/api/v1/approvals/tasks", headers=other.h("pmc1"))).json() == []
    # and the request is untouched
    assert (await detail(client, world, req["id"]))["status"] == "in_review"


async def _refuse(request: dict[str, Any]) -> None:
    raise Conflict("the subject refuses: the budget line is closed", code="budget_closed")


async def _nothing(request: dict[str, Any]) -> None:
    return None


async def test_callback_runs_in_the_deciding_transaction(client: Any, world: World) -> None:
    from careclub.approvals import service

    service.register_subject("guarded_purchase", on_approved=_refuse, on_rejected=_nothing)
    spec = (await client.get("/api/v1/approvals/policies/purchase", headers=world.h("admin"))).json()["spec"]
    spec["subject_type"] = "guarded_purchase"
    r = await client.put("/api/v1/approvals/policies/guarded_purchase", json={"policy": spec},
                         headers=world.h("admin"))
    assert r.status_code == 200, r.text
    req = await world.open(50000, subject_type="guarded_purchase")
    step = active_step(await detail(client, world, req["id"]))
    r = await decide(client, world, req["id"], step["id"], "pmc1")
    assert r.status_code == 409 and r.json()["error"]["code"] == "budget_closed"
    d = await detail(client, world, req["id"])
    assert d["status"] == "in_review" and d["decisions"] == []  # the decision went with the callback
    assert active_step(d)["id"] == step["id"]
    # an auto-approved request whose callback refuses is not opened at all
    with pytest.raises(Conflict):
        await world.open(50, subject_type="guarded_purchase")


async def test_an_approvals_manager_sees_requests_of_his_subtree_only(client: Any, world: World) -> None:
    inside = await world.open(50000, unit="P1")
    outside = await world.open(50000, unit="PMC")
    r = await client.get(f"/api/v1/approvals/requests/{inside['id']}", headers=world.h("regmgr"))
    assert r.status_code == 200
    r = await client.get(f"/api/v1/approvals/requests/{outside['id']}", headers=world.h("regmgr"))
    assert r.status_code == 404
    for who in ("admin",):
        for req in (inside, outside):
            r = await client.get(f"/api/v1/approvals/requests/{req['id']}", headers=world.h(who))
            assert r.status_code == 200
    # policies are company-wide: a manager of one region may read but not change them
    spec = (await client.get("/api/v1/approvals/policies/purchase", headers=world.h("regmgr"))).json()["spec"]
    r = await client.put("/api/v1/approvals/policies/purchase", json={"policy": spec}, headers=world.h("regmgr"))
    assert r.status_code == 403


async def test_withdraw_racing_decisions_ends_one_way_only(client: Any, world: World) -> None:
    req = await world.open(50000)
    step = active_step(await detail(client, world, req["id"]))
    withdraw = client.post(f"/api/v1/approvals/requests/{req['id']}/withdraw", json={}, headers=world.h("clerk"))
    results = await asyncio.gather(withdraw, *(decide(client, world, req["id"], step["id"], who)
                                               for who in ("pmc1", "pmc2", "pmc1")))
    codes = [r.status_code for r in results]
    assert sorted(codes[1:]).count(201) <= 1 and all(c in (200, 201, 409) for c in codes)
    d = await detail(client, world, req["id"])
    assert d["status"] in ("withdrawn", "approved")
    assert calls_for(req["id"]) == [d["status"]]
    if d["status"] == "withdrawn":
        assert codes[0] == 200 and d["decisions"] == []
    else:
        assert codes[0] == 409 and len(d["decisions"]) == 1
