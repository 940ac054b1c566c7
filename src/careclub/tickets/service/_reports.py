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

Where the figures come from. A reader whose scope is the whole company, or who picks one project (a
dispatcher's projects are wholly in his scope), reads the month's tallies (`ticket_tally`, `tallied_month`): per
company month, project, figure and key, kept by a statement trigger on `ticket` from the facts below, a few
hundred rows for a month of a big company, whatever its size (the page 271 ms at p50 / 357 at p95 before, with
a million tickets; docs/scale.md). Any other reader (a dispatcher's scope also holds the tickets he raised or is
assigned anywhere, and his departments' tickets in other projects), or a period that is not one whole month,
reads the month's tickets in scope (`resolved_facts`, `closed_facts`): the open-ticket figures read the partial
index of open tickets; the month's figures find the tickets resolved / closed in the month through
`ticket_tenant_resolved` / `ticket_tenant_closed` and read only those rows: what they need of the ticket's legs
and rating events is kept on the ticket itself, so each figure is one grouped scan of the month's tickets, and
the figures over the same tickets share one read of them (each read of a month's 48,000 tickets costs 40–80 ms
at a million tickets). Reaching the legs and events ticket by ticket (a correlated look-up per ticket, the best
any index allows) cost ~48,000 index scans for a whole month at a million tickets, ~1 s for the page; joining
every leg or rating of the company to the month afterwards was worse still (2 s at p50, 15 s at p95).
tests/integration/tickets/test_report_tallies.py checks that both ways give the same figures.

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

import json
import uuid
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from careclub.core.db import fetch
from careclub.core.principal import Principal
from careclub.platform.permissions import Perm
from careclub.platform.service import company_zone, units_in_scope
from careclub.tickets.service._lists import _scope, _scope_arms

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


def _parts(row: dict[str, Any], keys: tuple[str, ...]) -> list[list[dict[str, Any]]]:
    """The JSON arrays of a combined month query as rows, ids as UUIDs again (JSON carries them as text)."""
    out = []
    for key in keys:
        value = row[key]
        items = json.loads(value) if isinstance(value, str) else value
        for item in items:
            for name in ("type", "department"):
                if isinstance(item.get(name), str):
                    item[name] = uuid.UUID(item[name])
        out.append(items)
    return out


async def tallied_month(principal: Principal, start: datetime, end: datetime, project: uuid.UUID | None
                        ) -> date | None:
    """The company month the tallies can answer [start, end) with for this reader, or None (then the month's
    tickets are read): the period must be one whole month of the company's, and the reader's scope all the
    company's tickets, or all of one project's when one is chosen (a dispatcher's projects: his scope holds
    every ticket of each; the tallies have no row for "raised by me" or a department's tickets elsewhere)."""
    tz = ZoneInfo(await company_zone())
    first = start.astimezone(tz)
    if first.time() != time() or first.day != 1:
        return None
    month = first.date()
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    if end != datetime.combine(following, time(), tzinfo=tz):
        return None
    if await _scope_arms(principal, []) is None:
        return month
    if project is not None and project in (await units_in_scope(principal, Perm.TICKETS_DISPATCH) or []):
        return month
    return None


async def _tally(month: date, project: uuid.UUID | None, figures: tuple[str, ...], sql: str) -> dict[str, Any]:
    """One query over the month's tally rows (`k`: each key summed, folded or not), its JSON columns parsed."""
    args: list[Any] = [month, list(figures)]
    where = "k.month = $1 AND k.figure = ANY($2::text[])"
    if project is not None:
        args.append(project)
        where += " AND k.project_id = $3"
    rows = await fetch(
        "WITH k AS MATERIALIZED (SELECT k.figure, k.type, k.department, sum(k.tickets)::int AS tickets,"
        " sum(k.late)::int AS late, sum(k.responded)::int AS responded, sum(k.reopened)::int AS reopened,"
        " sum(k.used)::bigint AS used, sum(k.ratings)::int AS ratings, sum(k.rating_sum)::bigint AS rating_sum,"
        " sum(k.s1)::int AS s1, sum(k.s2)::int AS s2, sum(k.s3)::int AS s3, sum(k.s4)::int AS s4,"
        " sum(k.s5)::int AS s5, sum(k.rated)::int AS rated, sum(k.rated_sum)::bigint AS rated_sum,"
        " sum(k.reworks)::int AS reworks"
        f" FROM ticket_tally k WHERE {where} GROUP BY k.figure, k.type, k.department) " + sql, *args)
    return rows[0]


async def _resolved_tallied(month: date, project: uuid.UUID | None
                            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    row = await _tally(month, project, ("resolved", "held"),
                       "SELECT (SELECT coalesce(jsonb_agg(jsonb_build_object('type', k.type, 'type_code', tt.code,"
                       "  'tickets', k.tickets, 'on_time', k.tickets - k.late, 'breached', k.late,"
                       "  'responded_on_time', k.responded, 'reopened', k.reopened) ORDER BY tt.code), '[]')"
                       "  FROM k JOIN ticket_type tt ON tt.id = k.type WHERE k.figure = 'resolved' AND k.tickets > 0)"
                       "  AS by_type,"
                       " (SELECT coalesce(jsonb_agg(jsonb_build_object('department', k.department,"
                       "  'department_name', o.name, 'tickets', k.tickets, 'on_time', k.tickets - k.late,"
                       "  'breached', k.late, 'used', k.used) ORDER BY o.name NULLS LAST), '[]')"
                       "  FROM k LEFT JOIN org_unit o ON o.id = k.department WHERE k.figure = 'held' AND k.tickets > 0)"
                       "  AS by_department")
    by_type, by_department = _parts(row, ("by_type", "by_department"))
    return by_type, by_department


async def _closed_tallied(month: date, project: uuid.UUID | None
                          ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    row = await _tally(
        month, project, ("closed", "rework"),
        # per closing department over every type; the departments charged a rework leg beside them
        "SELECT (SELECT coalesce(jsonb_agg(jsonb_build_object('department', d.department,"
        "  'department_name', o.name, 'closed', d.closed, 'ratings', d.ratings, 'average',"
        "  round(d.rating_sum::numeric / nullif(d.ratings, 0), 2)::float8, 's1', d.s1, 's2', d.s2, 's3', d.s3,"
        "  's4', d.s4, 's5', d.s5, 'reworks', d.reworks) ORDER BY o.name NULLS LAST), '[]')"
        "  FROM (SELECT k.department, sum(k.tickets) FILTER (WHERE k.figure = 'closed')::int AS closed,"
        "   sum(k.ratings)::int AS ratings, sum(k.rating_sum) AS rating_sum, sum(k.s1)::int AS s1,"
        "   sum(k.s2)::int AS s2, sum(k.s3)::int AS s3, sum(k.s4)::int AS s4, sum(k.s5)::int AS s5,"
        "   sum(k.reworks) FILTER (WHERE k.figure = 'rework')::int AS reworks FROM k"
        "   WHERE (k.figure = 'closed' AND k.tickets > 0) OR (k.figure = 'rework' AND k.reworks > 0)"
        "   GROUP BY k.department) d LEFT JOIN org_unit o ON o.id = d.department) AS satisfaction,"
        # the scored types' slips per closing department (module docstring)
        " (SELECT coalesce(jsonb_agg(to_jsonb(sc) ORDER BY sc.score DESC, sc.department_name NULLS LAST), '[]')"
        "  FROM (SELECT s.department, o.name AS department_name, s.slips, s.on_time, s.rated,"
        "   round(s.average, 2)::float8 AS average, s.reworks,"
        f"   round(greatest(0, s.on_time::numeric / s.slips * {SCORE_ON_TIME}"
        f"    + coalesce(s.average, 0) / 5 * {SCORE_SATISFACTION} - {SCORE_REWORK} * s.reworks), 1)::float8 AS score"
        "   FROM (SELECT k.department, sum(k.tickets)::int AS slips, sum(k.tickets - k.late)::int AS on_time,"
        "    sum(k.rated)::int AS rated, sum(k.rated_sum)::numeric / nullif(sum(k.rated), 0) AS average,"
        "    sum(k.reworks)::int AS reworks FROM k JOIN ticket_type tt ON tt.id = k.type AND tt.scored"
        "    WHERE k.figure = 'closed' AND k.tickets > 0 GROUP BY k.department) s"
        "   LEFT JOIN org_unit o ON o.id = s.department) sc) AS score")
    satisfaction, score = _parts(row, ("satisfaction", "score"))
    for r in satisfaction:  # a department only charged a rework closed none
        r["closed"] = r["closed"] or 0
        r["reworks"] = r["reworks"] or 0
    return satisfaction, score


# `month=` of the two month figures when the caller has not asked `tallied_month` already (a page showing both
# asks once and passes its answer)
ASK = date.min


async def resolved_month(principal: Principal, *, start: datetime, end: datetime, project: uuid.UUID | None = None,
                         month: date | None = ASK) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The two figures over the tickets resolved in the month: SLA per type and SLA per department that held
    them; from the tallies when they can answer (`tallied_month`), else from one read of the month's tickets."""
    if month == ASK:
        month = await tallied_month(principal, start, end, project)
    if month is not None:
        return await _resolved_tallied(month, project)
    return await resolved_facts(principal, start=start, end=end, project=project)


async def resolved_facts(principal: Principal, *, start: datetime, end: datetime, project: uuid.UUID | None = None
                         ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`resolved_month` from one read of the month's tickets in the reader's scope (each read of a month's
    48,000 tickets costs 40–80 ms at a million tickets)."""
    args: list[Any] = []
    where = await _where(principal, project, args)
    a, b = _period(args, start, end)
    rows = await fetch(
        "WITH m AS MATERIALIZED (SELECT t.type, t.type_code, t.breached, t.responded_at, t.respond_by,"
        "  t.reopen_count, t.report_held, t.report_held_late, t.report_held_used FROM ticket t"
        f"  WHERE t.resolved_at >= {a} AND t.resolved_at < {b} AND {where}),"
        " ty AS (SELECT m.type, m.type_code, count(*)::int AS tickets,"
        "  count(*) FILTER (WHERE NOT m.breached)::int AS on_time,"
        "  count(*) FILTER (WHERE m.breached)::int AS breached,"
        "  count(*) FILTER (WHERE m.responded_at IS NOT NULL AND m.respond_by IS NOT NULL"
        "   AND m.responded_at <= m.respond_by)::int AS responded_on_time,"
        "  coalesce(sum(m.reopen_count), 0)::int AS reopened FROM m GROUP BY m.type, m.type_code),"
        # the departments that held each ticket, from its own facts: the parallel arrays unnested side by side
        # in the select list (a ProjectSet: a Function Scan in FROM is set up again for every ticket, 5 µs
        # each), named after grouping (joined before, the planner probed org_unit once per ticket)
        " x AS (SELECT unnest(m.report_held) AS department, unnest(m.report_held_late) AS late,"
        "  unnest(m.report_held_used) AS used FROM m),"
        " h AS (SELECT department, count(*)::int AS tickets, count(*) FILTER (WHERE NOT late)::int AS on_time,"
        "  count(*) FILTER (WHERE late)::int AS breached, coalesce(sum(used), 0)::bigint AS used"
        "  FROM x GROUP BY department)"
        " SELECT (SELECT coalesce(jsonb_agg(to_jsonb(ty) ORDER BY ty.type_code), '[]') FROM ty) AS by_type,"
        " (SELECT coalesce(jsonb_agg(jsonb_build_object('department', h.department, 'department_name', o.name,"
        "  'tickets', h.tickets, 'on_time', h.on_time, 'breached', h.breached, 'used', h.used)"
        "  ORDER BY o.name NULLS LAST), '[]') FROM h LEFT JOIN org_unit o ON o.id = h.department) AS by_department",
        *args)
    by_type, by_department = _parts(rows[0], ("by_type", "by_department"))
    return by_type, by_department


async def sla_by_department(principal: Principal, *, start: datetime, end: datetime,
                            project: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """Per department that held them: the tickets resolved in the month, on time or late by its own legs."""
    return (await resolved_month(principal, start=start, end=end, project=project))[1]


async def sla_by_type(principal: Principal, *, start: datetime, end: datetime,
                      project: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """Per type: the tickets resolved in the month, within their resolution target or breached."""
    return (await resolved_month(principal, start=start, end=end, project=project))[0]


async def closed_month(principal: Principal, *, start: datetime, end: datetime, project: uuid.UUID | None = None,
                       month: date | None = ASK) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The two figures over the tickets closed in the month: satisfaction and rework per department, and the
    contact-slip score (module docstring); from the tallies when they can answer, else from the tickets."""
    if month == ASK:
        month = await tallied_month(principal, start, end, project)
    if month is not None:
        return await _closed_tallied(month, project)
    return await closed_facts(principal, start=start, end=end, project=project)


async def closed_facts(principal: Principal, *, start: datetime, end: datetime, project: uuid.UUID | None = None
                       ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`closed_month` from one read of the month's closed tickets in the reader's scope."""
    args: list[Any] = []
    where = await _where(principal, project, args)
    a, b = _period(args, start, end)
    rows = await fetch(
        "WITH f AS MATERIALIZED (SELECT t.type, t.department, t.satisfaction, t.report_ratings AS rated,"
        "  t.report_rework AS reworked, t.report_held, t.report_held_late FROM ticket t"
        f"  WHERE t.closed_at >= {a} AND t.closed_at < {b} AND t.resolved_at IS NOT NULL AND {where}),"
        # satisfaction: every rating given on the month's closed tickets and the rework legs charged, by department
        " c AS (SELECT department, count(*)::int AS closed FROM f GROUP BY department),"
        " r AS (SELECT f.department, unnest(f.rated) AS s FROM f),"
        " g AS (SELECT department, count(*)::int AS ratings, round(avg(s), 2)::float8 AS average,"
        "  count(*) FILTER (WHERE s = 1)::int AS s1, count(*) FILTER (WHERE s = 2)::int AS s2,"
        "  count(*) FILTER (WHERE s = 3)::int AS s3, count(*) FILTER (WHERE s = 4)::int AS s4,"
        "  count(*) FILTER (WHERE s = 5)::int AS s5 FROM r GROUP BY department),"
        " w AS (SELECT x.department, count(*)::int AS reworks FROM (SELECT unnest(f.reworked) AS department FROM f)"
        "  AS x GROUP BY x.department),"
        " d AS (SELECT department FROM c UNION SELECT department FROM w),"
        " sat AS (SELECT d.department, o.name AS department_name, coalesce(c.closed, 0) AS closed,"
        "  coalesce(g.ratings, 0) AS ratings, g.average, coalesce(g.s1, 0) AS s1, coalesce(g.s2, 0) AS s2,"
        "  coalesce(g.s3, 0) AS s3, coalesce(g.s4, 0) AS s4, coalesce(g.s5, 0) AS s5,"
        "  coalesce(w.reworks, 0) AS reworks"
        "  FROM d LEFT JOIN c ON c.department IS NOT DISTINCT FROM d.department"
        "  LEFT JOIN g ON g.department IS NOT DISTINCT FROM d.department"
        "  LEFT JOIN w ON w.department IS NOT DISTINCT FROM d.department"
        "  LEFT JOIN org_unit o ON o.id = d.department),"
        # the scored slips: late when the closing department's entry in `report_held` is (array_position finds
        # a null department too), its reworks the times it is in `report_rework`
        " y AS (SELECT f.department, f.satisfaction,"
        "  coalesce(f.report_held_late[array_position(f.report_held, f.department)], false) AS late,"
        "  cardinality(array_positions(f.reworked, f.department)) AS reworks"
        "  FROM f JOIN ticket_type tt ON tt.id = f.type WHERE tt.scored),"
        " s AS (SELECT department, count(*)::int AS slips, count(*) FILTER (WHERE NOT late)::int AS on_time,"
        "  count(satisfaction)::int AS rated, avg(satisfaction) AS average, sum(reworks)::int AS reworks"
        "  FROM y GROUP BY department),"
        " score AS (SELECT s.department, o.name AS department_name, s.slips, s.on_time, s.rated,"
        "  round(s.average, 2)::float8 AS average, s.reworks,"
        f"  round(greatest(0, s.on_time::numeric / s.slips * {SCORE_ON_TIME}"
        f"   + coalesce(s.average, 0) / 5 * {SCORE_SATISFACTION} - {SCORE_REWORK} * s.reworks), 1)::float8 AS score"
        "  FROM s LEFT JOIN org_unit o ON o.id = s.department)"
        " SELECT (SELECT coalesce(jsonb_agg(to_jsonb(sat) ORDER BY sat.department_name NULLS LAST), '[]')"
        "  FROM sat) AS satisfaction,"
        # (`sc`: inside `FROM score`, `score` alone would be the column of that name, not the row)
        " (SELECT coalesce(jsonb_agg(to_jsonb(sc) ORDER BY sc.score DESC, sc.department_name NULLS LAST),"
        "  '[]') FROM score sc) AS score", *args)
    satisfaction, score = _parts(rows[0], ("satisfaction", "score"))
    return satisfaction, score


async def satisfaction_by_department(principal: Principal, *, start: datetime, end: datetime,
                                     project: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """Per department: the tickets closed in the month, every rating given on them (1–5, and their average)
    and the rework legs charged to it."""
    return (await closed_month(principal, start=start, end=end, project=project))[0]


async def contact_slip_score(principal: Principal, *, start: datetime, end: datetime,
                             project: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """Per department: the scored slips closed in the month and the score (module docstring), best first."""
    return (await closed_month(principal, start=start, end=end, project=project))[1]


async def project_choices(principal: Principal, ids: list[uuid.UUID] | None) -> list[dict[str, Any]]:
    """The projects (org units of kind project) among `ids`, or all of the company's when None."""
    if ids is None:
        return await fetch("SELECT id, name FROM org_unit WHERE kind = 'project' ORDER BY name LIMIT 500")
    return await fetch("SELECT id, name FROM org_unit WHERE kind = 'project' AND id = ANY($1::uuid[])"
                       " ORDER BY name LIMIT 500", ids)
