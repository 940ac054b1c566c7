"""The month reports' tallies (`ticket_tally`, written as signed rows by a statement trigger on `ticket`, folded
by the SLA job): after every kind of write the check finds no key whose sum differs from a recount; for a reader
whose scope is the company or a whole project the reports answer from them exactly what reading the month's
tickets answers; racing writers all land and lose nothing, with compactions running between them; one company's
rows, rebuild and compaction never reach another's; a company whose zone changes gets its months counted again."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from saq.job import Status

from careclub.core import clock
from careclub.core.db import fetch, tenant_scope
from careclub.core.infra import Infra
from careclub.core.jobqueue import QUEUE_NAME
from careclub.core.redis import redis
from careclub.platform import service as platform_service
from careclub.platform.tenant_file import apply_text
from careclub.tickets.service import _reports as reports
from tests.conftest import PASSWORD, owner_transactions
from tests.integration.clubs.helpers import person, root_unit
from tests.integration.platform.pages import browser, login, submit
from tests.integration.test_jobs import queue_name, run_jobs  # noqa: F401 - the fixture is used by name
from tests.integration.tickets.helpers import move, raise_ticket, tower
from tests.integration.tickets.test_report_facts import SCENARIOS, Desk, _time_comes_back  # noqa: F401


async def tally_differences(tenant_id: str) -> list[dict[str, Any]]:
    async with tenant_scope(uuid.UUID(tenant_id)):
        return await fetch("SELECT * FROM ticket_tally_check()")


async def tally_rows(tenant_id: str) -> int:
    async with tenant_scope(uuid.UUID(tenant_id)):
        return int((await fetch("SELECT count(*) AS n FROM ticket_tally"))[0]["n"])


class TallyDesk(Desk):
    """The facts' desk, checking the tallies too after every write."""

    async def checked(self, what: str) -> None:
        await super().checked(what)
        found = await tally_differences(self.w["t"]["tenant_id"])
        assert found == [], f"after {what}: {found}"


def months_between(start: datetime, end: datetime, zone: str) -> list[tuple[datetime, datetime]]:
    """The company months from the one holding `start` to the one holding `end`, as [start, end) moments."""
    tz = ZoneInfo(zone)
    first = start.astimezone(tz).date().replace(day=1)
    out = []
    while datetime.combine(first, time(), tzinfo=tz) <= end:
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        out.append((datetime.combine(first, time(), tzinfo=tz), datetime.combine(following, time(), tzinfo=tz)))
        first = following
    return out


async def figures_agree(t: dict[str, Any], readers: list[tuple[dict[str, Any], str | None, bool]],
                        start: datetime, end: datetime) -> None:
    """For each (reader, project, tallied?): every month from `start` to `end` answers from the tallies when
    expected, and the figures equal those read from the month's tickets, in the same order."""
    async with tenant_scope(uuid.UUID(t["tenant_id"])):
        tenant = await platform_service.get_tenant(uuid.UUID(t["tenant_id"]))
        assert tenant is not None
        for who, project_text, tallied in readers:
            project = uuid.UUID(project_text) if project_text else None
            principal = await platform_service.load_principal(tenant, uuid.UUID(who["id"]))
            for a, b in months_between(start, end, tenant.timezone):
                assert (await reports.tallied_month(principal, a, b, project) is not None) is tallied
                for from_tallies, from_tickets in ((reports.resolved_month, reports.resolved_facts),
                                                   (reports.closed_month, reports.closed_facts)):
                    got = await from_tallies(principal, start=a, end=b, project=project)
                    expected = await from_tickets(principal, start=a, end=b, project=project)
                    assert got == expected, from_tallies.__name__


