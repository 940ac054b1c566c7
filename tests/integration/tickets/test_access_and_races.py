"""Who sees which ticket, racing writers, the photos, and another company's tickets."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

from PIL import Image

from careclub.core.db import tenant_scope
from careclub.tickets.tables import Ticket, TicketEvent, TicketLeg, TicketType
from tests.integration.tickets.helpers import get, move, raise_ticket, tower


def jpeg_with_location() -> bytes:
    image = Image.new("RGB", (40, 30), (200, 80, 40))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0)}  # GPS IFD: where the phone was
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


async def test_a_department_clerk_sees_only_his_queue_and_residents_only_their_units(client: Any) -> None:
    w = await tower(client)
    to_eng = (await raise_ticket(client, w["dispatcher"], unit=w["unit"], department=w["eng"]["id"]))["id"]
    to_sec = (await raise_ticket(client, w["dispatcher"], unit=w["unit2"], title="Door alarm",
                                 department=w["sec"]["id"]))["id"]

    async def listed(who: str) -> set[str]:
        r = await client.get("/api/v1/tickets?view=all", headers=w[who]["headers"])
        assert r.status_code == 200, r.text
        return {t["id"] for t in r.json()["items"]}

    assert await listed("dispatcher") == {to_eng, to_sec}
    assert await listed("engineer") == {to_eng}
    assert await listed("guard") == {to_sec}
    assert await listed("resident") == {to_eng}
    assert await listed("neighbour") == {to_sec}
    assert await listed("clerk") == set()
    await get(client, w["engineer"], to_sec, status=404)
    await get(client, w["clerk"], to_eng, status=404)
    await get(client, w["neighbour"], to_eng, status=404)
    # moving a ticket one cannot see is the same 404, not a refusal that tells it exists
    r = await client.post(f"/api/v1/tickets/{to_sec}/transitions", headers=w["engineer"]["headers"],
                          json={"to": "accepted"})
    assert r.status_code == 404


async def test_two_dispatchers_racing_exactly_one_wins_the_rest_get_the_current_ticket(client: Any) -> None:
    w = await tower(client)
    tid = (await raise_ticket(client, w["clerk"], unit=w["unit"], type="complaint", title="Lift noise"))["id"]
    targets = [w["eng"]["id"], w["sec"]["id"]] * 5

    async def dispatch(dept: str) -> Any:
        return await client.post(f"/api/v1/tickets/{tid}/transitions", headers=w["dispatcher"]["headers"], json={
            "to": "dispatched", "department": dept, "expected_status": "registered"})

    answers = await asyncio.gather(*(dispatch(d) for d in targets))
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] + [409] * 9
    winner = next(r.json() for r in answers if r.status_code == 200)
    for r in answers:
        if r.status_code == 409:
            body = r.json()
            assert body["error"]["code"] == "stale_state"
            assert body["ticket"]["status"] == "dispatched"
            assert body["ticket"]["department"] == winner["department"]
    final = await get(client, w["dispatcher"], tid)
    assert [e["kind"] for e in final["timeline"]].count("dispatched") == 1
    assert len(final["legs"]) == 2  # the desk's leg, and the winner's


async def test_racing_status_changes_without_expected_status_never_double_apply(client: Any) -> None:
    w = await tower(client)
    tid = (await raise_ticket(client, w["clerk"], unit=w["unit"], type="complaint", title="Smell"))["id"]
    await move(client, w["clerk"], tid, "accepted")
    await move(client, w["clerk"], tid, "resolved")
    answers = await asyncio.gather(*(client.post(
        f"/api/v1/tickets/{tid}/transitions", headers=w["dispatcher"]["headers"],
        json={"to": "visited", "satisfaction": 4, "reason": "satisfied"}) for _ in range(8)))
    assert sorted(r.status_code for r in answers) == [200] + [422] * 7  # once visited, visiting again is no step
    final = await get(client, w["dispatcher"], tid)
    assert [e["to_status"] for e in final["timeline"]].count("visited") == 1


async def test_photos_are_checked_by_content_stripped_of_location_and_shown_only_to_readers(client: Any) -> None:
    w = await tower(client)
    tid = (await raise_ticket(client, w["resident"], unit=w["unit"]))["id"]
    r = await client.post(f"/api/v1/tickets/{tid}/attachments", headers=w["resident"]["headers"],
                          files={"file": ("tap.jpg", jpeg_with_location(), "image/jpeg")})
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    mine = await client.get(url, headers=w["resident"]["headers"])
    assert mine.status_code == 200
    assert b"GPS" not in mine.content and Image.open(io.BytesIO(mine.content)).getexif().get(0x8825) is None
    assert (await client.get(url, headers=w["neighbour"]["headers"])).status_code == 404
    assert (await client.get(url, headers=w["dispatcher"]["headers"])).status_code == 200
    spoofed = await client.post(f"/api/v1/tickets/{tid}/attachments", headers=w["resident"]["headers"],
                                files={"file": ("photo.jpg", b"<script>alert(1)</script>", "image/jpeg")})
    assert spoofed.status_code == 415 and spoofed.json()["error"]["field"] == "file"
    big = await client.post(f"/api/v1/tickets/{tid}/attachments", headers=w["resident"]["headers"],
                            files={"file": ("big.pdf", b"%PDF-" + b"0" * (11 * 1024 * 1024), "application/pdf")})
    assert big.status_code == 413
    r = await client.post(f"/api/v1/tickets/{tid}/attachments", headers=w["neighbour"]["headers"],
                          files={"file": ("tap.jpg", jpeg_with_location(), "image/jpeg")})
    assert r.status_code == 404


async def test_another_companys_tickets_answer_404_and_never_show(client: Any) -> None:
    mine, theirs = await tower(client), await tower(client)
    their_ticket = (await raise_ticket(client, theirs["dispatcher"], unit=theirs["unit"]))["id"]
    await raise_ticket(client, mine["dispatcher"], unit=mine["unit"])
    h = mine["t"]["headers"]  # the admin of the other company sees everything of his own
    assert (await client.get(f"/api/v1/tickets/{their_ticket}", headers=h)).status_code == 404
    r = await client.post(f"/api/v1/tickets/{their_ticket}/transitions", headers=h, json={"to": "accepted"})
    assert r.status_code == 404
    r = await client.post("/api/v1/tickets", headers=mine["dispatcher"]["headers"], json={
        "type": "repair", "title": "x", "unit": theirs["unit"]})
    assert r.status_code == 404 and r.json()["error"]["field"] == "unit"  # as a unit that does not exist
    listed = (await client.get("/api/v1/tickets?view=all", headers=h)).json()["items"]
    assert their_ticket not in {t["id"] for t in listed} and len(listed) == 1
    async with tenant_scope(uuid.UUID(mine["t"]["tenant_id"])):
        assert await Ticket.count() == 1 and await TicketLeg.count() == 1 and await TicketEvent.count() == 1
        assert {r["code"] for r in await TicketType.select(TicketType.code)} >= {"complaint", "repair"}
        assert await Ticket.count().where(Ticket.id == uuid.UUID(their_ticket)) == 0


async def test_a_type_change_is_validated_at_once_and_applies(client: Any) -> None:
    w = await tower(client)
    h = w["t"]["headers"]
    r = await client.put("/api/v1/ticket-types/complaint", headers=h, json={
        "stages": [{"code": "open", "phase": "work"}, {"code": "done", "phase": "closed"}],
        "transitions": [{"from": "open", "to": "nowhere", "by": ["handle"]}],
        "sla": {"normal": {"respond": 600, "resolve": 60}}})
    assert r.status_code == 422
    fields = {f["field"] for f in r.json()["error"]["fields"]}
    assert {"stages[0].phase", "transitions[0].to", "sla.normal.respond"} <= fields
    r = await client.put("/api/v1/ticket-types/complaint", headers=h, json={
        "escalate_role": "dispatcher", "sla": {"urgent": {"respond": 5, "resolve": 60, "clock": "calendar"}}})
    assert r.status_code == 200, r.text
    assert r.json()["escalate_role"] == "dispatcher"
    urgent = await raise_ticket(client, w["clerk"], unit=w["unit"], type="complaint", priority="urgent",
                                title="Gas smell in the corridor")
    seen = await get(client, w["dispatcher"], urgent["id"])
    assert "escalated" in [e["kind"] for e in seen["timeline"]]
    inbox = await client.get("/api/v1/notifications", headers=w["dispatcher"]["headers"])
    assert inbox.status_code == 200, inbox.text
    items = inbox.json()["items"] if isinstance(inbox.json(), dict) else inbox.json()
    assert [n["kind"] for n in items if "Gas smell" in n["title"]] == ["ticket_escalated"]
    assert (await client.put("/api/v1/ticket-types/complaint", headers=w["clerk"]["headers"],
                             json={"active": False})).status_code == 403
