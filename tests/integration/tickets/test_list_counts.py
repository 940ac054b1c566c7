"""The lists' counts, read one scope alternative (and, for attention, one part: breached; a running clock past its
due time; unanswered past the response time) at a time, each disjoint from those before: for every reader,
view and filter the total is the number of tickets the list holds, in the API and in the queue's tabs; a
ticket in two alternatives (raised by the handler in his own department, late in two ways) counted once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from careclub.core import clock
from careclub.core.db import fetch, tenant_scope
from careclub.platform import service as platform_service
from careclub.tickets import service
from tests.integration.tickets.helpers import move, raise_ticket, tower


@pytest.fixture(autouse=True)
def _time_comes_back() -> Iterator[None]:
    yield
    clock.reset()


async def test_the_attention_count_is_the_attention_list(client: Any) -> None:
    w = await tower(client)
    t = w["t"]
    r = await client.put("/api/v1/ticket-types/complaint", headers=t["headers"], json={
        "sla": {"normal": {"respond": 10, "resolve": 30, "clock": "calendar"},
                "high": {"respond": 120, "resolve": 240, "clock": "calendar"}}})
    assert r.status_code == 200, r.text

    async def complaint(title: str, priority: str = "normal") -> str:
        return str((await raise_ticket(client, w["clerk"], unit=w["unit"], type="complaint", title=title,
                                       priority=priority))["id"])

    unanswered_and_late = await complaint("Nobody came")  # registered: unanswered and its clock late, once
    answered_then_late = await complaint("Accepted, then late")
    await move(client, w["clerk"], answered_then_late, "accepted")
    breached = await complaint("Marked by the job")
    await move(client, w["clerk"], breached, "accepted")
    in_time = await complaint("Plenty of time", "high")
    await move(client, w["clerk"], in_time, "accepted")
    closed = await complaint("Done")
    await move(client, w["clerk"], closed, "accepted")
    await move(client, w["clerk"], closed, "resolved")
    await move(client, w["clerk"], closed, "visited", satisfaction=5, reason="satisfied")
    await move(client, w["clerk"], closed, "closed")
    clock.travel(timedelta(minutes=31))
    async with tenant_scope(uuid.UUID(t["tenant_id"])):
        await service.watch()  # marks the late ones breached
    late_unmarked = await complaint("Late after the job ran")  # unanswered and its clock late: counted once
    clock.travel(timedelta(minutes=31))
    unanswered_only = await complaint("Not answered yet")
    clock.travel(timedelta(minutes=15))  # its response time passed, its resolution time not

    async with tenant_scope(uuid.UUID(t["tenant_id"])):
        kinds = await fetch(
            "SELECT count(*) FILTER (WHERE breached)::int AS breached,"
            " count(*) FILTER (WHERE NOT breached AND clock_since IS NOT NULL AND due_at <= $1)::int AS running_late,"
            " count(*) FILTER (WHERE NOT breached AND (clock_since IS NOT NULL AND due_at <= $1) IS NOT TRUE"
            "  AND responded_at IS NULL AND respond_by <= $1)::int AS unanswered,"
            " count(*) FILTER (WHERE NOT breached AND responded_at IS NULL AND respond_by <= $1"
            "  AND clock_since IS NOT NULL AND due_at <= $1)::int AS both"
            " FROM ticket WHERE closed_at IS NULL", clock.now())
    assert kinds == [{"breached": 3, "running_late": 1, "unanswered": 1, "both": 1}], kinds  # every part
    expected = {unanswered_and_late, answered_then_late, breached, late_unmarked, unanswered_only}

    company = t
    for who in (company, w["dispatcher"], w["clerk"], w["engineer"]):
        listed = await client.get("/api/v1/tickets?view=attention&limit=100", headers=who["headers"])
        assert listed.status_code == 200, listed.text
        ids = {item["id"] for item in listed.json()["items"]}
        assert ids <= expected
        counted = await client.get("/api/v1/tickets?view=attention&limit=1", headers=who["headers"])
        assert counted.status_code == 200, counted.text
        assert counted.json()["total"] == len(ids), who.get("email")
        async with tenant_scope(uuid.UUID(t["tenant_id"])):
            tenant = await platform_service.get_tenant(uuid.UUID(t["tenant_id"]))
            assert tenant is not None
            user = who.get("id") or who.get("user_id")
            if user:
                principal = await platform_service.load_principal(tenant, uuid.UUID(user))
                assert (await service.queue_counts(principal))["attention"] == (len(ids), False)
    company_ids = {item["id"] for item in (await client.get("/api/v1/tickets?view=attention&limit=100",
                                                            headers=company["headers"])).json()["items"]}
    assert company_ids == expected
    assert in_time not in company_ids and closed not in company_ids


async def test_every_views_count_is_its_list_for_every_reader(client: Any) -> None:
    w = await tower(client)
    t = w["t"]
    ids = []
    # tickets in every alternative of the scopes: the desk's, each department's, raised by a handler in his own
    # department and in another, assigned, a resident's
    for who, department, kind in (("clerk", None, "complaint"), ("clerk", "eng", "complaint"),
                                  ("engineer", "eng", "repair"), ("engineer", "sec", "complaint"),
                                  ("guard", "sec", "repair"), ("resident", None, "repair"),
                                  ("clerk", "eng", "repair"), ("clerk", "sec", "contact_slip")):
        tid = str((await raise_ticket(client, w[who], unit=w["unit"], type=kind))["id"])
        if department:
            await move(client, w["dispatcher"], tid, "dispatched", department=w[department]["id"])
        ids.append(tid)
    await move(client, w["engineer"], ids[1], "accepted")
    await move(client, w["engineer"], ids[1], "resolved")
    await move(client, w["dispatcher"], ids[1], "visited", satisfaction=4, reason="satisfied")
    await move(client, w["dispatcher"], ids[1], "closed")
    readers = [t, w["dispatcher"], w["clerk"], w["engineer"], w["guard"], w["resident"]]
    queries = ["view=open", "view=all", "view=mine", "view=closed", "view=attention", "view=all&type=repair",
               "view=open&type=complaint", "view=all&status=closed"]
    seen_any = 0
    for who in readers:
        for query in queries:
            listed = await client.get(f"/api/v1/tickets?{query}&limit=100", headers=who["headers"])
            assert listed.status_code == 200, listed.text
            items = listed.json()["items"]
            counted = await client.get(f"/api/v1/tickets?{query}&limit=1", headers=who["headers"])
            assert counted.status_code == 200, counted.text
            assert counted.json()["total"] == len(items), (who.get("email"), query)
            seen_any += len(items) > 1
    assert seen_any > 10  # the counts were read, not only the first pages


class _Undo(Exception):
    """Raised to roll a transaction back."""


async def test_the_running_clocks_past_due_are_one_index_only_range(owner: Any, client: Any) -> None:
    """The attention count's "clock past due" part and the SLA job's passes read the open running clocks from
    their own index by due time, the count without touching a ticket's row. The ticket's other indexes are taken
    away (in a transaction rolled back) because on a handful of rows the planner may take any; at a million
    tickets it took the queue's, testing 29,000 open tickets for a count of none (13 ms), while this index could
    give the count only by reading each ticket's row for its `closed_at`."""
    from careclub.tickets.service._lists import ATTENTION_PARTS
    from careclub.tickets.service._sla import RUNNING

    w = await tower(client)
    count = ("SELECT count(*) FROM (SELECT 1 FROM ticket t WHERE t.closed_at IS NULL AND "
             + ATTENTION_PARTS[1].format(now="now()") + " LIMIT 10001) x")
    job = f"SELECT id FROM ticket WHERE {RUNNING} AND due_at <= now() ORDER BY due_at LIMIT 500"
    with pytest.raises(_Undo):
        async with owner.transaction():
            await owner.execute("SELECT set_config('app.tenant_id', $1, true)", w["t"]["tenant_id"])
            for index in await owner.fetch(
                    "SELECT indexrelid::regclass::text AS name FROM pg_index i WHERE indrelid = 'ticket'::regclass"
                    " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
                    " AND indexrelid <> 'ticket_tenant_due_running'::regclass"):
                await owner.execute(f"DROP INDEX {index['name']}")
            await owner.execute("SET LOCAL enable_seqscan = off")
            counted = "\n".join(r[0] for r in await owner.fetch(f"EXPLAIN {count}"))
            taken = "\n".join(r[0] for r in await owner.fetch(f"EXPLAIN {job}"))
            raise _Undo
    assert "Index Only Scan using ticket_tenant_due_running" in counted, counted
    assert "Index Scan using ticket_tenant_due_running" in taken and "Sort" not in taken, taken
