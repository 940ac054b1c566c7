from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from careclub.approvals import jobs, rules
from careclub.approvals.tables import Notification, OutboxEmail
from careclub.core import clock
from careclub.core.db import tenant_scope
from tests.integration.approvals.conftest import CALLS, World
from tests.integration.approvals.test_requests import active_step, calls_for, decide, detail


def tenant_today() -> Any:
    local = clock.local(clock.now(), "Asia/Shanghai")
    assert local is not None
    return local.date()


async def test_meeting_then_committee(client: Any, world: World) -> None:
    req = await world.open(5_000_000, title="New playground")
    other = await world.open(2_000_000, title="Lobby lights")
    for r in (req, other):
        step = active_step(await detail(client, world, r["id"]))
        assert step["kind"] == "any_of"
        assert (await decide(client, world, r["id"], step["id"], "pmc1")).status_code == 201
    d = await detail(client, world, req["id"])
    step = active_step(d)
    assert step["kind"] == "meeting"
    expected_day = rules.next_meeting_date(tenant_today(), 4)
    assert d["timeline"][-1]["kind"] == "queued_for_meeting"
    assert d["timeline"][-1]["detail"]["meeting_on"] == expected_day.isoformat()
    # Nobody decides a meeting item alone, and it is not on anyone's personal task list.
    r = await decide(client, world, req["id"], step["id"], "lead1")
    assert r.status_code == 409 and r.json()["error"]["code"] == "decided_at_meeting"
    assert (await client.get("/api/v1/approvals/tasks", headers=world.h("lead1"))).json() == []

    meetings = (await client.get("/api/v1/approvals/meetings", headers=world.h("lead1"))).json()
    [meeting] = meetings
    assert meeting["scheduled_on"] == expected_day.isoformat() and meeting["items"] == 2
    agenda = (await client.get(f"/api/v1/approvals/meetings/{meeting['id']}", headers=world.h("lead1"))).json()
    assert sorted(i["title"] for i in agenda["items"]) == ["Lobby lights", "New playground"]

    minutes = {"items": [{"step_id": step["id"], "decision": "approve", "comment": "agreed unanimously"}],
               "note": "quorum: 2 of 2"}
    r = await client.post(f"/api/v1/approvals/meetings/{meeting['id']}/minutes", json=minutes,
                          headers=world.h("pmc1"))
    assert r.status_code == 403
    r = await client.post(f"/api/v1/approvals/meetings/{meeting['id']}/minutes", json=minutes,
                          headers=world.h("lead1"))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "held"
    again = await client.post(f"/api/v1/approvals/meetings/{meeting['id']}/minutes", json=minutes,
                              headers=world.h("lead2"))
    assert again.status_code == 409

    # The item left out waits for next month's meeting.
    d_other = await detail(client, world, other["id"])
    assert d_other["timeline"][-1]["kind"] == "moved_to_next_meeting"
    next_day = rules.next_meeting_date(expected_day + timedelta(days=1), 4)
    assert d_other["timeline"][-1]["detail"]["meeting_on"] == next_day.isoformat()
    upcoming = (await client.get("/api/v1/approvals/meetings", headers=world.h("lead1"))).json()
    assert [(m["scheduled_on"], m["items"]) for m in upcoming] == [(next_day.isoformat(), 1)]

    # Then the committee decides, last.
    d = await detail(client, world, req["id"])
    [meeting_decision] = [x for x in d["decisions"] if x["step"] == step["id"]]
    assert (meeting_decision["decider_name"], meeting_decision["comment"]) == ("Lee Board", "agreed unanimously")
    committee = active_step(d)
    assert committee["kind"] == "committee"
    tasks = (await client.get("/api/v1/approvals/tasks", headers=world.h("lead2"))).json()
    assert [t["step_id"] for t in tasks] == [committee["id"]]
    assert calls_for(req["id"]) == []
    r = await decide(client, world, req["id"], committee["id"], "lead2")
    assert r.json()["status"] == "approved"
    assert calls_for(req["id"]) == ["approved"]


