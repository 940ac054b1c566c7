"""The SLA watch through the real SAQ worker: a ticket past its deadline is breached once, its holders and
the escalation role told once, however often the job runs."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from saq.job import Status

from careclub.approvals.tables import Notification
from careclub.core import clock
from careclub.core.db import tenant_scope
from careclub.core.infra import Infra
from careclub.tickets.tables import SlaNotice, Ticket, TicketLeg
from tests.integration.test_jobs import queue_name, run_jobs  # noqa: F401 - the fixture is used by name
from tests.integration.tickets.helpers import raise_ticket, tower

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")


async def test_the_sla_job_breaches_once_and_tells_each_person_once(infra: Infra, queue_name: str,  # noqa: F811
                                                                     client: Any) -> None:
    w = await tower(client)
    h = w["t"]["headers"]
    r = await client.put("/api/v1/ticket-types/complaint", headers=h, json={
        "escalate_role": "tenant_admin", "sla": {"high": {"respond": 10, "resolve": 30, "clock": "calendar"}}})
    assert r.status_code == 200, r.text
    r = await client.put("/api/v1/service-calendar", headers=h, json={
        "hours_start": "08:30", "hours_end": "17:30", "quiet_start": "23:59", "quiet_end": "00:00"})
    assert r.status_code == 200, r.text
    ticket = await raise_ticket(client, w["clerk"], unit=w["unit"], type="complaint", priority="high",
                                title="Water in the lobby", department=None)
    try:
        clock.travel(timedelta(minutes=45))
        for _ in range(2):
            [job] = await run_jobs(infra, queue_name, ("tickets_sla", {"tenant_id": w["t"]["tenant_id"]}))
            assert job.status == Status.COMPLETE, job.error
    finally:
        clock.reset()
    async with tenant_scope(uuid.UUID(w["t"]["tenant_id"])):
        row = await Ticket.select().where(Ticket.id == uuid.UUID(ticket["id"])).first()
        assert row["breached"]
        legs = await TicketLeg.select().where(TicketLeg.ticket == row["id"])
        assert [leg["breached"] for leg in legs] == [True]
        notices = await SlaNotice.select(SlaNotice.kind, SlaNotice.sent_at).where(SlaNotice.ticket == row["id"])
        kinds = sorted(n["kind"] for n in notices)
        assert "breach" in kinds and "escalation" in kinds and "response" in kinds
        assert all(n["sent_at"] is not None for n in notices)
        digests = await Notification.select(Notification.user_id).where(Notification.kind == "ticket_sla")
        people = [d["user_id"] for d in digests]
        assert len(people) == len(set(people))  # one digest per person, not one per notice
        assert uuid.UUID(w["dispatcher"]["id"]) in people
