"""The month reports' facts kept on each ticket (`ticket.report_*`, kept by triggers on its legs and rating
events): after every kind of write the check function finds no ticket whose facts differ from a recount, the
reports give the figures the legs and events give (the queries that read them ticket by ticket, as the reports
did before, are kept here as the recount), and one tenant's check and rebuild never touch another's tickets."""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from careclub.core import clock
from careclub.core.db import fetch, tenant_scope
from careclub.platform import service as platform_service
from careclub.tickets import service
from careclub.tickets.service import _reports as reports
from tests.integration.clubs.helpers import ok, person, root_unit
from tests.integration.tickets.helpers import get, move, raise_ticket, tower
from tests.integration.tickets.test_archive_import import GOOD, HEADER, upload, xlsx


@pytest.fixture(autouse=True)
def _time_comes_back() -> Iterator[None]:
    yield
    clock.reset()


async def differences(t: dict[str, Any]) -> list[dict[str, Any]]:
    async with tenant_scope(uuid.UUID(t["tenant_id"])):
        return await fetch("SELECT * FROM ticket_report_facts_check()")


class Desk:
    """Drives tickets through the API and checks the kept facts after every write, naming the write."""

    def __init__(self, client: Any, w: dict[str, Any]) -> None:
        self.client, self.w = client, w
        self.handler = {w["cs"]["id"]: w["clerk"], w["eng"]["id"]: w["engineer"], w["sec"]["id"]: w["guard"]}
        self.writes: set[str] = set()

    async def checked(self, what: str) -> None:
        found = await differences(self.w["t"])
        assert found == [], f"after {what}: {found}"
        self.writes.add(what)

    async def register(self, who: str = "clerk", **body: Any) -> dict[str, Any]:
        ticket = await raise_ticket(self.client, self.w[who], unit=self.w["unit"], **body)
        await self.checked("register")
        return await get(self.client, self.w["dispatcher"], ticket["id"])

    async def step(self, ticket: dict[str, Any], to: str, what: str, *, who: dict[str, Any] | None = None,
                   **body: Any) -> dict[str, Any]:
        who = who or self.handler[ticket["department"]]
        moved = await move(self.client, who, ticket["id"], to, **body)
        await self.checked(what)
        return moved

    async def dispatch(self, ticket: dict[str, Any], department: str, what: str = "dispatch") -> dict[str, Any]:
        return await self.step(ticket, "dispatched", what, who=self.w["dispatcher"],
                               department=self.w[department]["id"])

    async def rate(self, ticket: dict[str, Any], satisfaction: int, **body: Any) -> dict[str, Any]:
        reason = "satisfied" if satisfaction >= 4 else "not_fixed"
        what = "bad rating (rework)" if satisfaction <= 2 else "rating"
        return await self.step(ticket, "visited", what, satisfaction=satisfaction, reason=reason, **body)

    async def sla_job(self) -> dict[str, int]:
        async with tenant_scope(uuid.UUID(self.w["t"]["tenant_id"])):
            counts = await service.watch()
        await self.checked("SLA job")
        return counts


Scenario = Callable[[Desk, random.Random], Awaitable[None]]


async def rated_and_closed(d: Desk, t: dict[str, Any], first: int, *, signoff: bool = False) -> None:
    """Rated `first`; a bad rating sends it back as rework, done again and rated well; then closed."""
    t = await d.rate(t, first)
    while t["status"] == "in_progress":
        t = await d.step(t, "resolved", "resolve")
        if signoff:
            t = await d.step(t, "confirmed", "sign-off", signed_by="Mr Chen")
        t = await d.rate(t, 4)
    await d.step(t, "closed", "close")


async def desk_closes(d: Desk, rng: random.Random) -> None:
    t = await d.register(type="complaint")
    t = await d.step(t, "accepted", "accept")
    t = await d.step(t, "resolved", "resolve")
    t = await d.rate(t, rng.randint(3, 5))
    await d.step(t, "closed", "close")


async def dispatched_and_closed(d: Desk, rng: random.Random) -> None:
    t = await d.register(type="complaint")
    t = await d.dispatch(t, rng.choice(["eng", "sec"]))
    t = await d.step(t, "accepted", "accept")
    t = await d.step(t, "in_progress", "start")
    t = await d.step(t, "resolved", "resolve")
    t = await d.rate(t, rng.randint(3, 5))
    await d.step(t, "closed", "close")


async def handed_over(d: Desk, rng: random.Random) -> None:
    t = await d.register(type="complaint")
    t = await d.dispatch(t, "eng")
    t = await d.step(t, "accepted", "accept")
    t = await d.dispatch(t, "sec", "handover")
    if rng.random() < 0.5:
        t = await d.dispatch(t, "eng", "handover")  # back again: one entry per department, minutes summed
    t = await d.step(t, "accepted", "accept")
    t = await d.step(t, "resolved", "resolve")
    t = await d.rate(t, rng.randint(3, 5))
    await d.step(t, "closed", "close")


