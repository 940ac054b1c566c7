"""The SLA clock of a ticket and of its legs.

The resolution clock runs while the ticket is in a `new` or `work` stage and stops otherwise; the minutes
it ran are banked (`ticket.sla_used`, and the open leg's `used`) each time it stops or the ticket changes
hands, counted in the company's working time (or calendar time, for priorities whose target says so). While
it runs, `due_at` is the moment the minutes left run out; the SLA job reads that column through an index.
The leg that banks the minute crossing the target is the one charged with the breach."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from careclub.tickets import rules
from careclub.tickets.calendar import ALWAYS, Clock, WorkCalendar

RUNNING = ("new", "work")


def clock_for(calendar: WorkCalendar, sla: dict[str, Any], priority: str) -> Clock:
    target = sla.get(priority) or rules.DEFAULT_SLA[priority]
    return ALWAYS if target.get("clock", "working") == "calendar" else calendar


def targets(sla: dict[str, Any], priority: str) -> tuple[int, int]:
    target = sla.get(priority) or rules.DEFAULT_SLA[priority]
    return int(target["respond"]), int(target["resolve"])


def bank(ticket: dict[str, Any], leg: dict[str, Any] | None, clock: Clock, now: datetime) -> dict[str, Any]:
    """Stop the running clock at `now`: the minutes since it started go to the ticket and its open leg. Returns
    the changes to write (the ticket's under `ticket`, the leg's under `leg`)."""
    changes: dict[str, Any] = {"ticket": {}, "leg": {}}
    if ticket["clock_since"] is None:
        return changes
    spent = clock.between(ticket["clock_since"], now)
    before = ticket["sla_used"]
    changes["ticket"] = {"sla_used": before + spent, "clock_since": None}
    if leg is not None:
        changes["leg"] = {"used": leg["used"] + spent}
        if before < ticket["sla_minutes"] <= before + spent and not ticket["breached"]:
            changes["leg"]["breached"] = True
            changes["ticket"]["breached"] = True
    elif before < ticket["sla_minutes"] <= before + spent:
        changes["ticket"]["breached"] = True
    return changes


def start(ticket: dict[str, Any], clock: Clock, now: datetime, used: int) -> dict[str, Any]:
    """Start the clock at `now` with `used` minutes already spent: when the minutes left run out."""
    left = max(0, ticket["sla_minutes"] - used)
    # a new deadline earns a new warning
    return {"clock_since": now, "due_at": clock.add(now, left), "warned": False}
