"""The SLA clock in working time, moved with `clock.travel`: a deadline lands in the company's service hours on
its working days (a make-up Saturday included), a pause stops the clock and the resumption restarts it with
the minutes left, a breach is charged to the leg that held the ticket when the target passed, and the SLA job
warns once, breaches once, escalates, and sends each person one digest, never during quiet hours.

The company is in Asia/Shanghai (UTC+8) with the default calendar: 08:30-17:30 on the official working days."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from careclub.approvals.tables import Notification
from careclub.core import clock
from careclub.core.db import fetch, tenant_scope
from careclub.platform.permissions import Perm
from careclub.platform.tables import OrgUnit
from careclub.tickets import service
from careclub.tickets.tables import SlaNotice, Ticket, TicketEvent, TicketLeg, TicketType
from tests.integration.tickets.helpers import get, move, raise_ticket, tower

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """A wall-clock moment in Shanghai, "2026-02-13 17:00"."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def go(moment: datetime, seconds: int = 0) -> None:
    """Move the application's clock to `moment` (plus `seconds`). Time still runs after the jump (a request
    takes milliseconds), so a moment where minutes are banked is given 2 seconds more: the whole minutes a
    leg is charged then do not depend on how fast the machine is."""
    clock.travel(moment + timedelta(seconds=seconds) - clock.now())


def near(value: str | None, expected: datetime) -> bool:
    """A time the API gave, within a few seconds of `expected` (the milliseconds the requests took)."""
    assert value is not None
    got = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    return abs(got - expected) < timedelta(seconds=5)


@pytest.fixture(autouse=True)
def _time_comes_back() -> Iterator[None]:
    yield
    clock.reset()


async def _sla(client: Any, w: dict[str, Any], code: str, **targets: dict[str, Any]) -> None:
    r = await client.put(f"/api/v1/ticket-types/{code}", headers=w["t"]["headers"], json={"sla": targets})
    assert r.status_code == 200, r.text


async def test_a_deadline_counts_working_time_into_a_make_up_saturday(client: Any) -> None:
    w = await tower(client)
    await _sla(client, w, "repair", normal={"respond": 30, "resolve": 60, "clock": "working"})
    # Friday 13 February 2026, 17:00: half an hour of service left that day; Saturday the 14th is a make-up
    # working day (调休) before the Spring Festival, so the other half hour runs from 08:30 there
    go(at("2026-02-13 17:00"), -2)  # a moment before: a response due at 17:30 sharp still falls on Friday
    ticket = await raise_ticket(client, w["clerk"], unit=w["unit"])
    assert near(ticket["due_at"], at("2026-02-14 09:00"))
    seen = await get(client, w["clerk"], ticket["id"])
    assert near(seen["respond_by"], at("2026-02-13 17:30")) and seen["sla_minutes"] == 60
    # registered on that Saturday at 17:00: half an hour there, and the Spring Festival holiday runs from the
    # 15th to the 23rd, so the other half hour is on Tuesday the 24th
    go(at("2026-02-14 17:00"), -2)
    later = await raise_ticket(client, w["clerk"], unit=w["unit"])
    assert near(later["due_at"], at("2026-02-24 09:00"))