async def test_delegation_lets_a_colleague_decide_and_records_both_names(client: Any, world: World) -> None:
    req = await world.open(500000)
    step = active_step(await detail(client, world, req["id"]))
    today = tenant_today()
    bad = await client.post("/api/v1/approvals/delegations", headers=world.h("pm"),
                            json={"delegate_id": str(world.users["pm"]), "starts_on": today.isoformat(),
                                  "ends_on": today.isoformat()})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "delegate_id"
    backwards = await client.post("/api/v1/approvals/delegations", headers=world.h("pm"),
                                  json={"delegate_id": str(world.users["lead1"]), "starts_on": today.isoformat(),
                                        "ends_on": (today - timedelta(days=1)).isoformat()})
    assert backwards.status_code == 422 and backwards.json()["error"]["field"] == "ends_on"
    # a delegation that starts tomorrow does not help today
    later = await client.post("/api/v1/approvals/delegations", headers=world.h("pm"),
                              json={"delegate_id": str(world.users["lead1"]),
                                    "starts_on": (today + timedelta(days=1)).isoformat(),
                                    "ends_on": (today + timedelta(days=3)).isoformat()})
    assert later.status_code == 201, later.text
    assert (await decide(client, world, req["id"], step["id"], "lead1")).status_code == 404
    now = await client.post("/api/v1/approvals/delegations", headers=world.h("pm"),
                            json={"delegate_id": str(world.users["lead1"]), "starts_on": today.isoformat(),
                                  "ends_on": (today + timedelta(days=2)).isoformat(), "reason": "on leave"})
    assert now.status_code == 201
    tasks = (await client.get("/api/v1/approvals/tasks", headers=world.h("lead1"))).json()
    [task] = [t for t in tasks if t["request_id"] == str(req["id"])]
    assert task["on_behalf_of"] == str(world.users["pm"])
    r = await decide(client, world, req["id"], step["id"], "lead1", comment="for Pat")
    assert r.status_code == 201, r.text
    d = await detail(client, world, req["id"], who="lead1")
    [dec] = d["decisions"]
    assert (dec["decider_name"], dec["on_behalf_of_name"]) == ("Lee Board", "Pat Manager")
    assert d["timeline"][-1]["detail"]["on_behalf_of"] == "Pat Manager"
    # pm's slot is filled: pm himself now gets a 409, the other signers finish the step
    assert (await decide(client, world, req["id"], step["id"], "pm")).status_code == 409
    for who in ("rr", "pmc2"):
        assert (await decide(client, world, req["id"], step["id"], who)).status_code == 201
    assert (await detail(client, world, req["id"]))["status"] == "approved"
    # the delegation can be withdrawn
    r = await client.delete(f"/api/v1/approvals/delegations/{now.json()['id']}", headers=world.h("pm"))
    assert r.status_code == 204