async def rated_badly(d: Desk, rng: random.Random) -> None:
    t = await d.register(type="complaint")
    t = await d.dispatch(t, rng.choice(["eng", "sec"]))
    t = await d.step(t, "accepted", "accept")
    t = await d.step(t, "resolved", "resolve")
    await rated_and_closed(d, t, rng.randint(1, 2))


async def disputed_twice(d: Desk, rng: random.Random) -> None:
    t = await d.register(type="complaint")
    t = await d.step(t, "accepted", "accept")
    for _ in range(2):  # the same department charged twice counts twice
        t = await d.step(t, "resolved", "resolve")
        t = await d.step(t, "in_progress", "dispute (rework)", note="not done")
    t = await d.step(t, "resolved", "resolve")
    await rated_and_closed(d, t, rng.randint(1, 5))


async def slip_breached_by_the_job(d: Desk, rng: random.Random) -> None:
    t = await d.register(type="contact_slip", title="Gate")
    t = await d.dispatch(t, rng.choice(["sec", "eng"]))
    t = await d.step(t, "accepted", "accept")
    clock.travel(timedelta(minutes=3))
    assert (await d.sla_job())["breached"] >= 1
    t = await d.step(t, "resolved", "resolve")
    await rated_and_closed(d, t, rng.randint(1, 5))


async def slip_at_the_desk(d: Desk, rng: random.Random) -> None:
    t = await d.register(type="contact_slip", title="Lift")
    t = await d.step(t, "accepted", "accept")
    t = await d.step(t, "resolved", "resolve")
    await rated_and_closed(d, t, rng.randint(2, 5))


async def residents_repair(d: Desk, rng: random.Random) -> None:
    t = await d.register("resident")  # no department until it is dispatched: a null department held it
    assert t["department"] is None
    t = await d.dispatch(t, "eng")
    t = await d.step(t, "accepted", "accept")
    t = await d.step(t, "resolved", "resolve")
    t = await d.step(t, "confirmed", "sign-off", signed_by="Mr Chen")
    await rated_and_closed(d, t, rng.randint(1, 5), signoff=True)


async def cancelled(d: Desk, rng: random.Random) -> None:
    t = await d.register(type="complaint", title="Twice")
    if rng.random() < 0.5:
        t = await d.dispatch(t, "eng")
    await d.step(t, "cancelled", "cancel", who=d.w["dispatcher"], note="registered twice")


async def left_open(d: Desk, rng: random.Random) -> None:
    t = await d.register(type="complaint", title="Open")
    if rng.random() < 0.5:
        t = await d.dispatch(t, "sec")
        await d.step(t, "accepted", "accept")


SCENARIOS: tuple[Scenario, ...] = (desk_closes, dispatched_and_closed, handed_over, rated_badly, disputed_twice,
                                   slip_breached_by_the_job, slip_at_the_desk, residents_repair, cancelled, left_open)


# ---- the recount: the month figures as they were computed before the facts, ticket by ticket from legs and events

async def old_sla_by_department(principal: Any, start: datetime, end: datetime, project: Any) -> list[dict[str, Any]]:
    args: list[Any] = []
    where = await reports._where(principal, project, args)
    a, b = reports._period(args, start, end)
    return await fetch(
        "WITH held AS (SELECT l.department, bool_or(l.breached) AS late, sum(l.used) AS used FROM ticket t"
        "  CROSS JOIN LATERAL (SELECT l.department, l.breached, l.used FROM ticket_leg l WHERE l.ticket = t.id"
        "   OFFSET 0) l"
        f"  WHERE t.resolved_at >= {a} AND t.resolved_at < {b} AND {where} GROUP BY t.id, l.department)"
        " SELECT h.department, o.name AS department_name, count(*)::int AS tickets,"
        " count(*) FILTER (WHERE NOT h.late)::int AS on_time, count(*) FILTER (WHERE h.late)::int AS breached,"
        " coalesce(sum(h.used), 0)::bigint AS used"
        " FROM held h LEFT JOIN org_unit o ON o.id = h.department"
        " GROUP BY h.department, o.name ORDER BY o.name NULLS LAST", *args)


