"""Ticket lists: a department's queue, a person's own, everything in reach, what needs attention now.

Scoped in SQL the same way `_access.actors` decides one ticket (departments and projects under the
person's rights, their own tickets; a resident's units), paged by keyset on (created_at, id) and counted
only up to the cap, so a company with a million tickets gets its first page from an index.

The count is what costs at that size (bench/scale.py, docs/scale.md "Tickets"): it reads every row the
filter keeps, up to the cap, so it is skipped when the first page already holds every row, and the scope
leaves out the alternatives that cannot match (a right the person does not have: `= ANY('{}')`), which
the planner would otherwise cost and check on every row."""

from __future__ import annotations

import re
import uuid
from typing import Any

from careclub.core import clock as wallclock
from careclub.core.db import fetch
from careclub.core.paging import CAP, capped, decode_cursor, next_after
from careclub.core.principal import Principal
from careclub.platform.permissions import Perm
from careclub.platform.service import units_in_scope
from careclub.tickets.service._residents import resident_units
from careclub.tickets.service._types import list_types

VIEWS = ("open", "mine", "attention", "closed", "all")


async def _scope(principal: Principal, args: list[Any]) -> str:
    """The WHERE clause limiting tickets to what the person may see (args appended)."""
    arms = await _scope_arms(principal, args)
    return "TRUE" if arms is None else f"({' OR '.join(arms)})"


async def _scope_arms(principal: Principal, args: list[Any]) -> list[str] | None:
    """The alternatives of the person's scope (args appended), the widest first; None when it is the whole
    company. Each is a condition an index answers alone: the counts read them one at a time (`_count`)."""
    types = await list_types()
    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    # An alternative over an empty list (`= ANY('{}')`) matches nothing: it is left out, not checked per row.
    if principal.kind == "member":
        shown = [t["id"] for t in types if "residents" in t["visible_to"]]
        units = await resident_units(principal)
        arms = [f"t.raised_by = {arg(principal.user_id)}"]
        if units and shown:
            arms.insert(0, f"(t.unit = ANY({arg(units)}::uuid[]) AND t.type = ANY({arg(shown)}::uuid[]))")
        return arms
    dispatch = await units_in_scope(principal, Perm.TICKETS_DISPATCH) if principal.can(Perm.TICKETS_DISPATCH) else []
    handle = await units_in_scope(principal, Perm.TICKETS_HANDLE) if principal.can(Perm.TICKETS_HANDLE) else []
    if dispatch is None or handle is None:
        return None
    by_department = [t["id"] for t in types if "department" in t["visible_to"]]
    arms = []
    if dispatch:
        d = f"{arg(dispatch)}::uuid[]"
        arms += [f"t.project_id = ANY({d})", f"t.department = ANY({d})"]
    if handle and by_department:
        h, typ = f"{arg(handle)}::uuid[]", f"{arg(by_department)}::uuid[]"
        arms += [f"(t.type = ANY({typ}) AND t.department = ANY({h}))",
                 f"(t.type = ANY({typ}) AND t.department IS NULL AND t.project_id = ANY({h}))"]
    me = arg(principal.user_id)
    return [*arms, f"t.raised_by = {me}", f"t.assignee = {me}"]


def _scope_implied(principal: Principal, view: str) -> bool:
    """Whether the view holds only tickets the scope lets the person see: a staff member's own (`mine`: raised
    by him or assigned to him) always are. The scope is then left out: its OR over projects and departments
    kept the planner off the two indexes that find a person's own open tickets (52 ms at p95 for a handler
    at a million tickets, docs/scale.md)."""
    return view == "mine" and principal.kind != "member"