async def test_a_pause_stops_the_clock_and_the_resumption_restarts_it_with_the_minutes_left(client: Any) -> None:
    w = await tower(client)
    await _sla(client, w, "repair", normal={"respond": 30, "resolve": 120, "clock": "working"})
    clerk = w["clerk"]
    go(at("2026-03-02 09:00"))  # a Monday
    tid = (await raise_ticket(client, clerk, unit=w["unit"]))["id"]
    assert near((await get(client, clerk, tid))["due_at"], at("2026-03-02 11:00"))
    go(at("2026-03-02 09:30"))
    await move(client, clerk, tid, "accepted")
    go(at("2026-03-02 10:00"), 2)
    paused = await move(client, clerk, tid, "waiting_resident", note="no one at home")
    assert paused["due_at"] is None and not paused["clock_running"] and paused["sla_used_minutes"] == 60
    # two hours waiting cost nothing: the 60 minutes left run from the resumption
    go(at("2026-03-02 12:00"))
    resumed = await move(client, clerk, tid, "in_progress")
    assert resumed["clock_running"] and near(resumed["due_at"], at("2026-03-02 13:00"))
    # paused again at 12:30 with 30 minutes left, resumed at 17:15: 15 minutes that day, 15 the next morning
    go(at("2026-03-02 12:30"), 2)
    await move(client, clerk, tid, "waiting_resident", note="waiting for the part")
    go(at("2026-03-02 17:15"))
    resumed = await move(client, clerk, tid, "in_progress")
    assert near(resumed["due_at"], at("2026-03-03 08:45")) and resumed["sla_used_minutes"] == 90
    go(at("2026-03-03 08:40"), 2)
    done = await move(client, clerk, tid, "resolved")
    assert not done["breached"] and done["sla_used_minutes"] == 115
    assert [leg["working_minutes"] for leg in done["legs"]] == [115]


async def test_a_breach_is_charged_to_the_leg_that_held_the_ticket_when_the_target_passed(client: Any) -> None:
    w = await tower(client)
    await _sla(client, w, "repair", normal={"respond": 30, "resolve": 60, "clock": "working"})
    d = w["dispatcher"]
    go(at("2026-03-02 09:00"))
    tid = (await raise_ticket(client, w["clerk"], unit=w["unit"]))["id"]
    await move(client, d, tid, "dispatched", department=w["eng"]["id"])
    go(at("2026-03-02 10:30"), 2)  # engineering held it for 90 minutes of a 60-minute target
    moved = await move(client, d, tid, "dispatched", department=w["sec"]["id"])
    assert moved["breached"]
    legs = [(leg["department"], leg["working_minutes"], leg["breached"]) for leg in moved["legs"]]
    assert legs == [(w["cs"]["id"], 0, False), (w["eng"]["id"], 90, True), (w["sec"]["id"], 0, False)]
    go(at("2026-03-02 11:00"), 4)
    await move(client, w["guard"], tid, "accepted")
    done = await move(client, w["guard"], tid, "resolved")
    assert [leg["breached"] for leg in done["legs"]] == [False, True, False]
    assert done["legs"][-1]["working_minutes"] == 30 and done["sla_used_minutes"] == 120

    # the same when the SLA job finds it first: the leg holding it then is the one charged
    go(at("2026-03-03 09:00"))
    tid = (await raise_ticket(client, w["clerk"], unit=w["unit"]))["id"]
    await move(client, d, tid, "dispatched", department=w["eng"]["id"])
    go(at("2026-03-03 10:05"))
    async with tenant_scope(uuid.UUID(w["t"]["tenant_id"])):
        counts = await service.watch()
    assert counts["breached"] == 1
    go(at("2026-03-03 10:30"), 2)
    moved = await move(client, d, tid, "dispatched", department=w["sec"]["id"])
    assert [(leg["breached"], leg["working_minutes"]) for leg in moved["legs"]] == [
        (False, 0), (True, 90), (False, 0)]


def close(moment: datetime | None, expected: datetime) -> bool:
    return moment is not None and abs(moment - expected) < timedelta(seconds=5)


async def _digests(tenant_id: str) -> list[dict[str, Any]]:
    async with tenant_scope(uuid.UUID(tenant_id)):
        return await Notification.select(Notification.user_id, Notification.title, Notification.body).where(
            Notification.kind == "ticket_sla").order_by(Notification.created_at)


async def _watch(tenant_id: str) -> dict[str, int]:
    async with tenant_scope(uuid.UUID(tenant_id)):
        return await service.watch()


