"""Input too long or too large for where it lands is refused by the decoder as a 422 naming the field,
before anything reaches PostgreSQL; the longest input that fits is still taken."""

from __future__ import annotations

from typing import Any

from tests.integration.approvals.conftest import World
from tests.integration.approvals.test_requests import active_step, decide, detail


def refused(r: Any, field: str) -> None:
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field, r.text


async def test_preview_fields_are_bounded_by_the_columns_they_are_matched_against(client: Any, world: World) -> None:
    url, h = "/api/v1/approvals/preview", world.h("clerk")
    refused(await client.post(url, json={"subject_type": "p" * 49}, headers=h), "subject_type")
    refused(await client.post(url, json={"subject_type": "purchase", "category": "c" * 49}, headers=h), "category")
    refused(await client.post(url, json={"subject_type": "purchase", "org_unit": "U" * 65}, headers=h), "org_unit")
    refused(await client.post(url, json={"subject_type": "purchase",
                                         "amount": {"amount": "1" * 19, "currency": "CNY"}}, headers=h),
            "amount.amount")
    # The longest amount the form allows is read by the service (and matched by the open-ended rule).
    r = await client.post(url, json={"subject_type": "purchase",
                                     "amount": {"amount": "9" * 15 + ".99", "currency": "CNY"}}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["rule"] == "huge"


async def test_decisions_and_resubmits_are_bounded(client: Any, world: World) -> None:
    req = await world.open(50000)
    step = active_step(await detail(client, world, req["id"]))
    url = f"/api/v1/approvals/requests/{req['id']}/decisions"
    refused(await client.post(url, json={"step_id": step["id"], "decision": "x" * 17}, headers=world.h("pmc1")),
            "decision")
    refused(await client.post(url, json={"step_id": step["id"], "decision": "return", "comment": "c" * 4001},
                              headers=world.h("pmc1")), "comment")
    refused(await client.post(url, json={"step_id": step["id"], "decision": "return", "comment": "why",
                                         "attachments": [{"name": "n" * 256}]}, headers=world.h("pmc1")),
            "attachments[0].name")
    refused(await client.post(url, json={"step_id": step["id"], "decision": "return", "comment": "why",
                                         "attachments": [{"name": "a"}] * 51}, headers=world.h("pmc1")),
            "attachments")
    r = await decide(client, world, req["id"], step["id"], "pmc1", "return", "c" * 4000)
    assert r.status_code == 201, r.text
    url = f"/api/v1/approvals/requests/{req['id']}/resubmit"
    refused(await client.post(url, json={"title": "t" * 301}, headers=world.h("clerk")), "title")
    r = await client.post(url, json={"title": "t" * 300}, headers=world.h("clerk"))
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "t" * 300


async def test_minutes_and_policies_are_bounded(client: Any, world: World) -> None:
    import uuid

    url = f"/api/v1/approvals/meetings/{uuid.uuid4()}/minutes"
    item = {"step_id": str(uuid.uuid4()), "decision": "approve"}
    refused(await client.post(url, json={"items": [item] * 501}, headers=world.h("lead1")), "items")
    refused(await client.post(url, json={"items": [], "note": "n" * 4001}, headers=world.h("lead1")), "note")
    spec = (await client.get("/api/v1/approvals/policies/purchase", headers=world.h("admin"))).json()["spec"]
    r = await client.put("/api/v1/approvals/policies/purchase",
                         json={"policy": {**spec, **{f"k{i}": 1 for i in range(16)}}}, headers=world.h("admin"))
    refused(r, "policy")