def _view_clause(principal: Principal, view: str, args: list[Any]) -> str | None:
    """The view's condition (args appended); None for `all`."""
    if view == "open":
        return "t.closed_at IS NULL"
    if view == "closed":
        return "t.closed_at IS NOT NULL"
    if view == "mine":
        args.append(principal.user_id)
        return f"t.closed_at IS NULL AND (t.assignee = ${len(args)} OR t.raised_by = ${len(args)})"
    if view == "attention":
        args.append(wallclock.now())
        return (f"t.closed_at IS NULL AND (t.breached OR (t.clock_since IS NOT NULL AND t.due_at <= ${len(args)})"
                f" OR (t.responded_at IS NULL AND t.respond_by <= ${len(args)}))")
    return None


# The attention view's condition as three disjoint parts of the open tickets, each read from a partial index of
# its own (breached; the running clocks by due time; the unanswered by response time): counted apart and added,
# they read the few thousand tickets that need attention instead of testing every open one (16 → 4 ms at a
# million tickets, 29,000 open; docs/scale.md).
ATTENTION_PARTS = (
    "t.breached",
    "NOT t.breached AND t.clock_since IS NOT NULL AND t.due_at <= {now}",
    "NOT t.breached AND (t.clock_since IS NOT NULL AND t.due_at <= {now}) IS NOT TRUE"
    " AND t.responded_at IS NULL AND t.respond_by <= {now}",
)


async def _count(arms: list[str] | None, where: list[str], args: list[Any], *, attention: bool = False,
                 split: bool = True) -> tuple[int, bool]:
    """How many tickets of the scope (`arms`: its alternatives, None for all) meet every condition of `where`,
    counted up to the cap; with `attention`, how many of them need attention.

    With `split`, the scope's alternatives are counted apart, each made disjoint from those before it
    (`… AND (earlier alternatives) IS NOT TRUE`), so each count reads the one index its condition names and
    they add up; once the cap is passed the rest is not read. That is for counts over all tickets: one count
    over their OR reads the list's index and tests every ticket on the way (a handler's All tab: 85,000 index
    entries for 10,001 of his, 26–50 ms at a million tickets; docs/scale.md). Over the open tickets (a few
    percent of them, every scope column in `ticket_tenant_open_queue`) the OR is cheaper: a later alternative
    mostly repeats an earlier one (a dispatcher's departments lie in his projects), and its disjoint count
    would read all of it only to leave it out. The attention parts are always counted apart."""
    if not split and arms is not None:
        where, arms = [f"({' OR '.join(arms)})", *where], None
    args = list(args)
    if attention:
        args.append(wallclock.now())
        views = [["t.closed_at IS NULL", p.format(now=f"${len(args)}")] for p in ATTENTION_PARTS]
    else:
        views = [[]]
    scopes = [[]] if arms is None else [
        [arm, *([f"({' OR '.join(arms[:i])}) IS NOT TRUE"] if i else [])] for i, arm in enumerate(arms)]
    total = 0
    for scope in scopes:
        for view in views:
            conditions, bound = _bind(" AND ".join([*scope, *where, *view]) or "TRUE", args)
            counted = await fetch(f"SELECT count(*) AS n FROM (SELECT 1 FROM ticket t WHERE {conditions}"
                                  f" LIMIT {CAP + 1 - total}) x", *bound)
            total += counted[0]["n"]
            if total > CAP:
                return capped(total)
    return capped(total)


def _bind(sql: str, args: list[Any]) -> tuple[str, list[Any]]:
    """The statement with its parameters numbered again from $1 in the order it names them, and their values:
    a part of a count names only some of the list's parameters, and one it does not name is an error."""
    used = sorted({int(n) for n in re.findall(r"\$(\d+)", sql)})
    renumber = {old: i + 1 for i, old in enumerate(used)}
    return re.sub(r"\$(\d+)", lambda m: f"${renumber[int(m.group(1))]}", sql), [args[n - 1] for n in used]