async def old_satisfaction_by_department(principal: Any, start: datetime, end: datetime, project: Any
                                         ) -> list[dict[str, Any]]:
    args: list[Any] = []
    where = await reports._where(principal, project, args)
    a, b = reports._period(args, start, end)
    return await fetch(
        "WITH f AS (SELECT t.department,"
        "  ARRAY(SELECT (e.data->>'satisfaction')::int FROM ticket_event e"
        "   WHERE e.ticket = t.id AND e.kind = 'transition' AND e.data ? 'reason'"
        "   AND e.data->>'satisfaction' ~ '^[1-5]$') AS rated,"
        "  ARRAY(SELECT l.department FROM ticket_leg l WHERE l.ticket = t.id AND l.rework) AS reworked"
        f"  FROM ticket t WHERE t.closed_at >= {a} AND t.closed_at < {b} AND t.resolved_at IS NOT NULL AND {where}),"
        " c AS (SELECT department, count(*)::int AS closed FROM f GROUP BY department),"
        " r AS (SELECT f.department, x.s FROM f CROSS JOIN LATERAL unnest(f.rated) AS x(s)),"
        " g AS (SELECT department, count(*)::int AS ratings, round(avg(s), 2)::float8 AS average,"
        "  count(*) FILTER (WHERE s = 1)::int AS s1, count(*) FILTER (WHERE s = 2)::int AS s2,"
        "  count(*) FILTER (WHERE s = 3)::int AS s3, count(*) FILTER (WHERE s = 4)::int AS s4,"
        "  count(*) FILTER (WHERE s = 5)::int AS s5 FROM r GROUP BY department),"
        " w AS (SELECT x.department, count(*)::int AS reworks FROM f CROSS JOIN LATERAL unnest(f.reworked)"
        "  AS x(department) GROUP BY x.department),"
        " d AS (SELECT department FROM c UNION SELECT department FROM w)"
        " SELECT d.department, o.name AS department_name, coalesce(c.closed, 0) AS closed,"
        " coalesce(g.ratings, 0) AS ratings, g.average, coalesce(g.s1, 0) AS s1, coalesce(g.s2, 0) AS s2,"
        " coalesce(g.s3, 0) AS s3, coalesce(g.s4, 0) AS s4, coalesce(g.s5, 0) AS s5,"
        " coalesce(w.reworks, 0) AS reworks"
        " FROM d LEFT JOIN c ON c.department IS NOT DISTINCT FROM d.department"
        " LEFT JOIN g ON g.department IS NOT DISTINCT FROM d.department"
        " LEFT JOIN w ON w.department IS NOT DISTINCT FROM d.department"
        " LEFT JOIN org_unit o ON o.id = d.department ORDER BY o.name NULLS LAST", *args)


async def old_contact_slip_score(principal: Any, start: datetime, end: datetime, project: Any) -> list[dict[str, Any]]:
    args: list[Any] = []
    where = await reports._where(principal, project, args)
    a, b = reports._period(args, start, end)
    on_time, satisfaction, rework = reports.SCORE_ON_TIME, reports.SCORE_SATISFACTION, reports.SCORE_REWORK
    return await fetch(
        "WITH f AS (SELECT t.id, t.department, t.satisfaction FROM ticket t JOIN ticket_type tt ON tt.id = t.type"
        f"  WHERE tt.scored AND t.closed_at >= {a} AND t.closed_at < {b} AND t.resolved_at IS NOT NULL"
        f"  AND {where}),"
        " x AS (SELECT f.department, f.satisfaction,"
        "  EXISTS (SELECT 1 FROM ticket_leg l WHERE l.ticket = f.id"
        "   AND l.department IS NOT DISTINCT FROM f.department AND l.breached) AS late,"
        "  (SELECT count(*) FROM ticket_leg l WHERE l.ticket = f.id"
        "   AND l.department IS NOT DISTINCT FROM f.department AND l.rework) AS reworks FROM f),"
        " s AS (SELECT department, count(*)::int AS slips, count(*) FILTER (WHERE NOT late)::int AS on_time,"
        "  count(satisfaction)::int AS rated, avg(satisfaction) AS average, sum(reworks)::int AS reworks"
        "  FROM x GROUP BY department)"
        " SELECT s.department, o.name AS department_name, s.slips, s.on_time, s.rated,"
        " round(s.average, 2)::float8 AS average, s.reworks,"
        f" round(greatest(0, s.on_time::numeric / s.slips * {on_time}"
        f"  + coalesce(s.average, 0) / 5 * {satisfaction} - {rework} * s.reworks), 1)::float8 AS score"
        " FROM s LEFT JOIN org_unit o ON o.id = s.department ORDER BY score DESC, o.name NULLS LAST", *args)


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (str(r["department"]), sorted(r.items(), key=str).__repr__()))