async def test_the_sla_job_warns_breaches_and_escalates_once_in_one_digest_per_person(client: Any) -> None:
    w = await tower(client)
    tenant = w["t"]["tenant_id"]
    h = w["t"]["headers"]
    r = await client.put("/api/v1/ticket-types/complaint", headers=h, json={
        "escalate_role": "tenant_admin",
        "sla": {"normal": {"respond": 60, "resolve": 60, "clock": "working"},
                "high": {"respond": 30, "resolve": 30, "clock": "calendar"}}})
    assert r.status_code == 200, r.text
    r = await client.put("/api/v1/service-calendar", headers=h, json={
        "hours_start": "08:30", "hours_end": "17:30", "quiet_start": "21:00", "quiet_end": "08:00",
        "warn_minutes": 30})
    assert r.status_code == 200, r.text
    d = w["dispatcher"]
    go(at("2026-03-02 09:00"))
    numbers = []
    for title in ("Lift stuck", "Smell of gas"):
        ticket = await raise_ticket(client, d, type="complaint", unit=w["unit"], title=title,
                                    department=w["eng"]["id"])
        numbers.append(ticket["number"])

    # 20 minutes before the deadline: a warning for each ticket, one message per person naming both
    go(at("2026-03-02 09:40"))
    counts = await _watch(tenant)
    assert counts["warned"] == 2 and counts["breached"] == 0
    first = await _digests(tenant)
    people = [n["user_id"] for n in first]
    assert len(people) == len(set(people)) and uuid.UUID(d["id"]) in people
    for n in first:
        assert all(number in n["body"] for number in numbers) and n["body"].count("\n") == 1
    go(at("2026-03-02 09:45"))
    assert (await _watch(tenant))["warned"] == 0 and len(await _digests(tenant)) == len(first)

    # past it: each breached once, the escalation role (tenant_admin: the company's admin) told too
    go(at("2026-03-02 10:05"))
    counts = await _watch(tenant)
    assert counts["breached"] == 2
    assert (await _watch(tenant))["breached"] == 0
    second = (await _digests(tenant))[len(first):]
    people = [n["user_id"] for n in second]
    assert len(people) == len(set(people))
    async with tenant_scope(uuid.UUID(tenant)):
        admin = (await service.role_holders("tenant_admin", None))
        notices = await SlaNotice.select(SlaNotice.kind, SlaNotice.user_id, SlaNotice.sent_at)
        breached = await Ticket.select(Ticket.breached).where(Ticket.number.is_in(numbers))
    assert all(b["breached"] for b in breached)
    assert {(n["kind"], n["user_id"]) for n in notices if n["kind"] == "escalation"} == {
        ("escalation", a) for a in admin}
    assert all(n["sent_at"] is not None for n in notices)
    assert len([n for n in notices if n["kind"] == "breach"]) == 2 * len({n["user_id"] for n in notices
                                                                          if n["kind"] == "breach"})
    mine = next(n for n in second if n["user_id"] == uuid.UUID(d["id"]))
    # written in the reader's language (the company's, zh_CN, when the person chose none)
    assert all(number in mine["body"] for number in numbers) and "已超时" in mine["body"]

    # at night: the deadline passes and the ticket is breached, but nobody is told until the quiet ends
    go(at("2026-03-02 21:30"))
    night = await raise_ticket(client, d, type="complaint", unit=w["unit"], title="Flood", priority="high",
                               department=w["eng"]["id"])
    before = len(await _digests(tenant))
    go(at("2026-03-02 22:10"))
    counts = await _watch(tenant)
    assert counts["breached"] == 1 and counts["sent"] == 0
    assert len(await _digests(tenant)) == before
    go(at("2026-03-03 07:55"))
    assert (await _watch(tenant))["sent"] == 0
    go(at("2026-03-03 08:05"))
    counts = await _watch(tenant)
    assert counts["sent"] >= 1 and counts["breached"] == 0
    morning = (await _digests(tenant))[before:]
    assert morning and all(night["number"] in n["body"] for n in morning)
    assert len({n["user_id"] for n in morning}) == len(morning)