async def test_every_write_keeps_the_tallies_and_the_reports_match_the_tickets(client: Any) -> None:
    w = await tower(client)
    t = w["t"]
    r = await client.put("/api/v1/ticket-types/contact_slip", headers=t["headers"], json={
        "sla": {"normal": {"respond": 1, "resolve": 1, "clock": "calendar"}}})
    assert r.status_code == 200, r.text
    started = clock.now()
    desk = TallyDesk(client, w)
    rng = random.Random(20261201)
    for i in range(30):
        await SCENARIOS[i % len(SCENARIOS)](desk, rng)
    assert desk.writes >= {"register", "dispatch", "handover", "accept", "resolve", "rating", "bad rating (rework)",
                           "dispute (rework)", "SLA job", "close", "cancel"}
    company = await person(client, t, kind="staff", roles=["dispatcher"], unit=(await root_unit(client, t))["id"])
    readers = [(company, None, True), (company, w["project"]["id"], True), (w["dispatcher"], w["project"]["id"], True),
               (w["dispatcher"], None, False)]  # his own tickets elsewhere are in his scope: the tickets are read
    await figures_agree(t, readers, started, clock.now())
    async with tenant_scope(uuid.UUID(t["tenant_id"])):
        month = (await fetch("SELECT month FROM ticket_tally GROUP BY month ORDER BY count(*) DESC LIMIT 1"))[0]
        resolved = await fetch("SELECT sum(tickets)::int AS n FROM ticket_tally WHERE figure = 'resolved'"
                               " AND month = $1", month["month"])
        assert resolved[0]["n"] > 20  # the world is in the tallies, not only in the recount
    before = await tally_rows(t["tenant_id"])

    # the SLA job folds each key's rows into one; the sums and the figures stay
    await desk.sla_job()
    after = await tally_rows(t["tenant_id"])
    assert after < before, (before, after)
    async with tenant_scope(uuid.UUID(t["tenant_id"])):
        keys = await fetch("SELECT count(*) AS n FROM (SELECT DISTINCT month, project_id, figure, type, department"
                           " FROM ticket_tally) k")
        assert keys[0]["n"] == after
        assert await fetch("SELECT ticket_tally_compact() AS n") == [{"n": 0}]
    await figures_agree(t, readers, started, clock.now())
    # a recount finds nothing to mend; rows lost behind the app's back, it mends exactly their keys (one row each
    # once folded)
    async with tenant_scope(uuid.UUID(t["tenant_id"])):
        assert await fetch("SELECT ticket_tally_rebuild() AS n") == [{"n": 0}]
        lost = await fetch("DELETE FROM ticket_tally WHERE id IN (SELECT id FROM ticket_tally ORDER BY id LIMIT 3)"
                           " RETURNING id")
        assert len(lost) == 3 and await tally_differences(t["tenant_id"]) != []
        assert await fetch("SELECT ticket_tally_rebuild() AS n") == [{"n": 3}]
    assert await tally_differences(t["tenant_id"]) == []


async def test_racing_resolutions_and_compactions_all_land_and_lose_nothing(client: Any) -> None:
    w = await tower(client)
    t = w["t"]
    ids = []
    for i in range(12):
        tid = (await raise_ticket(client, w["clerk"], unit=w["unit"], type="complaint", title=f"Noise {i}"))["id"]
        department = w["eng"] if i % 2 else w["sec"]
        await move(client, w["dispatcher"], tid, "dispatched", department=department["id"])
        handler = w["engineer"] if i % 2 else w["guard"]
        await move(client, handler, tid, "accepted")
        ids.append((tid, handler))

    async def compact() -> Any:
        async with tenant_scope(uuid.UUID(t["tenant_id"])):
            return await fetch("SELECT ticket_tally_compact() AS n")

    async def resolve_and_rate(tid: str, handler: dict[str, Any]) -> int:
        r = await client.post(f"/api/v1/tickets/{tid}/transitions", headers=handler["headers"],
                              json={"to": "resolved"})
        if r.status_code != 200:
            return r.status_code
        r = await client.post(f"/api/v1/tickets/{tid}/transitions", headers=w["dispatcher"]["headers"],
                              json={"to": "visited", "satisfaction": 5, "reason": "satisfied"})
        return r.status_code

    answers = await asyncio.gather(*(resolve_and_rate(tid, h) for tid, h in ids), *(compact() for _ in range(4)))
    assert answers[:12] == [200] * 12
    assert await tally_differences(t["tenant_id"]) == []
    async with tenant_scope(uuid.UUID(t["tenant_id"])):
        await fetch("SELECT ticket_tally_compact()")
        totals = await fetch("SELECT figure, sum(tickets)::int AS tickets FROM ticket_tally"
                             " WHERE figure IN ('resolved', 'held') GROUP BY figure ORDER BY figure")
    # twelve resolved; each held by the desk and one department
    assert totals == [{"figure": "held", "tickets": 24}, {"figure": "resolved", "tickets": 12}]
    assert await tally_differences(t["tenant_id"]) == []


async def test_a_recount_beside_a_compaction_and_a_resolution_counts_every_ticket_once(client: Any, infra: Infra
                                                                                         ) -> None:
    """The zone change's recount runs while the company works: a compaction folding rows and a resolution still
    open when it starts, both committing while it runs, are each counted once (the recount was two statements:
    the folded rows stood beside a full recount, every key twice)."""
    w = await tower(client)
    t = w["t"]
    ids = []
    for i in range(6):
        tid = (await raise_ticket(client, w["clerk"], unit=w["unit"], type="complaint", title=f"Noise {i}"))["id"]
        await move(client, w["dispatcher"], tid, "dispatched", department=w["eng"]["id"])
        await move(client, w["engineer"], tid, "accepted")
        ids.append(tid)
        if i:
            await move(client, w["engineer"], tid, "resolved")
    open_one = ids[0]  # accepted, not resolved
    async with owner_transactions(infra, t["tenant_id"], 3) as (folding, resolving, recount):
        assert await folding.fetchval("SELECT ticket_tally_compact()") > 0
        await resolving.execute("UPDATE ticket SET status = 'resolved', resolved_at = now() WHERE id = $1",
                                uuid.UUID(open_one))
        counting = asyncio.ensure_future(recount.fetchval("SELECT ticket_tally_rebuild()"))
        await asyncio.sleep(0.3)
        await folding.execute("COMMIT")
        await resolving.execute("COMMIT")
        await counting
        await recount.execute("COMMIT")
    assert await tally_differences(t["tenant_id"]) == []
    async with tenant_scope(uuid.UUID(t["tenant_id"])):
        resolved = await fetch("SELECT sum(tickets)::int AS n FROM ticket_tally WHERE figure = 'resolved'")
    assert resolved == [{"n": 6}]