async def test_deadline_job_reminds_then_escalates_with_a_moved_clock(client: Any, world: World) -> None:
    req = await world.open(50000, title="Printer")  # medium: 4 hours, reminder 1 hour before
    step = active_step(await detail(client, world, req["id"]))
    tid = str(world.tenant_id)
    assert await jobs.approvals_sweep({}, tenant_id=tid) == {"reminded": 0, "escalated": 0, "overdue": 0,
                                                             "mailed": 0}
    clock.travel(timedelta(hours=3, minutes=5))
    assert (await jobs.approvals_sweep({}, tenant_id=tid))["reminded"] == 1
    assert (await jobs.approvals_sweep({}, tenant_id=tid))["reminded"] == 0
    async with tenant_scope(world.tenant_id):
        reminders = await Notification.select(Notification.user_id, Notification.body).where(
            Notification.kind == "approval_reminder")
        mail = await OutboxEmail.count().where(OutboxEmail.subject == "审批提醒：Printer")
    assert {r["user_id"] for r in reminders} == {world.users["pmc1"], world.users["pmc2"]}
    # the due time in the company's zone and language, not an ISO timestamp in UTC
    due = datetime.fromisoformat(step["due_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert {r["body"] for r in reminders} == {f"{step['name']}的截止时间为 {due:%Y-%m-%d %H:%M}"}
    assert mail == 2
    assert (await client.get("/api/v1/approvals/tasks", headers=world.h("lead1"))).json() == []
    clock.travel(timedelta(hours=1))
    counts = await jobs.approvals_sweep({}, tenant_id=tid)
    assert counts["escalated"] == 1
    assert (await jobs.approvals_sweep({}, tenant_id=tid))["escalated"] == 0
    tasks = (await client.get("/api/v1/approvals/tasks", headers=world.h("lead1"))).json()
    assert [t["step_id"] for t in tasks] == [step["id"]]
    inbox = (await client.get("/api/v1/notifications", headers=world.h("lead1"))).json()["items"]
    assert any(n["kind"] == "approval_escalated" for n in inbox)
    r = await decide(client, world, req["id"], step["id"], "lead1", comment="escalated to me")
    assert r.json()["status"] == "approved"
    kinds = [e["kind"] for e in (await detail(client, world, req["id"]))["timeline"]]
    assert kinds == ["submitted", "step_started", "reminder_sent", "escalated", "decided", "approved"]
    assert CALLS[-1][1]["id"] == req["id"]


async def test_outbox_is_for_admins_and_the_inbox_is_personal(client: Any, world: World) -> None:
    await world.open(50000, title="Chairs")
    r = await client.get("/api/v1/approvals/outbox", headers=world.h("admin"))
    assert r.status_code == 200
    assert {m["to_email"] for m in r.json()["items"] if m["subject"] == "待您审批：Chairs"} == {
        f"pmc1@{world.slug}.test", f"pmc2@{world.slug}.test"}
    assert (await client.get("/api/v1/approvals/outbox", headers=world.h("pmc1"))).status_code == 403
    mine = (await client.get("/api/v1/notifications?unread=true", headers=world.h("pmc1"))).json()["items"]
    assert [n["title"] for n in mine] == ["待您审批：Chairs"]
    assert (await client.get("/api/v1/notifications", headers=world.h("pm"))).json()["items"] == []
    r = await client.post("/api/v1/notifications/read-all", headers=world.h("pmc1"))
    assert r.json() == {"marked": 1}
    assert (await client.get("/api/v1/notifications?unread=true", headers=world.h("pmc1"))).json()["total"] == 0


async def test_delegate_must_be_able_to_decide(client: Any, world: World) -> None:
    today = tenant_today()
    r = await client.post("/api/v1/approvals/delegations", headers=world.h("pm"),
                          json={"delegate_id": str(world.users["clerk"]), "starts_on": today.isoformat(),
                                "ends_on": today.isoformat()})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "delegate_cannot_decide"
    r = await client.post("/api/v1/approvals/delegations", headers=world.h("clerk"),
                          json={"delegate_id": str(world.users["pm"]), "starts_on": today.isoformat(),
                                "ends_on": today.isoformat()})
    assert r.status_code == 403  # the clerk holds no approvals.decide himself


async def test_racing_minutes_are_recorded_once(client: Any, world: World) -> None:
    req = await world.open(2_000_000, title="Fence")
    step = active_step(await detail(client, world, req["id"]))
    assert (await decide(client, world, req["id"], step["id"], "pmc2")).status_code == 201
    meeting_step = active_step(await detail(client, world, req["id"]))
    [meeting] = (await client.get("/api/v1/approvals/meetings", headers=world.h("lead1"))).json()

    async def record(who: str, decision: str) -> Any:
        return await client.post(f"/api/v1/approvals/meetings/{meeting['id']}/minutes", headers=world.h(who),
                                 json={"items": [{"step_id": meeting_step["id"], "decision": decision,
                                                  "comment": f"{who} minutes"}]})

    results = await asyncio.gather(*(record(w, d) for w, d in
                                     (("lead1", "approve"), ("lead2", "reject"), ("lead1", "reject"),
                                      ("lead2", "approve"))))
    assert sorted(r.status_code for r in results) == [201, 409, 409, 409]
    d = await detail(client, world, req["id"])
    assert len([x for x in d["decisions"] if x["step"] == meeting_step["id"]]) == 1


async def test_working_day_deadline_skips_the_weekend_and_escalates(client: Any, world: World) -> None:
    from datetime import datetime

    spec = (await client.get("/api/v1/approvals/policies/purchase", headers=world.h("admin"))).json()["spec"]
    step_spec = spec["rules"][1]["steps"][0]
    step_spec.pop("deadline_hours")
    step_spec.pop("remind_before_hours")
    step_spec["deadline_working_days"] = 2
    r = await client.put("/api/v1/approvals/policies/purchase", json={"policy": spec}, headers=world.h("admin"))
    assert r.status_code == 200, r.text
    req = await world.open(50000, title="Scanner")
    step = active_step(await detail(client, world, req["id"]))
    started = datetime.fromisoformat(step["started_at"])
    due = datetime.fromisoformat(step["due_at"])
    assert due == rules.add_working_days(started, 2, "Asia/Shanghai")
    assert timedelta(days=2) <= due - started <= timedelta(days=4)  # a weekend in between adds two days
    clock.travel(due - started - timedelta(minutes=1))
    assert (await jobs.approvals_sweep({}, tenant_id=str(world.tenant_id)))["escalated"] == 0
    clock.travel(timedelta(minutes=2))
    counts = await jobs.approvals_sweep({}, tenant_id=str(world.tenant_id))
    assert counts["escalated"] == 1 and counts["reminded"] == 1
    tasks = (await client.get("/api/v1/approvals/tasks", headers=world.h("lead2"))).json()
    assert [t["step_id"] for t in tasks] == [step["id"]]