async def test_a_deadline_moved_by_a_pause_is_warned_again_once(client: Any) -> None:
    """Warned before its deadline, paused (waiting on the resident) and resumed: the new deadline earns a second
    warning, and the job run twice over it sends that one warning once."""
    w = await tower(client)
    tenant, clerk = w["t"]["tenant_id"], w["clerk"]
    await _sla(client, w, "repair", normal={"respond": 30, "resolve": 120, "clock": "working"})
    r = await client.put("/api/v1/service-calendar", headers=w["t"]["headers"], json={
        "hours_start": "08:30", "hours_end": "17:30", "quiet_start": "21:00", "quiet_end": "08:00",
        "warn_minutes": 30})
    assert r.status_code == 200, r.text
    go(at("2026-03-02 09:00"))  # a Monday: due at 11:00
    tid = (await raise_ticket(client, clerk, unit=w["unit"]))["id"]
    go(at("2026-03-02 09:10"))
    await move(client, clerk, tid, "accepted")

    async def warnings() -> list[dict[str, Any]]:
        async with tenant_scope(uuid.UUID(tenant)):
            return await SlaNotice.select(SlaNotice.user_id, SlaNotice.deadline, SlaNotice.sent_at).where(
                SlaNotice.ticket == tid, SlaNotice.kind == "warning").order_by(SlaNotice.created_at)

    go(at("2026-03-02 10:40"))
    assert (await _watch(tenant))["warned"] == 1
    first = await warnings()
    assert first and all(close(n["deadline"], at("2026-03-02 11:00")) and n["sent_at"] for n in first)
    digests = len(await _digests(tenant))

    # paused at 10:45 with 15 minutes left, resumed at 14:00: due at 14:15, a new deadline
    go(at("2026-03-02 10:45"), 2)
    await move(client, clerk, tid, "waiting_resident", note="no one at home")
    go(at("2026-03-02 14:00"))
    resumed = await move(client, clerk, tid, "in_progress")
    assert near(resumed["due_at"], at("2026-03-02 14:15"))

    # the clock moves on into the warning window; the job runs twice: one second warning, sent once
    go(at("2026-03-02 14:01"))
    assert (await _watch(tenant))["warned"] == 1
    assert (await _watch(tenant))["warned"] == 0
    seen = await warnings()
    assert len(seen) == 2 * len(first)
    second = seen[len(first):]
    assert {n["user_id"] for n in second} == {n["user_id"] for n in first}
    assert all(close(n["deadline"], at("2026-03-02 14:15")) and n["sent_at"] for n in second)
    told = (await _digests(tenant))[digests:]
    assert len(told) == len(second) and {n["user_id"] for n in told} == {n["user_id"] for n in second}
    assert all(resumed["number"] in n["body"] for n in told)

    # past the new deadline: breached once, never warned a third time
    go(at("2026-03-02 14:20"))
    counts = await _watch(tenant)
    assert counts["breached"] == 1 and counts["warned"] == 0
    assert len(await warnings()) == len(seen)


