"""The ticket reports: set-based figures, each one GROUP BY in PostgreSQL, never rows loaded into Python.

Every figure is limited to the tickets the person may see (the lists' own scope, `_lists._scope`: a
dispatcher his projects', someone whose rights cover the company everything) and, when given, to one
project. The month is [start, end) in UTC, the company's month as its people count it (the view turns
"2026-02" into those two moments in the company's zone).

What each section counts (the page says the same in words):

- open tickets by age: the tickets open now (not closed), by how long ago they were registered: under a
  day, one to three days, three to seven, more than seven; per type. Not limited by the month.
- SLA compliance per department: over the tickets *resolved* in the month, each department that held
  one of them (a `ticket_leg`: a desk that registered it, a department it was dispatched to) counts it once;
  it is late for the department when one of the department's own legs is marked breached (the leg that held
  it when the target passed). Working minutes used are the legs' `used`.
- SLA compliance per type: the same tickets by type, on the ticket's own `breached`; the response on time
  (`responded_at <= respond_by`) and the reopenings (`reopen_count`) beside it.
- satisfaction and rework per department: over the tickets *closed* in the month (cancelled ones left out:
  they were never resolved), every rating given on them (the return-visit events, the bad first rating of
  a reworked ticket included), by the department that holds the ticket at its close; rework is the legs
  marked `rework`, by the department they were charged to.
- the contact-slip score per department: over the tickets of the types marked `scored` (the contact slip,
  by default) closed in the month, by the department that holds each at its close:
  on-time rate × 60 + average satisfaction / 5 × 40 − 5 per rework, floored at 0, rounded to one place. On
  time: none of the department's own legs on the slip is breached; satisfaction: the slip's final rating
  (a department none of whose slips was rated gets 0 for that part); a rework: a leg of the department
  marked rework.

Indexes, and the one rule every query keeps: the month's tickets drive, and nothing else is read. The
open-ticket figures read the partial index of open tickets; the month's figures find the tickets resolved /
closed in the month through `ticket_tenant_resolved` / `ticket_tenant_closed` and read only those rows: what
they need of the ticket's legs and rating events is kept on the ticket itself, so each figure is one grouped
scan of the month's tickets. Reaching the legs and events ticket by ticket (a correlated look-up per ticket,
the best any index allows) cost ~48,000 index scans for a whole month at a million tickets, ~1 s for the page;
joining every leg or rating of the company to the month afterwards was worse still (2 s at p50, 15 s at p95).
bench/scale.py measures the page.

The facts (`ticket.report_*`, migrations/tickets 2026-12-01T09:00:04): `report_held` the departments that
held the ticket (its legs' departments, a null one too), with at the same position in `report_held_late`
whether one of that department's legs is breached and in `report_held_used` the minutes its legs used;
`report_rework` the department of each rework leg (a department charged twice is there twice); and
`report_ratings` the satisfaction of each rating event (kind 'transition' with a 'reason' and a satisfaction
1–5), in order. Row triggers on `ticket_leg` and `ticket_event` keep them whoever writes (the service, the SLA
job marking a leg breached, a hand-run UPDATE), each making its ticket's facts again from all its legs or
rating events, so the figures are those the legs and events give; `ticket_report_facts_check()` answers the
tickets whose facts differ from a recount (none), `ticket_report_facts_rebuild()` recounts a tenant's
tickets after a bulk load made without the triggers. Parallel arrays rather than jsonb: unnested in place,
typed, a uuid in 16 bytes, and a scalar look-up (`array_position`) answers the contact-slip score's "the
closing department's own entry" with no sub-select."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from careclub.core.db import fetch
from careclub.core.principal import Principal
from careclub.tickets.service._lists import _scope

AGE_BUCKETS = ("under_1", "d1_3", "d3_7", "over_7")
SCORE_ON_TIME, SCORE_SATISFACTION, SCORE_REWORK = 60, 40, 5


async def _where(principal: Principal, project: uuid.UUID | None, args: list[Any]) -> str:
    clause = await _scope(principal, args)
    if project is not None:
        args.append(project)
        clause += f" AND t.project_id = ${len(args)}"
    return clause


def _period(args: list[Any], start: datetime, end: datetime) -> tuple[str, str]:
    args += [start, end]
    return f"${len(args) - 1}", f"${len(args)}"


async def open_by_age(principal: Principal, *, now: datetime, project: uuid.UUID | None = None
                      ) -> list[dict[str, Any]]:
    """Open tickets per type, by age bucket (under 1 day, 1–3, 3–7, over 7 days)."""
    args: list[Any] = []
    where = await _where(principal, project, args)
    args.append(now)
    n = f"${len(args)}::timestamptz"
    return await fetch(
        "SELECT t.type, t.type_code,"
        f" count(*) FILTER (WHERE t.created_at > {n} - interval '1 day')::int AS under_1,"
        f" count(*) FILTER (WHERE t.created_at <= {n} - interval '1 day'"
        f"   AND t.created_at > {n} - interval '3 days')::int AS d1_3,"
        f" count(*) FILTER (WHERE t.created_at <= {n} - interval '3 days'"
        f"   AND t.created_at > {n} - interval '7 days')::int AS d3_7,"
        f" count(*) FILTER (WHERE t.created_at <= {n} - interval '7 days')::int AS over_7,"
        " count(*)::int AS total"
        f" FROM ticket t WHERE t.closed_at IS NULL AND {where}"
        " GROUP BY t.type, t.type_code ORDER BY t.type_code", *args)


async def sla_by_department(principal: Principal, *, start: datetime, end: datetime,
                            project: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """Per department that held them: the tickets resolved in the month, on time or late by its own legs."""
    args: list[Any] = []
    where = await _where(principal, project, args)
    a, b = _period(args, start, end)
    return await fetch(
        # one row per department that held a ticket resolved in the month, from the ticket's own facts: the
        # parallel arrays unnested side by side in the select list (a ProjectSet: a Function Scan in FROM is
        # set up again for every ticket, 5 µs each), named after grouping (joined before, the planner probed
        # org_unit once per ticket)
        "WITH x AS (SELECT unnest(t.report_held) AS department, unnest(t.report_held_late) AS late,"
        "  unnest(t.report_held_used) AS used FROM ticket t"
        f"  WHERE t.resolved_at >= {a} AND t.resolved_at < {b} AND {where}),"
        " h AS (SELECT department, count(*)::int AS tickets, count(*) FILTER (WHERE NOT late)::int AS on_time,"
        "  count(*) FILTER (WHERE late)::int AS breached, coalesce(sum(used), 0)::bigint AS used"
        "  FROM x GROUP BY department)"
        " SELECT h.department, o.name AS department_name, h.tickets, h.on_time, h.breached, h.used"
        " FROM h LEFT JOIN org_unit o ON o.id = h.department ORDER BY o.name NULLS LAST", *args)


async def sla_by_type(principal: Principal, *, start: datetime, end: datetime,
                      project: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """Per type: the tickets resolved in the month, within their resolution target or breached."""
    args: list[Any] = []
    where = await _where(principal, project, args)
    a, b = _period(args, start, end)
    return await fetch(
        "SELECT t.type, t.type_code, count(*)::int AS tickets,"
        " count(*) FILTER (WHERE NOT t.breached)::int AS on_time,"
        " count(*) FILTER (WHERE t.breached)::int AS breached,"
        " count(*) FILTER (WHERE t.responded_at IS NOT NULL AND t.respond_by IS NOT NULL"
        "   AND t.responded_at <= t.respond_by)::int AS responded_on_time,"
        " coalesce(sum(t.reopen_count), 0)::int AS reopened"
        f" FROM ticket t WHERE t.resolved_at >= {a} AND t.resolved_at < {b} AND {where}"
        " GROUP BY t.type, t.type_code ORDER BY t.type_code", *args)


async def satisfaction_by_department(principal: Principal, *, start: datetime, end: datetime,
                                     project: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """Per department: the tickets closed in the month, every rating given on them (1–5, and their average)
    and the rework legs charged to it."""
    args: list[Any] = []
    where = await _where(principal, project, args)
    a, b = _period(args, start, end)
    return await fetch(
        # one row per ticket closed in the month, with its ratings and the departments of its rework legs: the
        # ticket's own facts
        "WITH f AS (SELECT t.department, t.report_ratings AS rated, t.report_rework AS reworked"
        f"  FROM ticket t WHERE t.closed_at >= {a} AND t.closed_at < {b} AND t.resolved_at IS NOT NULL AND {where}),"
        " c AS (SELECT department, count(*)::int AS closed FROM f GROUP BY department),"
        " r AS (SELECT f.department, unnest(f.rated) AS s FROM f),"
        " g AS (SELECT department, count(*)::int AS ratings, round(avg(s), 2)::float8 AS average,"
        "  count(*) FILTER (WHERE s = 1)::int AS s1, count(*) FILTER (WHERE s = 2)::int AS s2,"
        "  count(*) FILTER (WHERE s = 3)::int AS s3, count(*) FILTER (WHERE s = 4)::int AS s4,"
        "  count(*) FILTER (WHERE s = 5)::int AS s5 FROM r GROUP BY department),"
        " w AS (SELECT x.department, count(*)::int AS reworks FROM (SELECT unnest(f.reworked) AS department FROM f)"
        "  AS x GROUP BY x.department),"
        " d AS (SELECT department FROM c UNION SELECT department FROM w)"
        " SELECT d.department, o.name AS department_name, coalesce(c.closed, 0) AS closed,"
        " coalesce(g.ratings, 0) AS ratings, g.average, coalesce(g.s1, 0) AS s1, coalesce(g.s2, 0) AS s2,"
        " coalesce(g.s3, 0) AS s3, coalesce(g.s4, 0) AS s4, coalesce(g.s5, 0) AS s5,"
        " coalesce(w.reworks, 0) AS reworks"
        " FROM d LEFT JOIN c ON c.department IS NOT DISTINCT FROM d.department"
        " LEFT JOIN g ON g.department IS NOT DISTINCT FROM d.department"
        " LEFT JOIN w ON w.department IS NOT DISTINCT FROM d.department"
        " LEFT JOIN org_unit o ON o.id = d.department ORDER BY o.name NULLS LAST", *args)


async def contact_slip_score(principal: Principal, *, start: datetime, end: datetime,
                             project: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """Per department: the scored slips closed in the month and the score (module docstring), best first."""
    args: list[Any] = []
    where = await _where(principal, project, args)
    a, b = _period(args, start, end)
    return await fetch(
        # from the ticket's own facts: late when the closing department's entry in `report_held` is (array_position
        # finds a null department too), its reworks the times it is in `report_rework`
        "WITH x AS (SELECT t.department, t.satisfaction,"
        "  coalesce(t.report_held_late[array_position(t.report_held, t.department)], false) AS late,"
        "  cardinality(array_positions(t.report_rework, t.department)) AS reworks"
        " FROM ticket t JOIN ticket_type tt ON tt.id = t.type"
        f"  WHERE tt.scored AND t.closed_at >= {a} AND t.closed_at < {b} AND t.resolved_at IS NOT NULL"
        f"  AND {where}),"
        " s AS (SELECT department, count(*)::int AS slips, count(*) FILTER (WHERE NOT late)::int AS on_time,"
        "  count(satisfaction)::int AS rated, avg(satisfaction) AS average, sum(reworks)::int AS reworks"
        "  FROM x GROUP BY department)"
        " SELECT s.department, o.name AS department_name, s.slips, s.on_time, s.rated,"
        " round(s.average, 2)::float8 AS average, s.reworks,"
        f" round(greatest(0, s.on_time::numeric / s.slips * {SCORE_ON_TIME}"
        f"  + coalesce(s.average, 0) / 5 * {SCORE_SATISFACTION} - {SCORE_REWORK} * s.reworks), 1)::float8 AS score"
        " FROM s LEFT JOIN org_unit o ON o.id = s.department ORDER BY score DESC, o.name NULLS LAST", *args)


async def project_choices(principal: Principal, ids: list[uuid.UUID] | None) -> list[dict[str, Any]]:
    """The projects (org units of kind project) among `ids`, or all of the company's when None."""
    if ids is None:
        return await fetch("SELECT id, name FROM org_unit WHERE kind = 'project' ORDER BY name LIMIT 500")
    return await fetch("SELECT id, name FROM org_unit WHERE kind = 'project' AND id = ANY($1::uuid[])"
                       " ORDER BY name LIMIT 500", ids)