async def test_one_companys_tallies_rebuild_and_compaction_never_reach_anothers(client: Any) -> None:
    a, b = await tower(client), await tower(client)
    for w in (a, b):
        desk = TallyDesk(client, w)
        for scenario in SCENARIOS[:4]:
            await scenario(desk, random.Random(7))

    async def rows(w: dict[str, Any]) -> list[dict[str, Any]]:
        async with tenant_scope(uuid.UUID(w["t"]["tenant_id"])):
            return await fetch("SELECT * FROM ticket_tally ORDER BY id")

    a_rows, b_rows = await rows(a), await rows(b)
    assert a_rows and b_rows and not {r["id"] for r in a_rows} & {r["id"] for r in b_rows}
    assert {r["tenant_id"] for r in a_rows} == {uuid.UUID(a["t"]["tenant_id"])}
    async with tenant_scope(uuid.UUID(b["t"]["tenant_id"])):
        assert (await fetch("SELECT ticket_tally_compact() AS n"))[0]["n"] > 0
        await fetch("SELECT ticket_tally_rebuild()")
        # b's session sees none of a's rows, even naming a's tenant
        assert await fetch("SELECT count(*)::int AS n FROM ticket_tally WHERE tenant_id = $1",
                           uuid.UUID(a["t"]["tenant_id"])) == [{"n": 0}]
    assert await rows(a) == a_rows  # b's compaction and rebuild left a's rows as they were
    assert await tally_differences(a["t"]["tenant_id"]) == []
    assert await tally_differences(b["t"]["tenant_id"]) == []


async def test_a_company_whose_zone_changes_has_its_months_counted_again(app: Any, client: Any, infra: Infra,
                                                                          queue_name: str) -> None:  # noqa: F811
    w = await tower(client)
    t = w["t"]
    tenant_id = uuid.UUID(t["tenant_id"])
    # a ticket resolved at 23:30 on the last day of a month in Shanghai: still that month's there, the next
    # month's in Tokyo, an hour ahead
    clock.travel(datetime(2026, 3, 31, 15, 0, tzinfo=ZoneInfo("UTC")) - clock.now())
    desk = TallyDesk(client, w)
    tid = (await desk.register(type="complaint"))["id"]
    await move(client, w["clerk"], tid, "accepted")
    clock.travel(timedelta(minutes=30))
    await move(client, w["clerk"], tid, "resolved")

    async def month_of_resolved() -> list[date]:
        async with tenant_scope(tenant_id):
            # as the readers see them: a month the recount took a ticket out of sums to nothing until compacted
            rows = await fetch("SELECT month FROM ticket_tally WHERE figure = 'resolved' GROUP BY month"
                               " HAVING sum(tickets) <> 0")
        return [r["month"] for r in rows]

    assert await month_of_resolved() == [date(2026, 3, 1)]
    async with tenant_scope(tenant_id):
        tenant = await platform_service.get_tenant(tenant_id)
        assert tenant is not None
    await apply_text(f'[tenant]\nslug = "{tenant.slug}"\nname = "{tenant.name}"\ncurrency = "{tenant.currency}"\n'
                     f'timezone = "Asia/Tokyo"\nlocale = "{tenant.locale}"\n', demo=False)
    assert await month_of_resolved() == [date(2026, 4, 1)]
    assert await tally_differences(t["tenant_id"]) == []
    # and back from the company settings page, as its admin would: the same recount, in a job queued once the
    # change is committed (minutes for a big company), which the real worker runs
    async with browser(app, lang="en") as c:
        await login(c, t["slug"], t["email"], PASSWORD)
        r = await submit(c, "/settings/company", name=tenant.name, timezone="Asia/Shanghai", locale=tenant.locale,
                         currency=tenant.currency)
        assert r.status_code == 303 and r.headers["location"].endswith("?saved=zone"), r.text[:500]
        assert "counted again in the new time zone" in (await c.get(r.headers["location"])).text
    queued = [k async for k in redis().scan_iter(match=f"saq:job:{QUEUE_NAME}:tallies_recount:{tenant_id}:*")]
    assert len(queued) == 1
    assert await month_of_resolved() == [date(2026, 4, 1)]  # until the job has run
    [job] = await run_jobs(infra, queue_name, ("tallies_recount", {"tenant_id": t["tenant_id"]}))
    assert job.status == Status.COMPLETE, job.error
    assert await month_of_resolved() == [date(2026, 3, 1)]
    assert await tally_differences(t["tenant_id"]) == []