async def test_runs_racing_over_a_batch_breach_each_ticket_once_and_tell_each_person_once(client: Any) -> None:
    """Four runs of the job at the same moment over a dozen late tickets (some held by a person, some waiting in a
    department, of two types, one escalating): every ticket is breached by exactly one run, with one event and its
    open leg charged, and each person gets exactly the notices the rules give, once."""
    w = await tower(client)
    tenant, h, d = w["t"]["tenant_id"], w["t"]["headers"], w["dispatcher"]
    await _sla(client, w, "repair", normal={"respond": 30, "resolve": 60, "clock": "working"})
    r = await client.put("/api/v1/ticket-types/complaint", headers=h, json={
        "escalate_role": "tenant_admin", "sla": {"normal": {"respond": 30, "resolve": 60, "clock": "working"}}})
    assert r.status_code == 200, r.text
    go(at("2026-03-02 09:00"))  # a Monday: each is due at 10:00, to be taken by 09:30
    held, waiting = [], []
    for i in range(12):
        ticket = await raise_ticket(client, d, type=("repair", "complaint")[i % 2], unit=w["unit"],
                                    title=f"Late {i}", department=(w["eng"], w["sec"])[i % 3 == 0]["id"])
        if i % 4 == 0:  # taken: the guard or the engineer holds it
            taker = w["guard"] if i % 3 == 0 else w["engineer"]
            await move(client, taker, ticket["id"], "accepted")
            held.append(ticket["id"])
        else:
            waiting.append(ticket["id"])
    go(at("2026-03-02 11:00"))
    runs = await asyncio.gather(*(_watch(tenant) for _ in range(4)))
    assert sum(c["breached"] for c in runs) == 12 and sum(c["unanswered"] for c in runs) == len(waiting)
    assert all(c["breached"] == 0 and c["unanswered"] == 0 for c in [await _watch(tenant)])

    async with tenant_scope(uuid.UUID(tenant)):
        tickets = {str(t["id"]): t for t in await Ticket.select(
            Ticket.id, Ticket.type, Ticket.assignee, Ticket.department, Ticket.breached)}
        events = await TicketEvent.select(TicketEvent.ticket, TicketEvent.data).where(
            TicketEvent.kind == "sla_breach")
        open_legs = await TicketLeg.select(TicketLeg.ticket, TicketLeg.breached).where(TicketLeg.ended_at.is_null())
        notices = await SlaNotice.select(SlaNotice.ticket, SlaNotice.kind, SlaNotice.user_id)
        types = {t["id"]: t["escalate_role"] for t in await TicketType.select(TicketType.id, TicketType.escalate_role)}
        over = {}
        for unit_id in (w["eng"]["id"], w["sec"]["id"]):
            path = (await OrgUnit.select(OrgUnit.path).where(OrgUnit.id == unit_id).first())["path"]
            over[uuid.UUID(unit_id)] = set(await service.people_with(Perm.TICKETS_DISPATCH, path))
        escalated = set(await service.role_holders("tenant_admin", w["project"]["path"]))
        # the legs marked together: each ticket's report facts (kept by the legs' statement trigger) still agree
        assert await fetch("SELECT * FROM ticket_report_facts_check()") == []
    assert len(tickets) == 12 and all(t["breached"] for t in tickets.values())
    assert sorted(str(e["ticket"]) for e in events) == sorted(tickets)
    assert all(json.loads(e["data"])["due_at"].startswith("2026-03-02 02:00") for e in events)  # 10:00 in Shanghai
    assert {str(leg["ticket"]) for leg in open_legs if leg["breached"]} == set(tickets)

    def responsible(t: dict[str, Any]) -> set[uuid.UUID]:
        return {t["assignee"]} if t["assignee"] else over[t["department"]]

    def kind(k: str) -> list[tuple[str, uuid.UUID]]:
        return sorted((str(n["ticket"]), n["user_id"]) for n in notices if n["kind"] == k)

    assert {str(t["id"]) for t in tickets.values() if t["assignee"]} == set(held) and escalated
    assert kind("breach") == sorted((i, p) for i, t in tickets.items() for p in responsible(t))
    assert kind("response") == sorted((i, p) for i in waiting for p in responsible(tickets[i]))
    assert kind("escalation") == sorted((i, p) for i, t in tickets.items() if types[t["type"]] == "tenant_admin"
                                        for p in escalated)


async def test_runs_racing_in_the_morning_send_what_waited_overnight_once(client: Any) -> None:
    """Breached at night, told nobody (quiet hours); in the morning four runs at once: one digest per person."""
    w = await tower(client)
    tenant, d = w["t"]["tenant_id"], w["dispatcher"]
    await _sla(client, w, "repair", high={"respond": 10, "resolve": 30, "clock": "calendar"})
    go(at("2026-03-02 21:30"))
    for i in range(3):
        await raise_ticket(client, d, unit=w["unit"], title=f"Night {i}", priority="high", department=w["eng"]["id"])
    go(at("2026-03-02 22:30"))
    assert (await _watch(tenant))["sent"] == 0 and await _digests(tenant) == []
    go(at("2026-03-03 08:05"))
    await asyncio.gather(*(_digests(tenant) for _ in range(4)))  # four connections open, so the runs start together
    runs = await asyncio.gather(*(_watch(tenant) for _ in range(4)))
    digests = await _digests(tenant)
    people = [n["user_id"] for n in digests]
    assert digests and len(people) == len(set(people)), people
    assert sum(r["sent"] for r in runs) == len(people)
    assert all(all(f"Night {i}" in n["body"] for i in range(3)) for n in digests)
