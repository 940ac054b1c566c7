"""The response structs are the one source of the API's bodies: shaping what a service answered
through them must not lose, rename or re-spell anything, at any depth (a timeline event's detail, a
signer slot, an attachment). Every read endpoint is compared with the service's own answer, encoded
as JSON the way the untyped handlers sent it, over a tenant holding every kind of timeline event."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from typing import Any

import msgspec

from careclub.approvals import jobs, service
from careclub.approvals.service._requests import _event
from careclub.core import clock
from careclub.core.db import tenant_scope
from careclub.core.errors import NotFound
from careclub.core.money import with_money
from tests.integration.approvals.conftest import World
from tests.integration.approvals.test_meetings_delegation_deadlines import tenant_today
from tests.integration.approvals.test_requests import active_step, decide, detail

EVENT_KINDS = {"submitted", "step_started", "auto_approved", "queued_for_meeting", "moved_to_next_meeting",
               "decided", "approved", "rejected", "returned", "resubmitted", "withdrawn", "reminder_sent",
               "escalated", "overdue"}


def as_sent(value: Any, money: bool = True) -> Any:
    return json.loads(msgspec.json.encode(with_money(value, "CNY", "amount") if money else value))


async def _every_kind_of_request(client: Any, w: World) -> list[uuid.UUID]:
    big, other = await w.open(5_000_000, title="Playground"), await w.open(2_000_000, title="Lights")
    for r in (big, other):
        step = active_step(await detail(client, w, r["id"]))
        assert (await decide(client, w, r["id"], step["id"], "pmc1")).status_code == 201
    [meeting] = (await client.get("/api/v1/approvals/meetings", headers=w.h("lead1"))).json()
    step = active_step(await detail(client, w, big["id"]))
    r = await client.post(f"/api/v1/approvals/meetings/{meeting['id']}/minutes", headers=w.h("lead1"),
                          json={"items": [{"step_id": step["id"], "decision": "approve"}], "note": "n"})
    assert r.status_code == 201, r.text
    returned = await w.open(50000, title="Returned")
    step = active_step(await detail(client, w, returned["id"]))
    assert (await decide(client, w, returned["id"], step["id"], "pmc1", "return", "why")).status_code == 201
    r = await client.post(f"/api/v1/approvals/requests/{returned['id']}/resubmit", headers=w.h("clerk"),
                          json={"comment": "again", "amount": {"amount": "450.00", "currency": "CNY"},
                                "attachments": [{"name": "a.pdf", "url": "/f/a.pdf", "size": 12}, {"name": "b"}]})
    assert r.status_code == 200, r.text
    rejected = await w.open(50000, title="Rejected")
    step = active_step(await detail(client, w, rejected["id"]))
    r = await client.post(f"/api/v1/approvals/requests/{rejected['id']}/decisions", headers=w.h("pmc2"),
                          json={"step_id": step["id"], "decision": "reject", "comment": "no",
                                "attachments": [{"name": "x.pdf"}]})
    assert r.status_code == 201, r.text
    withdrawn = await w.open(500000, title="Withdrawn")
    r = await client.post(f"/api/v1/approvals/requests/{withdrawn['id']}/withdraw", json={"reason": "r"},
                          headers=w.h("clerk"))
    assert r.status_code == 200, r.text
    late = await w.open(50000, title="Late")
    today = tenant_today()
    r = await client.post("/api/v1/approvals/delegations", headers=w.h("pm"),
                          json={"delegate_id": str(w.users["lead1"]), "starts_on": today.isoformat(),
                                "ends_on": (today + timedelta(days=2)).isoformat(), "reason": "leave"})
    assert r.status_code == 201, r.text
    auto = await w.open(10, title="Auto")
    clock.travel(timedelta(hours=5))
    await jobs.approvals_sweep({}, tenant_id=str(w.tenant_id))  # reminds, then escalates `late`
    async with tenant_scope(w.tenant_id):
        # A step past its deadline with nobody to escalate to: no step of this policy is one.
        await _event(late["id"], "overdue", {"step": "Centre approves"}, actor=(None, "system"))
    return [r["id"] for r in (big, other, returned, rejected, withdrawn, late, auto)]


async def test_every_read_answers_what_the_service_answered(client: Any, world: World) -> None:
    w = world
    ids = await _every_kind_of_request(client, w)
    kinds = {e["kind"] for i in ids for e in (await detail(client, w, i))["timeline"]}
    assert kinds == EVENT_KINDS
    compared = set()
    for who in ("clerk", "pmc1", "lead1", "pm", "admin"):
        uid = w.users[who]
        async with tenant_scope(w.tenant_id):
            want = {
                "/api/v1/approvals/tasks": as_sent(await service.pending_tasks(uid)),
                "/api/v1/approvals/requests": as_sent(await service.my_requests(uid)),
                "/api/v1/approvals/delegations": as_sent(await service.delegations(uid), False),
                "/api/v1/approvals/meetings": as_sent(await service.meetings(upcoming_only=True), False),
                "/api/v1/approvals/meetings?all=true": as_sent(await service.meetings(upcoming_only=False), False),
                "/api/v1/approvals/policies": as_sent(await service.list_policies(), False),
                "/api/v1/approvals/policies/purchase": as_sent(await service.current_policy("purchase"), False),
                "/api/v1/approvals/bodies": as_sent(await service.list_bodies(), False),
            }
            for m in await service.meetings(upcoming_only=False):
                want[f"/api/v1/approvals/meetings/{m['id']}"] = as_sent(await service.agenda(m["id"]))
            rows, total = await service.notifications(uid, limit=50, offset=0)
            want["/api/v1/notifications"] = as_sent({"items": rows, "total": total, "limit": 50, "offset": 0}, False)
            rows, total = await service.outbox_page(limit=50, offset=0, with_body=True)
            want["/api/v1/approvals/outbox"] = as_sent({"items": rows, "total": total, "limit": 50, "offset": 0},
                                                       False)
            for i in ids:
                try:
                    want[f"/api/v1/approvals/requests/{i}"] = as_sent(await service.detail(i, uid, manage_scope=[]))
                except NotFound:  # not this reader's to see: a 404 through the API as well
                    continue
        for url, expected in want.items():
            r = await client.get(url, headers=w.h(who))
            if r.status_code == 403:
                continue
            assert r.status_code == 200, (who, url, r.text)
            assert r.json() == expected, (who, url)
            if expected:
                compared.add(re.sub(r"[0-9a-f-]{36}", "{id}", url.split("?")[0]))
    assert compared == {f"/api/v1/approvals/{p}" for p in (
        "tasks", "requests", "requests/{id}", "delegations", "meetings", "meetings/{id}", "policies",
        "policies/purchase", "bodies", "outbox")} | {"/api/v1/notifications"}, compared
