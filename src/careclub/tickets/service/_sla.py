"""The SLA watch: warn before a deadline, mark and escalate a breach, and send each person one digest.

Run every few minutes per company (idempotent: a ticket is warned once per deadline and breached once; a
person is told about a ticket once per kind and deadline). A deadline moved by a pause and a resumption is a
new one: the ticket is warned again (`_clock.start` clears `warned`, and the notice is keyed by the deadline, so
the first warning's row does not stand in the way), while a job run twice over the same deadline sends once.
Notices are kept (`SlaNotice`) and sent together, one message per person
listing every ticket, and not during the company's quiet hours: they wait for the morning.

Set-based, for a company with a million tickets: each pass marks its tickets in one UPDATE that locks them
(`SKIP LOCKED`), so two runs at once share the late tickets instead of both breaching them (before, each run read
the same tickets and wrote an event and notices for each: four racing runs breached a ticket four times), and the
legs, events and notices of the batch are one statement each (a backlog of 1,000 breaches at a million tickets:
8.0 s → 0.85 s, with the legs' facts kept by a statement trigger)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
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
from careclub.tickets.service._tickets import _events
from careclub.tickets.service._types import calendar_settings, get_type
from careclub.tickets.tables import SlaNotice

DIGEST = N_("{count} ticket(s) need your attention")
KIND_WORDS = {"warning": N_("due soon"), "breach": N_("past its deadline"), "escalation": N_("escalated to you"),
              "response": N_("not yet taken")}


BATCH = 1000  # tickets per pass and run: a backlog (after an outage, say) is worked off over the next runs

# What a pass needs of each ticket it takes
_FIELDS = "id, due_at, respond_by, assignee, department, project_id, type"


async def _notices(kind: str, wanted: list[tuple[uuid.UUID, uuid.UUID, datetime | None]]) -> set[uuid.UUID]:
    """The notices (ticket, person, deadline) of `kind`, in one statement, leaving out any a person has already;
    answers the tickets that got one."""
    wanted = sorted(set(wanted), key=lambda w: (w[0], w[1]))  # one order for every run: no deadlock
    if not wanted:
        return set()
    rows = await fetch(
        "INSERT INTO ticket_sla_notice (id, tenant_id, ticket, kind, user_id, deadline, created_at)"
        " SELECT gen_random_uuid(), current_setting('app.tenant_id')::uuid, t, $1, u, d, now()"
        " FROM unnest($2::uuid[], $3::uuid[], $4::timestamptz[]) AS x(t, u, d)"
        " ON CONFLICT (tenant_id, ticket, kind, user_id, deadline) DO NOTHING RETURNING ticket",
        kind, [w[0] for w in wanted], [w[1] for w in wanted], [w[2] for w in wanted])
    return {r["ticket"] for r in rows}


class _People:
    """Who is told about a batch of tickets, asked once per unit and role however many tickets sit there."""

    def __init__(self) -> None:
        self._paths: dict[uuid.UUID, str] = {}
        self._types: dict[uuid.UUID, dict[str, Any]] = {}
        self._dispatchers: dict[str | None, list[uuid.UUID]] = {}
        self._role_holders: dict[tuple[str, str | None], list[uuid.UUID]] = {}

    async def learn(self, tickets: list[dict[str, Any]]) -> None:
        units = {u for t in tickets for u in (t["department"], t["project_id"]) if u is not None}
        self._paths.update(await paths(*(units - set(self._paths))))
        for type_id in {t["type"] for t in tickets} - set(self._types):
            self._types[type_id] = await get_type(type_id)

    async def responsible(self, t: dict[str, Any]) -> list[uuid.UUID]:
        """Whoever holds the ticket: its assignee, else the dispatchers over its department (or project)."""
        if t["assignee"] is not None:
            return [t["assignee"]]
        path = self._paths.get(t["department"]) or self._paths.get(t["project_id"])
        if path not in self._dispatchers:
            self._dispatchers[path] = await people_with(Perm.TICKETS_DISPATCH, path)
        return self._dispatchers[path]

    async def escalation(self, t: dict[str, Any]) -> list[uuid.UUID]:
        """The holders of the type's escalation role over the ticket's project (or department)."""
        role = self._types[t["type"]]["escalate_role"]
        key = (role, self._paths.get(t["project_id"]) or self._paths.get(t["department"]))
        if key not in self._role_holders:
            self._role_holders[key] = await role_holders(*key)
        return self._role_holders[key]


async def _tell(kind: str, tickets: list[dict[str, Any]],
                who: Callable[[dict[str, Any]], Awaitable[list[uuid.UUID]]], deadline: str) -> set[uuid.UUID]:
    wanted = [(t["id"], person, t[deadline]) for t in tickets for person in await who(t)]
    return await _notices(kind, wanted)


# The open tickets whose clock runs and is not yet breached: exactly the predicate of their index
# (`ticket_tenant_due_running`), so each pass is a range of it by due time.
RUNNING = "closed_at IS NULL AND clock_since IS NOT NULL AND NOT breached"


async def watch(now: datetime | None = None) -> dict[str, int]:
    """One run for the company in context. Each pass takes up to `BATCH` tickets and works them set-based:
    the flags are set by one UPDATE that only takes a ticket still in need (a person's transition, or a second
    run, meanwhile holding or changing it leaves it out: it is looked at again next time), then the legs, the
    events and the notices one statement each."""
    now = now or wallclock.now()
    settings = await calendar_settings()
    soon = now + timedelta(minutes=int(settings["warn_minutes"]))
    people = _People()
    warned = await fetch(
        f"UPDATE ticket SET warned = true WHERE id IN (SELECT id FROM ticket WHERE {RUNNING}"
        " AND NOT warned AND due_at <= $1 AND due_at > $2"
        f" ORDER BY due_at LIMIT $3 FOR NO KEY UPDATE SKIP LOCKED) RETURNING {_FIELDS}", soon, now, BATCH)
    await people.learn(warned)
    await _tell("warning", warned, people.responsible, "due_at")

    breached = await fetch(
        "UPDATE ticket SET breached = true, warned = true WHERE id IN (SELECT id FROM ticket"
        f" WHERE {RUNNING} AND due_at <= $1 ORDER BY due_at LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED)"
        f" RETURNING {_FIELDS}", now, BATCH)
    if breached:
        ids = [t["id"] for t in breached]
        # the leg holding the ticket now is the one whose time ran out
        await fetch("UPDATE ticket_leg SET breached = true WHERE ticket = ANY($1::uuid[]) AND ended_at IS NULL", ids)
        await _events("sla_breach", ids, [{"due_at": t["due_at"]} for t in breached])
        await people.learn(breached)
        await _tell("breach", breached, people.responsible, "due_at")
        await _tell("escalation", breached, people.escalation, "due_at")

    # A ticket nobody has taken is told about once per person (the notice is the mark: no flag on the ticket);
    # locked like the others, so two runs never insert the same notices in different orders
    unanswered = await fetch(
        f"SELECT {_FIELDS} FROM ticket WHERE responded_at IS NULL AND closed_at IS NULL AND respond_by <= $1"
        " AND NOT EXISTS (SELECT 1 FROM ticket_sla_notice n WHERE n.ticket = ticket.id AND n.kind = 'response')"
        " ORDER BY respond_by LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED", now, BATCH)
    await people.learn(unanswered)
    told = await _tell("response", unanswered, people.responsible, "respond_by")
    counts = {"warned": len(warned), "breached": len(breached), "unanswered": len(told)}
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
    # locked: two runs at once would otherwise both send what was waiting since the night
    waiting = await fetch("SELECT n.id, n.user_id, n.kind, t.number, t.title, t.id AS ticket FROM ticket_sla_notice n"
                          " JOIN ticket t ON t.id = n.ticket WHERE n.sent_at IS NULL ORDER BY n.created_at LIMIT 5000"
                          " FOR UPDATE OF n SKIP LOCKED")
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
