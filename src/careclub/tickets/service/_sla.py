"""The SLA watch: warn before a deadline, mark and escalate a breach, and send each person one digest.

Run every few minutes per company (idempotent: a ticket is warned once per deadline and breached once; a
person is told about a ticket once per kind and deadline). A deadline moved by a pause and a resumption is a
new one: the ticket is warned again (`_clock.start` clears `warned`, and the notice is keyed by the deadline, so
the first warning's row does not stand in the way), while a job run twice over the same deadline sends once.
Notices are kept (`SlaNotice`) and sent together, one message per person
listing every ticket, and not during the company's quiet hours: they wait for the morning."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, time, timedelta
from typing import Any

from careclub.approvals.service import notify
from careclub.core import clock as wallclock
from careclub.core import i18n
from careclub.core.db import current_tenant_id, fetch
from careclub.core.i18n import N_
from careclub.platform.permissions import Perm
from careclub.platform.service import get_tenant
from careclub.platform.tables import User
from careclub.tickets.service._access import paths, people_with, role_holders
from careclub.tickets.service._tickets import _event
from careclub.tickets.service._types import calendar_settings, get_type
from careclub.tickets.tables import SlaNotice, Ticket, TicketLeg

DIGEST = N_("{count} ticket(s) need your attention")
KIND_WORDS = {"warning": N_("due soon"), "breach": N_("past its deadline"), "escalation": N_("escalated to you"),
              "response": N_("not yet taken")}


async def _notice(ticket_id: uuid.UUID, kind: str, deadline: datetime | None, people: list[uuid.UUID]) -> int:
    """A notice of `kind` about the ticket's `deadline` for each person, unless he has one for it already."""
    made = 0
    for user_id in dict.fromkeys(people):
        rows = await fetch(
            "INSERT INTO ticket_sla_notice (id, tenant_id, ticket, kind, user_id, deadline, created_at)"
            " VALUES ($1, current_setting('app.tenant_id')::uuid, $2, $3, $4, $5, now())"
            " ON CONFLICT (tenant_id, ticket, kind, user_id, deadline) DO NOTHING RETURNING id",
            uuid.uuid4(), ticket_id, kind, user_id, deadline)
        made += len(rows)
    return made


async def _responsible(ticket: dict[str, Any]) -> list[uuid.UUID]:
    """Whoever holds the ticket: its assignee, else the dispatchers over its department (or project)."""
    if ticket["assignee"] is not None:
        return [ticket["assignee"]]
    where = await paths(ticket["department"], ticket["project_id"])
    return await people_with(Perm.TICKETS_DISPATCH, where.get(ticket["department"]) or where.get(ticket["project_id"]))


async def watch(now: datetime | None = None) -> dict[str, int]:
    now = now or wallclock.now()
    settings = await calendar_settings()
    counts = {"warned": 0, "breached": 0, "unanswered": 0}
    soon = now + timedelta(minutes=int(settings["warn_minutes"]))
    for t in await fetch("SELECT * FROM ticket WHERE clock_since IS NOT NULL AND NOT breached AND NOT warned"
                         " AND due_at <= $1 AND due_at > $2 ORDER BY due_at LIMIT 1000", soon, now):
        await Ticket.update({Ticket.warned: True}).where(Ticket.id == t["id"])
        await _notice(t["id"], "warning", t["due_at"], await _responsible(t))
        counts["warned"] += 1
    for t in await fetch("SELECT * FROM ticket WHERE clock_since IS NOT NULL AND NOT breached AND due_at <= $1"
                         " ORDER BY due_at LIMIT 1000", now):
        ticket_type = await get_type(t["type"])
        await Ticket.update({Ticket.breached: True, Ticket.warned: True}).where(Ticket.id == t["id"])
        # the leg holding the ticket now is the one whose time ran out
        await TicketLeg.update({TicketLeg.breached: True}).where(TicketLeg.ticket == t["id"],
                                                                TicketLeg.ended_at.is_null())
        await _event(t["id"], "sla_breach", data={"due_at": t["due_at"]})
        await _notice(t["id"], "breach", t["due_at"], await _responsible(t))
        where = await paths(t["project_id"], t["department"])
        escalate_to = await role_holders(ticket_type["escalate_role"], where.get(t["project_id"])
                                         or where.get(t["department"]))
        await _notice(t["id"], "escalation", t["due_at"], escalate_to)
        counts["breached"] += 1
    for t in await fetch("SELECT * FROM ticket WHERE responded_at IS NULL AND closed_at IS NULL AND respond_by <= $1"
                         " AND NOT EXISTS (SELECT 1 FROM ticket_sla_notice n WHERE n.ticket = ticket.id"
                         " AND n.kind = 'response') ORDER BY respond_by LIMIT 1000", now):
        await _notice(t["id"], "response", t["respond_by"], await _responsible(t))
        counts["unanswered"] += 1
    counts["sent"] = await send_digests(now, settings)
    # the month reports' tallies: each key's rows folded into one (the trigger only ever adds rows)
    counts["tally_folded"] = (await fetch("SELECT ticket_tally_compact() AS n"))[0]["n"]
    return counts


def _quiet(local: time, start: str, end: str) -> bool:
    a, b = time.fromisoformat(start), time.fromisoformat(end)
    return (a <= local or local < b) if a > b else (a <= local < b)


async def send_digests(now: datetime, settings: dict[str, Any]) -> int:
    """Each person's waiting notices as one message, unless it is the company's quiet time."""
    from careclub.platform.service import company_zone

    local = wallclock.local(now, await company_zone())
    assert local is not None
    if _quiet(local.time(), settings["quiet_start"], settings["quiet_end"]):
        return 0
    waiting = await fetch("SELECT n.id, n.user_id, n.kind, t.number, t.title, t.id AS ticket FROM ticket_sla_notice n"
                          " JOIN ticket t ON t.id = n.ticket WHERE n.sent_at IS NULL ORDER BY n.created_at LIMIT 5000")
    by_person: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for row in waiting:
        by_person[row["user_id"]].append(row)
    people = {r["id"]: r["locale"] for r in await User.select(User.id, User.locale).where(
        User.id.is_in(list(by_person) or [uuid.uuid4()]))}
    company = await get_tenant(current_tenant_id())
    for user_id, rows in by_person.items():
        lang = people.get(user_id) or (company.locale if company else None)
        # the body is written here in the reader's language: the titles in it are people's words, not messages
        lines = "\n".join(f"{r['number']} {r['title']} ({i18n.translate(lang, KIND_WORDS[r['kind']])})"
                           for r in rows)
        await notify([user_id], "ticket_sla", DIGEST, params={"count": str(len(rows))}, body=lines,
                     link="/tickets?view=attention")
        await SlaNotice.update({SlaNotice.sent_at: now}).where(SlaNotice.id.is_in([r["id"] for r in rows]))
    return len(by_person)
