"""The quality figures' facts kept on each order by triggers (migrations/catalogue 2026-12-01T16:00:01): every kind
of write leaves them equal to a recount from the tickets (`service_order_quality_check()` is empty), racing
complaints each count, and a complaint naming another company's order touches nothing of it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from careclub.core.db import fetch, tenant_scope
from careclub.platform.service import company_today
from tests.integration.catalogue.helpers import World, book, make_world, move, ok, work_done


async def _facts(w: World, order_id: str) -> dict[str, Any]:
    async with tenant_scope(w.tenant_id):
        rows = await fetch("SELECT item_subcontractor, ticket_department, ticket_assignee, ticket_satisfaction,"
                           " ticket_reworked, ticket_breached, complaints FROM service_order WHERE id = $1",
                           uuid.UUID(order_id))
    return rows[0]


async def _differences(w: World) -> list[dict[str, Any]]:
    async with tenant_scope(w.tenant_id):
        return await fetch("SELECT * FROM service_order_quality_check()")


async def _quality(client: Any, w: World, by: str) -> list[dict[str, Any]]:
    async with tenant_scope(w.tenant_id):
        today = await company_today()
    q = f"since={(today - timedelta(days=1)).isoformat()}&until={(today + timedelta(days=1)).isoformat()}&by={by}"
    return await ok(await client.get(f"/api/v1/catalogue/quality?{q}", headers=w.h("site")))


async def test_the_facts_follow_every_write_to_the_ticket_and_its_complaints(client: Any) -> None:
    w = await make_world(client)
    moving = await book(client, w, "res", "MOVE", unit=w.units["A-101"])
    cleaning = await book(client, w, "res", "CLEAN", unit=w.units["A-101"], quantity="20")
    booked = await _facts(w, moving["id"])
    assert booked["item_subcontractor"] is not None and booked["ticket_assignee"] is None
    assert booked["complaints"] == 0 and not booked["ticket_reworked"] and booked["ticket_satisfaction"] is None
    assert (await _facts(w, cleaning["id"]))["ticket_department"] == uuid.UUID(w.org["P1-CS"])

    await work_done(client, w, moving["ticket"], handler="site")
    assert (await _facts(w, moving["id"]))["ticket_assignee"] == w.users["site"]
    await move(client, w, "site", moving["ticket"], "visited", satisfaction=1, reason="quality")  # reopens
    facts = await _facts(w, moving["id"])
    assert facts["ticket_satisfaction"] == 1 and facts["ticket_reworked"]
    for title in ("They scratched the floor", "And the door"):
        await ok(await client.post(f"/api/v1/service-orders/{moving['id']}/complaints", headers=w.h("res"),
                                   json={"title": title}), 201)
    assert (await _facts(w, moving["id"]))["complaints"] == 2

    async with tenant_scope(w.tenant_id):
        # hand-run writes: a breach, a complaint moved to the other order, a complaint copied and deleted
        await fetch("UPDATE ticket SET breached = true WHERE id = $1", uuid.UUID(cleaning["ticket"]))
        moved = (await fetch("UPDATE ticket SET fields = jsonb_set(fields, '{order}', to_jsonb($1::text))"
                             " WHERE id = (SELECT id FROM ticket WHERE fields->>'order' = $2 ORDER BY number"
                             " LIMIT 1) RETURNING id", cleaning["id"], moving["id"]))[0]["id"]
        copy = (await fetch("INSERT INTO ticket SELECT (json_populate_record(t, json_build_object('id',"
                            " gen_random_uuid(), 'number', t.number || '-C'))).* FROM ticket t WHERE t.id = $1"
                            " RETURNING id", moved))[0]["id"]
    assert (await _facts(w, cleaning["id"]))["complaints"] == 2 and (await _facts(w, moving["id"]))["complaints"] == 1
    assert (await _facts(w, cleaning["id"]))["ticket_breached"]
    assert await _differences(w) == []
    async with tenant_scope(w.tenant_id):
        await fetch("DELETE FROM ticket WHERE id = $1", copy)
    assert (await _facts(w, cleaning["id"]))["complaints"] == 1
    assert await _differences(w) == []

    by_staff = {r["key"]: r for r in await _quality(client, w, "staff")}
    site = by_staff[str(w.users["site"])]
    assert site["orders"] == 1 and site["rework"] == 1 and site["bad"] == 1 and site["complaints"] == 1
    assert site["on_time"] == 1 and site["label"]
    unassigned = by_staff[None]
    assert unassigned["orders"] == 1 and unassigned["complaints"] == 1 and unassigned["on_time"] == 0
    by_department = {r["label"]: r["orders"] for r in await _quality(client, w, "department")}
    assert by_department.get("Desk") == 1


async def test_racing_complaints_and_a_reassignment_each_count(client: Any) -> None:
    w = await make_world(client)
    order = await book(client, w, "res", "MOVE", unit=w.units["A-101"])
    answers = await asyncio.gather(
        move(client, w, "site", order["ticket"], "accepted"),
        *(client.post(f"/api/v1/service-orders/{order['id']}/complaints", headers=w.h("res"),
                      json={"title": f"complaint {i}"}) for i in range(8)))
    assert [r.status_code for r in answers[1:]] == [201] * 8
    facts = await _facts(w, order["id"])
    assert facts["complaints"] == 8 and facts["ticket_assignee"] == w.users["site"]
    assert await _differences(w) == []


async def test_a_rebuild_mends_orders_loaded_without_the_triggers(client: Any) -> None:
    w = await make_world(client)
    order = await book(client, w, "res", "MOVE", unit=w.units["A-101"])
    await ok(await client.post(f"/api/v1/service-orders/{order['id']}/complaints", headers=w.h("res"),
                               json={"title": "late"}), 201)
    async with tenant_scope(w.tenant_id):
        await fetch("UPDATE service_order SET complaints = 0, ticket_reworked = true, item_subcontractor = NULL")
        assert len(await fetch("SELECT * FROM service_order_quality_check()")) == 1
        assert (await fetch("SELECT service_order_quality_rebuild() AS n"))[0]["n"] == 1
    assert await _differences(w) == []
    assert (await _facts(w, order["id"]))["complaints"] == 1


async def test_a_complaint_naming_another_companys_order_touches_nothing_of_it(client: Any) -> None:
    a = await make_world(client)
    b = await make_world(client)
    theirs = await book(client, a, "res", "MOVE", unit=a.units["A-101"])
    mine = await book(client, b, "res", "MOVE", unit=b.units["A-101"])
    complaint = await ok(await client.post(f"/api/v1/service-orders/{mine['id']}/complaints", headers=b.h("res"),
                                           json={"title": "noise"}), 201)
    async with tenant_scope(b.tenant_id):
        await fetch("UPDATE ticket SET fields = jsonb_set(fields, '{order}', to_jsonb($1::text)) WHERE id = $2",
                    theirs["id"], uuid.UUID(complaint["id"]))
    assert (await _facts(a, theirs["id"]))["complaints"] == 0
    assert (await _facts(b, mine["id"]))["complaints"] == 0
    assert await _differences(a) == [] and await _differences(b) == []
    figures = await _quality(client, b, "item")
    assert figures != [] and all(r["complaints"] == 0 for r in figures)