async def test_every_write_keeps_the_facts_and_the_reports_match_a_recount(client: Any) -> None:
    w = await tower(client)
    t = w["t"]
    # contact slips breach a minute after they are registered (calendar time): the SLA job marks them
    r = await client.put("/api/v1/ticket-types/contact_slip", headers=t["headers"], json={
        "sla": {"normal": {"respond": 1, "resolve": 1, "clock": "calendar"}}})
    assert r.status_code == 200, r.text
    started = clock.now()
    desk = Desk(client, w)
    rng = random.Random(20261201)
    for i in range(40):
        await SCENARIOS[i % len(SCENARIOS)](desk, rng)
    # the archive import writes units and people only: the tickets' facts stay as they are
    result = await ok(await upload(client, t["headers"], w["project"]["id"], xlsx([HEADER, *GOOD])))
    assert result["imported"] == 4
    await desk.checked("archive import")
    assert desk.writes >= {"register", "dispatch", "handover", "accept", "resolve", "rating", "bad rating (rework)",
                           "dispute (rework)", "SLA job", "close", "cancel", "archive import"}

    async with tenant_scope(uuid.UUID(t["tenant_id"])):
        facts = await fetch("SELECT count(*) FILTER (WHERE cardinality(report_rework) > 1)::int AS twice,"
                            " count(*) FILTER (WHERE true = ANY(report_held_late))::int AS late,"
                            " count(*) FILTER (WHERE array_position(report_held, NULL) IS NOT NULL)::int AS nobody,"
                            " count(*) FILTER (WHERE cardinality(report_ratings) > 1)::int AS rated_twice FROM ticket")
        assert all(v > 0 for v in facts[0].values()), facts  # the world has what the facts must get right
        # a rebuild finds nothing to change
        assert await fetch("SELECT ticket_report_facts_rebuild() AS n") == [{"n": 0}]

    # the figures, the month around the writes (the clock travelled), for the company and for the tower, as
    # the admin-like dispatcher at the company and as the tower's dispatcher
    start, end = started - timedelta(days=1), clock.now() + timedelta(days=1)
    company = await person(client, t, kind="staff", roles=["dispatcher"], unit=(await root_unit(client, t))["id"])
    async with tenant_scope(uuid.UUID(t["tenant_id"])):
        tenant = await platform_service.get_tenant(uuid.UUID(t["tenant_id"]))
        assert tenant is not None
        for who, project in ((company, None), (company, uuid.UUID(w["project"]["id"])), (w["dispatcher"], None)):
            principal = await platform_service.load_principal(tenant, uuid.UUID(who["id"]))
            for new, old in ((reports.sla_by_department, old_sla_by_department),
                             (reports.satisfaction_by_department, old_satisfaction_by_department),
                             (reports.contact_slip_score, old_contact_slip_score)):
                got = await new(principal, start=start, end=end, project=project)
                expected = await old(principal, start, end, project)
                assert got and _sorted(got) == _sorted(expected), new.__name__
                assert got == expected, new.__name__  # the same order too


async def test_one_tenants_check_and_rebuild_never_touch_anothers_tickets(client: Any) -> None:
    a, b = await tower(client), await tower(client)
    for w in (a, b):
        desk = Desk(client, w)
        await rated_badly(desk, random.Random(1))
        await handed_over(desk, random.Random(2))
    ta, tb = uuid.UUID(a["t"]["tenant_id"]), uuid.UUID(b["t"]["tenant_id"])

    async def spoil(tenant: uuid.UUID) -> uuid.UUID:
        # a hand-made wrong fact (an UPDATE of the ticket itself fires no trigger)
        async with tenant_scope(tenant):
            rows = await fetch("UPDATE ticket SET report_ratings = '{5,5,5}', report_rework = '{}'"
                               " WHERE id = (SELECT id FROM ticket WHERE reopen_count > 0 LIMIT 1) RETURNING id")
            return rows[0]["id"]

    spoiled_b = await spoil(tb)
    assert await differences(a["t"]) == []  # b's wrong ticket is not a's to see
    async with tenant_scope(ta):
        assert await fetch("SELECT ticket_report_facts_rebuild() AS n") == [{"n": 0}]
    found = await differences(b["t"])
    assert {r["ticket"] for r in found} == {spoiled_b} and {r["fact"] for r in found} == {"ratings", "rework"}
    spoiled_a = await spoil(ta)
    assert {r["ticket"] for r in await differences(a["t"])} == {spoiled_a}
    async with tenant_scope(tb):
        assert await fetch("SELECT ticket_report_facts_rebuild() AS n") == [{"n": 1}]
    assert await differences(b["t"]) == []
    assert {r["ticket"] for r in await differences(a["t"])} == {spoiled_a}  # b's rebuild left a's as it was
    async with tenant_scope(ta):
        assert await fetch("SELECT ticket_report_facts_rebuild() AS n") == [{"n": 1}]
    assert await differences(a["t"]) == []