async def list_tickets(principal: Principal, *, view: str = "open", type_code: str | None = None,
                       status: str | None = None, priority: str | None = None,
                       department: uuid.UUID | None = None, unit: uuid.UUID | None = None,
                       number: str | None = None, after: str | None = None, limit: int = 50,
                       counted: tuple[int, bool] | None = None) -> tuple[list[dict[str, Any]], str | None, int, bool]:
    """A page of the tickets the person may see in a view, with the filtered list's count (up to the cap).
    `counted` is the view's count without filters when the caller has it already (`queue_counts`, the queue's
    tabs): the same statement, so it is not run twice; ignored when a filter narrows the list."""
    args: list[Any] = []
    arms = None if _scope_implied(principal, view) else await _scope_arms(principal, args)
    where = [] if arms is None else [f"({' OR '.join(arms)})"]
    filters: list[str] = []
    for column, value in (("type_code", type_code), ("status", status), ("priority", priority),
                          ("department", department), ("unit", unit), ("number", number)):
        if value:
            args.append(value.strip().upper() if column == "number" and isinstance(value, str) else value)
            filters.append(f"t.{column} = ${len(args)}")
    shown = _view_clause(principal, view, args)
    shown_where = [*where, *filters, *([shown] if shown is not None else [])]
    clause = " AND ".join(shown_where) or "TRUE"
    count_args = list(args)
    cursor = decode_cursor(after)
    if cursor is not None:
        args += [cursor[0], cursor[1]]
        clause_page = f"{clause} AND (t.created_at, t.id) < (${len(args) - 1}, ${len(args)})"
    else:
        clause_page = clause
    args.append(limit + 1)
    # the page first, the names joined to its rows after: joined before the limit, a plan that finds the
    # person's tickets by a BitmapOr (a small company) joined every one of them (535 for 51 shown: 30 ms)
    rows = await fetch(
        "SELECT t.*, o.name AS department_name, u.display_name AS assignee_name,"
        " b.code || '-' || pu.code AS unit_label"
        f" FROM (SELECT * FROM ticket t WHERE {clause_page} ORDER BY t.created_at DESC, t.id DESC"
        f"  LIMIT ${len(args)}) t"
        " LEFT JOIN org_unit o ON o.id = t.department LEFT JOIN app_user u ON u.id = t.assignee"
        " LEFT JOIN property_unit pu ON pu.id = t.unit LEFT JOIN property_building b ON b.id = pu.building"
        " ORDER BY t.created_at DESC, t.id DESC", *args)
    page, cursor_next = next_after(rows, limit)
    if cursor is None and cursor_next is None:  # the first page holds every row: they are the count
        total, more = capped(len(page))
    elif counted is not None and not filters:
        total, more = counted
    elif view == "attention":
        total, more = await _count(arms, filters, count_args, attention=True, split=False)
    else:
        total, more = await _count(arms, [*filters, *([shown] if shown is not None else [])], count_args,
                                   split=view in ("all", "closed"))
    return page, cursor_next, total, more


async def queue_counts(principal: Principal) -> dict[str, tuple[int, bool]]:
    """How many open, own and needing-attention tickets the person has (each counted up to the cap, and
    whether there are more): the counts alone, the scope worked out once."""
    scope_args: list[Any] = []
    arms = await _scope_arms(principal, scope_args)
    out: dict[str, tuple[int, bool]] = {}
    for view in ("open", "mine", "attention"):
        implied = _scope_implied(principal, view)
        args = [] if implied else list(scope_args)
        if view == "attention":
            out[view] = await _count(None if implied else arms, [], args, attention=True, split=False)
            continue
        shown = _view_clause(principal, view, args)
        assert shown is not None  # only `all` has no condition
        out[view] = await _count(None if implied else arms, [shown], args, split=False)
    return out


async def resident_counts(principal: Principal) -> dict[str, int]:
    """A member's tickets as his own list shows them (those he raised, those of the units he lives in): how
    many are open and how many there are, each up to the cap; for his home page's tile."""
    args: list[Any] = []
    scope = await _scope(principal, args)
    rows = await fetch("SELECT count(*) FILTER (WHERE x.closed_at IS NULL)::int AS open, count(*)::int AS total"
                       f" FROM (SELECT t.closed_at FROM ticket t WHERE {scope} LIMIT {CAP}) x", *args)
    return {"open": rows[0]["open"], "total": rows[0]["total"]}
