"""A ticket's life through the contract's endpoints: registered, dispatched, accepted, worked, resolved, signed
off, visited, closed; a bad rating sends it back as rework; refused steps are refused with the reason."""

from __future__ import annotations

from typing import Any

from tests.integration.tickets.helpers import get, move, raise_ticket, tower


async def test_a_repair_from_the_residents_phone_to_closed_with_a_rework(client: Any) -> None:
    w = await tower(client)
    created = await raise_ticket(client, w["resident"], unit=w["unit"])
    assert created["number"].startswith("WX-") and created["status"] == "registered"
    assert created["type"] == "repair" and created["due_at"]
    tid = created["id"]

    seen = await get(client, w["resident"], tid)
    assert seen["allowed_transitions"] == []  # a resident only follows it until it is resolved
    assert [e["kind"] for e in seen["timeline"]] == ["registered"]
    assert set(seen["timeline"][0]) >= {"at", "kind", "by", "note"}

    desk = await get(client, w["dispatcher"], tid)
    assert "dispatched" in desk["allowed_transitions"] and "accepted" in desk["allowed_transitions"]
    await move(client, w["dispatcher"], tid, "dispatched", department=w["eng"]["id"], expected_status="registered")
    # the engineer's department holds it now: he sees it and takes it
    taken = await move(client, w["engineer"], tid, "accepted")
    assert taken["responded_at"] and taken["assignee"] == w["engineer"]["id"]
    await move(client, w["engineer"], tid, "in_progress")
    r = await client.post(f"/api/v1/tickets/{tid}/work", headers=w["engineer"]["headers"], json={
        "note": "replaced the cartridge", "minutes": 40,
        "materials": [{"name": "tap cartridge", "quantity": "1", "supplied_by": "company"}]})
    assert r.status_code == 201, r.text
    await move(client, w["engineer"], tid, "resolved")

    # repairs need the resident's sign-off: the staff cannot skip to the visit or close
    staff_view = await get(client, w["engineer"], tid)
    assert "closed" not in staff_view["allowed_transitions"] and "visited" not in staff_view["allowed_transitions"]
    mine = await get(client, w["resident"], tid)
    assert set(mine["allowed_transitions"]) == {"confirmed", "in_progress"}
    await move(client, w["resident"], tid, "confirmed")
    # a bad rating reopens it as rework, in the same department
    after = await move(client, w["resident"], tid, "visited", satisfaction=1, reason="not_fixed", note="still drips")
    assert after["status"] == "in_progress" and after["reopen_count"] == 1 and after["satisfaction"] == 1
    legs = after["legs"]
    assert legs[-1]["rework"] and legs[-1]["department"] == w["eng"]["id"]
    await move(client, w["engineer"], tid, "resolved")
    await move(client, w["resident"], tid, "confirmed")
    await move(client, w["dispatcher"], tid, "visited", satisfaction=5, reason="satisfied", note="called back")
    closed = await move(client, w["dispatcher"], tid, "closed")
    assert closed["status"] == "closed" and closed["closed_at"] and closed["allowed_transitions"] == []
    kinds = [e["kind"] for e in closed["timeline"]]
    assert kinds[:2] == ["registered", "dispatched"] and "work" in kinds and "reopened" in kinds


async def test_steps_refused_with_their_reason(client: Any) -> None:
    w = await tower(client)
    tid = (await raise_ticket(client, w["clerk"], unit=w["unit"], type="complaint", title="Noise at night"))["id"]
    body = await move(client, w["clerk"], tid, "closed", status=422)
    assert body["error"]["code"] == "transition_not_allowed"
    body = await move(client, w["dispatcher"], tid, "dispatched", status=422)
    assert body["error"]["field"] == "department"
    body = await move(client, w["dispatcher"], tid, "cancelled", status=422)
    assert body["error"]["field"] == "note"
    await move(client, w["clerk"], tid, "accepted")
    await move(client, w["clerk"], tid, "resolved")
    body = await move(client, w["clerk"], tid, "visited", status=422, satisfaction=9)
    assert body["error"]["code"] == "validation_failed"
    body = await move(client, w["clerk"], tid, "visited", status=422, satisfaction=4)
    assert body["error"]["field"] == "reason"
    # the resident of another unit cannot see it at all
    await get(client, w["neighbour"], tid, status=404)


async def test_a_resident_raises_only_for_his_own_unit_and_only_residents_types(client: Any) -> None:
    w = await tower(client)
    r = await client.post("/api/v1/tickets", headers=w["resident"]["headers"], json={
        "type": "repair", "title": "x", "unit": w["unit2"]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "unit"
    r = await client.post("/api/v1/tickets", headers=w["resident"]["headers"], json={
        "type": "inspection", "title": "x", "unit": w["unit"]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "type"
    r = await client.post("/api/v1/tickets", headers=w["resident"]["headers"], json={
        "type": "repair", "title": "", "unit": w["unit"], "priority": "huge"})
    assert r.status_code in (400, 422)
