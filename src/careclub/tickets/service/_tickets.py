"""Registering tickets and moving them along their type's workflow.

Every change to a ticket locks its row first and checks what the writer saw (`expected_status`, or the
version for edits that do not move it): of two dispatchers, or two clerks closing one ticket, the first
wins and the second gets 409 `stale_state` with the ticket as it now is, so no change is lost silently."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from careclub.approvals.service import notify
from careclub.core import clock as wallclock
from careclub.core.db import fetch
from careclub.core.errors import AppError, Conflict, FieldErrors, Forbidden, NotFound, ValidationFailed
from careclub.core.i18n import N_
from careclub.core.principal import Principal, current_actor
from careclub.platform import audit
from careclub.platform.permissions import Perm
from careclub.platform.tables import OrgUnit, User
from careclub.tickets import rules
from careclub.tickets.service import _clock
from careclub.tickets.service._access import actors, paths, role_holders
from careclub.tickets.service._guards import after_move, check_guards
from careclub.tickets.service._residents import person_of, resident_units
from careclub.tickets.service._types import flow_of, get_type, type_by_code, work_calendar
from careclub.tickets.tables import Person, PropertyUnit, Ticket, TicketEvent, TicketLeg

ESCALATED = N_("A serious ticket needs you now: {number} {title}")
ASSIGNED = N_("A ticket was handed to you: {number} {title}")
REOPENED = N_("A ticket came back for rework: {number} {title}")


class StaleState(Conflict):
    """The ticket moved since the writer read it; `ticket_id` lets the API answer with it as it is now."""

    code = "stale_state"

    def __init__(self, message: str, *, ticket_id: uuid.UUID, params: dict[str, Any]) -> None:
        super().__init__(message, params=params, field="expected_status")
        self.ticket_id = ticket_id


class TransitionNotAllowed(AppError):
    status_code = 422
    code = "transition_not_allowed"


def _decoded(rows: list[dict[str, Any]]) -> dict[str, Any]:
    if not rows:
        raise NotFound("no such ticket", code="ticket_not_found")
    row = rows[0]
    for key in ("fields", "checklist"):
        if isinstance(row[key], str):
            row[key] = json.loads(row[key])
    return row


async def _lock(ticket_id: uuid.UUID) -> dict[str, Any]:
    # FOR UPDATE: racing writers queue here and each sees the ticket as the one before left it
    return _decoded(await fetch("SELECT * FROM ticket WHERE id = $1 FOR UPDATE", ticket_id))


async def load(ticket_id: uuid.UUID) -> dict[str, Any]:
    return _decoded(await fetch("SELECT * FROM ticket WHERE id = $1", ticket_id))


async def readable(principal: Principal, ticket_id: uuid.UUID, *, lock: bool = False, just_moved: bool = False
                   ) -> tuple[dict[str, Any], dict[str, Any], set[str]]:
    """The ticket, its type and the caller's parts in it; 404 for anyone who may not see it. `just_moved`: the
    caller has just handed it on (a guard passing the permit back to the desk) and gets it once more, as the
    answer to his step, even where it now lies outside his sight."""
    ticket = await (_lock(ticket_id) if lock else load(ticket_id))
    ticket_type = await get_type(ticket["type"])
    found = await actors(principal, ticket, ticket_type)
    if "see" not in found and not just_moved:
        raise NotFound("no such ticket", code="ticket_not_found")
    return ticket, ticket_type, found


async def _open_leg(ticket_id: uuid.UUID) -> dict[str, Any] | None:
    rows = await fetch("SELECT * FROM ticket_leg WHERE ticket = $1 AND ended_at IS NULL", ticket_id)
    return rows[0] if rows else None


async def _event(ticket_id: uuid.UUID, kind: str, *, note: str = "", source: str = "", target: str = "",
                 data: dict[str, Any] | None = None) -> None:
    actor = current_actor()
    await TicketEvent(ticket=ticket_id, kind=kind, from_status=source, to_status=target, by_user=actor.id,
                      by_name=actor.name[:200], note=note, data=json.dumps(data or {}, default=str)).save()


async def _events(kind: str, ticket_ids: list[uuid.UUID], datas: list[dict[str, Any]]) -> None:
    """One event of `kind` for each ticket, by the actor in context, in one statement (the SLA job's batch)."""
    actor = current_actor()
    await fetch("INSERT INTO ticket_event (id, tenant_id, created_at, ticket, kind, from_status, to_status, by_user,"
                " by_name, note, data) SELECT gen_random_uuid(), current_setting('app.tenant_id')::uuid, now(), t, $1,"
                " '', '', $2, $3, '', d::jsonb FROM unnest($4::uuid[], $5::text[]) AS x(t, d)",
                kind, actor.id, actor.name[:200], ticket_ids, [json.dumps(d, default=str) for d in datas])


async def _next_number(ticket_type: dict[str, Any], year: int) -> str:
    rows = await fetch(
        "INSERT INTO ticket_counter (id, tenant_id, type, year, last, created_at)"
        " VALUES ($1, current_setting('app.tenant_id')::uuid, $2, $3, 1, now())"
        " ON CONFLICT (tenant_id, type, year) DO UPDATE SET last = ticket_counter.last + 1 RETURNING last",
        uuid.uuid4(), ticket_type["id"], year)
    return f"{ticket_type['prefix']}-{year}-{rows[0]['last']:05d}"


def _text(problems: list[AppError], field: str, value: str | None, limit: int, *, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        problems.append(ValidationFailed("%(field)s is required", field=field, params={"field": field}))
    if len(value) > limit:
        problems.append(ValidationFailed("at most %(value)s characters", field=field, params={"value": limit}))
    return value[:limit]


async def _unit(unit_id: uuid.UUID | None) -> dict[str, Any] | None:
    if unit_id is None:
        return None
    return await PropertyUnit.select(PropertyUnit.id, PropertyUnit.project_id).where(PropertyUnit.id == unit_id).first()


def _staff_reaches(principal: Principal, project_path: str | None) -> bool:
    """Staff may register a ticket about a unit of a project they work in: their ticket rights cover the
    project, or lie inside it (a department clerk of that project)."""
    if project_path is None:
        return principal.can(Perm.TICKETS_HANDLE)
    for perm in (Perm.TICKETS_HANDLE, Perm.TICKETS_DISPATCH):
        if any(project_path.startswith(p) or p.startswith(project_path) for p in principal.scope(perm)):
            return True
    return False


async def create_ticket(principal: Principal, *, type_code: str, title: str, description: str = "",
                        unit_id: uuid.UUID | None = None, priority: str = "normal", source: str = "",
                        person_id: uuid.UUID | None = None, contact_name: str = "", contact_phone: str = "",
                        department_id: uuid.UUID | None = None, fields: dict[str, Any] | None = None,
                        route_to: uuid.UUID | None = None, route_subcontractor: str = "",
                        through_domain: bool = False) -> dict[str, Any]:
    """Register a ticket: numbered, its SLA clocks started, held by its type's default department (or the
    desk of whoever took it), escalated at once when it is urgent and its type names someone to escalate to."""
    ticket_type = await type_by_code(type_code)
    resident = principal.kind == "member"
    problems: list[AppError] = []
    if not ticket_type["active"]:
        problems.append(ValidationFailed("this ticket type is switched off", field="type"))
    title = _text(problems, "title", title, 200, required=True)
    description = _text(problems, "description", description, 4000)
    contact_name = _text(problems, "contact_name", contact_name, 120)
    contact_phone = _text(problems, "contact_phone", contact_phone, 32)
    if priority not in rules.PRIORITIES:
        problems.append(ValidationFailed("a priority is one of %(choices)s", field="priority",
                                         params={"choices": ", ".join(rules.PRIORITIES)}))
    source = source or ("portal" if resident else "phone")
    if source not in rules.SOURCES:
        problems.append(ValidationFailed("a source is one of %(choices)s", field="source",
                                         params={"choices": ", ".join(rules.SOURCES)}))
    unit = await _unit(unit_id)
    if unit_id is not None and unit is None:
        problems.append(NotFound("no such unit", code="unit_not_found", field="unit"))
    project_path = (await paths(unit["project_id"])).get(unit["project_id"]) if unit else None
    if resident:
        # a service order is booked through the catalogue, which checks what residents may book
        if not ticket_type["residents_may_raise"] and not through_domain:
            problems.append(ValidationFailed("residents cannot raise this kind of ticket", field="type"))
        if unit is None or unit["id"] not in await resident_units(principal):
            problems.append(ValidationFailed("choose one of your own units", field="unit"))
        person_id = await person_of(principal)  # a resident raises as himself, never as someone else
    else:
        if unit is not None and not _staff_reaches(principal, project_path):
            problems.append(NotFound("no such unit", code="unit_not_found", field="unit"))
        if person_id is not None and not await Person.exists().where(Person.id == person_id):
            problems.append(NotFound("no such customer", code="customer_not_found", field="person"))
    present = {"unit": unit is not None, "person": person_id is not None, "contact_name": bool(contact_name),
               "contact_phone": bool(contact_phone), "description": bool(description)}
    for name in ticket_type["required_fields"]:
        if not present.get(name, True) and not any(p.field == name for p in problems):
            problems.append(ValidationFailed("%(field)s is required for this kind of ticket", field=name,
                                             params={"field": name}))
    department = department_id if not resident and principal.can(Perm.TICKETS_DISPATCH) else None
    if department is not None and not await OrgUnit.exists().where(OrgUnit.id == department):
        problems.append(NotFound("no such org unit", code="org_unit_not_found", field="department"))
    if problems:
        raise FieldErrors(problems)
    if route_to is not None:  # another domain's own routing (the providing department of a service)
        department = route_to
    if department is None:
        department = ticket_type["default_department"]
    if department is None and not resident:
        home = await User.select(User.org_unit).where(User.id == principal.user_id).first()
        department = home["org_unit"] if home else None
    now = wallclock.now()
    calendar = await work_calendar()
    clock = _clock.clock_for(calendar, ticket_type["sla"], priority)
    respond, resolve = _clock.targets(ticket_type["sla"], priority)
    first = flow_of(ticket_type).first
    number = await _next_number(ticket_type, wallclock.local(now, calendar.zone).year)  # type: ignore[union-attr]
    row = Ticket(type=ticket_type["id"], type_code=ticket_type["code"], number=number, title=title,
                 description=description, status=first.code, priority=priority, source=source,
                 project_id=unit["project_id"] if unit else None, unit=unit["id"] if unit else None,
                 person=person_id, contact_name=contact_name, contact_phone=contact_phone,
                 raised_by=principal.user_id, department=department, subcontractor=route_subcontractor[:120],
                 fields=json.dumps(fields or {}),
                 checklist="{}", respond_by=clock.add(now, respond), due_at=clock.add(now, resolve),
                 sla_minutes=resolve, clock_since=now, updated_at=now)
    await row.save()
    await TicketLeg(ticket=row.id, department=department, subcontractor=route_subcontractor[:120],
                    started_at=now).save()
    await _event(row.id, "registered", note=description[:1000], target=first.code,
                 data={"source": source, "priority": priority})
    await audit.record("ticket.create", "ticket", row.id, after={"number": number, "type": type_code,
                                                                 "priority": priority, "unit": unit_id})
    if priority == "urgent" and ticket_type["escalate_role"]:
        await _escalate(row.id, ticket_type, number, title, project_path)
    return await load(row.id)


async def _escalate(ticket_id: uuid.UUID, ticket_type: dict[str, Any], number: str, title: str,
                    project_path: str | None) -> None:
    people = await role_holders(ticket_type["escalate_role"], project_path)
    await Ticket.update({Ticket.escalated: True}).where(Ticket.id == ticket_id)
    await _event(ticket_id, "escalated", data={"role": ticket_type["escalate_role"], "people": len(people)})
    await notify(people, "ticket_escalated", ESCALATED, params={"number": number, "title": title},
                 link=f"/tickets/{ticket_id}")


def _check_needs(transition: rules.Transition, ticket_type: dict[str, Any], ticket: dict[str, Any], *,
                 note: str, holder: bool, satisfaction: int | None, reason: str, signed_by: str,
                 resident: bool) -> list[AppError]:
    problems: list[AppError] = []
    needs = set(transition.needs)
    if "holder" in needs and not holder and not transition.department:
        problems.append(ValidationFailed("choose a department, a person or a subcontractor to hand it to",
                                         field="department"))
    if "note" in needs and not note:
        problems.append(ValidationFailed("say why in the note", field="note"))
    if "signoff" in needs and not (signed_by or resident):
        problems.append(ValidationFailed("who signed off is required", field="signed_by"))
    if "rating" in needs:
        if satisfaction is None or not 1 <= satisfaction <= 5:
            problems.append(ValidationFailed("a satisfaction from 1 to 5 is required", field="satisfaction"))
        if reason not in rules.VISIT_REASONS:
            problems.append(ValidationFailed("a reason is one of %(choices)s", field="reason",
                                             params={"choices": ", ".join(rules.VISIT_REASONS)}))
    if "checklist" in needs:
        for code in rules.checklist_missing(ticket_type["checklist"], ticket["checklist"] or {}):
            problems.append(ValidationFailed("this checklist item must be done first", code="checklist_incomplete",
                                             field=f"checklist.{code}"))
    return problems


async def _department_by_code(code: str) -> uuid.UUID | None:
    row = await OrgUnit.select(OrgUnit.id).where(OrgUnit.code == code).first()
    return row["id"] if row else None


async def transition(principal: Principal, ticket_id: uuid.UUID, *, to: str, note: str = "",
                     expected_status: str | None = None, department_id: uuid.UUID | None = None,
                     assignee_id: uuid.UUID | None = None, subcontractor: str = "", satisfaction: int | None = None,
                     reason: str = "", signed_by: str = "") -> dict[str, Any]:
    ticket, ticket_type, parts = await readable(principal, ticket_id, lock=True)
    if expected_status is not None and expected_status != ticket["status"]:
        raise StaleState("the ticket is %(status)s now: reload it and try again", ticket_id=ticket_id,
                         params={"status": ticket["status"]})
    flow = flow_of(ticket_type)
    note = (note or "").strip()[:4000]
    subcontractor = (subcontractor or "").strip()[:120]
    signed_by = (signed_by or "").strip()[:120]
    options = rules.allowed(flow, ticket["status"], parts, requires_signoff=ticket_type["requires_signoff"],
                            requires_visit=ticket_type["requires_visit"])
    step = next((t for t in options if t.target == to), None)
    if step is None:
        raise TransitionNotAllowed("a ticket that is %(status)s cannot move to %(value)s", field="to",
                                   params={"status": ticket["status"], "value": to})
    resident = "resident" in parts and not parts & {"handle", "dispatch"}
    holder = department_id is not None or assignee_id is not None or bool(subcontractor)
    problems = _check_needs(step, ticket_type, ticket, note=note, holder=holder, satisfaction=satisfaction,
                            reason=reason, signed_by=signed_by, resident=resident)
    if department_id is not None and not await OrgUnit.exists().where(OrgUnit.id == department_id):
        problems.append(NotFound("no such org unit", code="org_unit_not_found", field="department"))
    if assignee_id is not None and not await User.exists().where(User.id == assignee_id, User.kind == "staff",
                                                                 User.is_active.eq(True)):
        problems.append(NotFound("no such staff member", code="user_not_found", field="assignee"))
    source_stage, target_stage = flow.stage(step.source), flow.stage(step.target)
    if source_stage is not None and target_stage is not None:
        problems.extend(await check_guards(ticket, source_stage, target_stage))
    if problems:
        raise FieldErrors(problems)
    if step.department and department_id is None:
        department_id = await _department_by_code(step.department)
    moved = await _apply(principal, ticket, ticket_type, flow, step, parts, note=note, department_id=department_id,
                         assignee_id=assignee_id, subcontractor=subcontractor, satisfaction=satisfaction,
                         reason=reason, signed_by=signed_by or (principal.display_name if resident else ""))
    await after_move(moved)
    return moved


async def _apply(principal: Principal, ticket: dict[str, Any], ticket_type: dict[str, Any], flow: rules.Flow,
                 step: rules.Transition, parts: set[str], *, note: str, department_id: uuid.UUID | None,
                 assignee_id: uuid.UUID | None, subcontractor: str, satisfaction: int | None, reason: str,
                 signed_by: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    now = wallclock.now()
    source, target = flow.stage(step.source), flow.stage(step.target)
    assert source is not None and target is not None
    clock = _clock.clock_for(await work_calendar(), ticket_type["sla"], ticket["priority"])
    leg = await _open_leg(ticket["id"])
    changes: dict[str, Any] = {"status": target.code, "version": ticket["version"] + 1, "updated_at": now}
    leg_changes: dict[str, Any] = {}
    handover = department_id is not None or assignee_id is not None or bool(subcontractor)
    rework = step.target != step.source and source.phase == "done" and target.phase in _clock.RUNNING
    running_after = target.phase in _clock.RUNNING
    if ticket["clock_since"] is not None and (not running_after or handover or rework):
        banked = _clock.bank(ticket, leg, clock, now)
        changes.update(banked["ticket"])
        leg_changes.update(banked["leg"])
    used = changes.get("sla_used", ticket["sla_used"])
    if running_after and (changes.get("clock_since", ticket["clock_since"]) is None):
        changes.update(_clock.start(ticket, clock, now, used))
    if target.phase == "wait":
        changes["due_at"] = None
    if source.phase == "new" and target.phase != "new" and ticket["responded_at"] is None:
        changes["responded_at"] = now
        if leg is not None:
            leg_changes["accepted_at"] = now
    if step.target == "accepted" and ticket["assignee"] is None and "handle" in parts:
        changes["assignee"] = principal.user_id
        leg_changes["assignee"] = principal.user_id
    if target.phase == "done" and ticket["resolved_at"] is None:
        changes["resolved_at"] = now
    if target.phase in ("closed", "cancelled"):
        changes["closed_at"] = now
        leg_changes["ended_at"] = now
    new_leg: dict[str, Any] | None = None
    if handover or rework:
        leg_changes["ended_at"] = now
        department = department_id or ticket["department"]
        assignee = assignee_id if handover else ticket["assignee"]
        if handover and department_id is not None and assignee_id is None:
            assignee = None  # a new department decides who does it
        changes.update({"department": department, "assignee": assignee,
                        "subcontractor": subcontractor if handover else ticket["subcontractor"]})
        new_leg = {"department": department, "assignee": assignee, "subcontractor": changes["subcontractor"],
                   "rework": rework}
    if rework:
        changes.update({"reopen_count": ticket["reopen_count"] + 1, "resolved_at": None})
    if satisfaction is not None and "rating" in step.needs:
        changes["satisfaction"] = satisfaction
    await Ticket.update({getattr(Ticket, k): v for k, v in changes.items()}).where(Ticket.id == ticket["id"])
    if leg is not None and leg_changes:
        await TicketLeg.update({getattr(TicketLeg, k): v for k, v in leg_changes.items()}).where(
            TicketLeg.id == leg["id"])
    if new_leg is not None:
        await TicketLeg(ticket=ticket["id"], started_at=now, **new_leg).save()
    data: dict[str, Any] = dict(extra or {})
    if handover:
        data.update({"department": department_id, "assignee": assignee_id, "subcontractor": subcontractor})
    if "rating" in step.needs:
        data.update({"satisfaction": satisfaction, "reason": reason})
    if "signoff" in step.needs:
        data["signed_by"] = signed_by
    kind = "dispatched" if handover else ("reopened" if rework else "transition")
    await _event(ticket["id"], kind, note=note, source=step.source, target=step.target, data=data)
    await audit.record("ticket.transition", "ticket", ticket["id"],
                       before={"status": ticket["status"]}, after={"status": step.target, **data})
    if handover and assignee_id is not None and assignee_id != principal.user_id:
        await notify([assignee_id], "ticket_assigned", ASSIGNED,
                     params={"number": ticket["number"], "title": ticket["title"]}, link=f"/tickets/{ticket['id']}")
    if "rating" in step.needs and rules.is_rework(satisfaction) and flow.stage("in_progress") is not None:
        return await _reopen_after_visit(principal, ticket["id"], flow)
    return await load(ticket["id"])


async def _reopen_after_visit(principal: Principal, ticket_id: uuid.UUID, flow: rules.Flow) -> dict[str, Any]:
    """A bad rating sends the work back to the department that did it, as rework charged to it: the same step a
    dispute takes, taken by the core on the department's behalf."""
    ticket = await _lock(ticket_id)
    ticket_type = await get_type(ticket["type"])
    step = rules.Transition(ticket["status"], "in_progress", ("handle",))
    result = await _apply(principal, ticket, ticket_type, flow, step, {"handle"}, note="", department_id=None,
                          assignee_id=None, subcontractor="", satisfaction=None, reason="", signed_by="",
                          extra={"after": "return_visit", "satisfaction": ticket["satisfaction"]})
    people = [p for p in (ticket["assignee"],) if p is not None]
    await notify(people, "ticket_reopened", REOPENED, params={"number": ticket["number"], "title": ticket["title"]},
                 link=f"/tickets/{ticket_id}")
    return result


async def save_checklist(principal: Principal, ticket_id: uuid.UUID, values: dict[str, Any], *,
                         expected_version: int | None = None) -> dict[str, Any]:
    """Answers to the type's checklist items (a tick, an amount in fen, a text), merged into the ticket's."""
    ticket, ticket_type, parts = await readable(principal, ticket_id, lock=True)
    if "handle" not in parts:
        raise Forbidden("only those handling the ticket fill in its checklist", code="forbidden")
    if expected_version is not None and expected_version != ticket["version"]:
        raise StaleState("the ticket is %(status)s now: reload it and try again", ticket_id=ticket_id,
                         params={"status": ticket["status"]})
    items = {i["code"]: i for i in ticket_type["checklist"]}
    problems: list[AppError] = []
    clean: dict[str, Any] = {}
    for code, value in values.items():
        item = items.get(code)
        if item is None:
            problems.append(ValidationFailed("there is no checklist item %(value)s", field=f"checklist.{code}",
                                             params={"value": code}))
            continue
        kind = item.get("kind", "check")
        if kind == "check" and not isinstance(value, bool):
            problems.append(ValidationFailed("tick it or leave it", field=f"checklist.{code}"))
        elif kind == "amount" and value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                                         or value < 0):
            problems.append(ValidationFailed("an amount of zero or more", field=f"checklist.{code}"))
        elif kind == "text" and value is not None and (not isinstance(value, str) or len(value) > 500):
            problems.append(ValidationFailed("at most %(value)s characters", field=f"checklist.{code}",
                                             params={"value": 500}))
        else:
            clean[code] = value.strip() if isinstance(value, str) else value
    if problems:
        raise FieldErrors(problems)
    merged = {**(ticket["checklist"] or {}), **clean}
    await Ticket.update({Ticket.checklist: json.dumps(merged), Ticket.version: ticket["version"] + 1,
                         Ticket.updated_at: wallclock.now()}).where(Ticket.id == ticket_id)
    await _event(ticket_id, "checklist", data=clean)
    return await load(ticket_id)


async def add_work(principal: Principal, ticket_id: uuid.UUID, *, note: str, minutes: int | None = None,
                   materials: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A work record: what was done, how long it took, the materials used and who supplied them."""
    _ticket, _type, parts = await readable(principal, ticket_id)
    if "handle" not in parts:
        raise Forbidden("only those handling the ticket record work on it", code="forbidden")
    problems: list[AppError] = []
    note = _text(problems, "note", note, 4000, required=True)
    if minutes is not None and not 0 <= minutes <= 10_000:
        problems.append(ValidationFailed("minutes from 0 to 10000", field="minutes"))
    clean = []
    for i, m in enumerate(materials or []):
        name = str(m.get("name", "")).strip()[:120]
        if not name:
            problems.append(ValidationFailed("a material needs a name", field=f"materials[{i}].name"))
        supplied = str(m.get("supplied_by", "company"))
        if supplied not in ("company", "resident", "contractor"):
            problems.append(ValidationFailed("supplied by the company, the resident or a contractor",
                                             field=f"materials[{i}].supplied_by"))
        clean.append({"name": name, "quantity": str(m.get("quantity", ""))[:40], "supplied_by": supplied})
    if problems:
        raise FieldErrors(problems)
    await _event(ticket_id, "work", note=note, data={"minutes": minutes, "materials": clean})
    await Ticket.update({Ticket.updated_at: wallclock.now()}).where(Ticket.id == ticket_id)
    return await load(ticket_id)


async def add_comment(principal: Principal, ticket_id: uuid.UUID, note: str) -> None:
    _ticket, _type, parts = await readable(principal, ticket_id)
    problems: list[AppError] = []
    note = _text(problems, "note", note, 4000, required=True)
    if problems:
        raise FieldErrors(problems)
    await _event(ticket_id, "comment", note=note, data={"resident": "resident" in parts})


async def timeline(ticket_id: uuid.UUID) -> list[dict[str, Any]]:
    """The ticket's events, oldest first, each event's `data` as a dict."""
    return await TicketEvent.select().where(TicketEvent.ticket == ticket_id).order_by(
        TicketEvent.created_at).order_by(TicketEvent.id).output(load_json=True)


async def legs(ticket_id: uuid.UUID) -> list[dict[str, Any]]:
    return await fetch(
        "SELECT l.*, o.name AS department_name, u.display_name AS assignee_name FROM ticket_leg l"
        " LEFT JOIN org_unit o ON o.id = l.department LEFT JOIN app_user u ON u.id = l.assignee"
        " WHERE l.ticket = $1 ORDER BY l.started_at, l.id", ticket_id)


async def options(principal: Principal, ticket: dict[str, Any], ticket_type: dict[str, Any],
                  parts: set[str]) -> list[rules.Transition]:
    return rules.allowed(flow_of(ticket_type), ticket["status"], parts,
                         requires_signoff=ticket_type["requires_signoff"],
                         requires_visit=ticket_type["requires_visit"])


async def names(ticket: dict[str, Any]) -> dict[str, str]:
    """Display names of the ticket's department, assignee and unit."""
    out = {"department": "", "assignee": "", "unit": "", "project": ""}
    if ticket["department"] or ticket["project_id"]:
        for r in await OrgUnit.select(OrgUnit.id, OrgUnit.name).where(
                OrgUnit.id.is_in([u for u in (ticket["department"], ticket["project_id"]) if u])):
            if r["id"] == ticket["department"]:
                out["department"] = r["name"]
            if r["id"] == ticket["project_id"]:
                out["project"] = r["name"]
    if ticket["assignee"]:
        row = await User.select(User.display_name).where(User.id == ticket["assignee"]).first()
        out["assignee"] = row["display_name"] if row else ""
    if ticket["unit"]:
        rows = await fetch("SELECT b.code AS building, u.code FROM property_unit u JOIN property_building b"
                           " ON b.id = u.building WHERE u.id = $1", ticket["unit"])
        out["unit"] = f"{rows[0]['building']}-{rows[0]['code']}" if rows else ""
    return out


def overdue(ticket: dict[str, Any], now: datetime | None = None) -> bool:
    now = now or wallclock.now()
    return ticket["breached"] or (ticket["clock_since"] is not None and ticket["due_at"] is not None
                                  and ticket["due_at"] <= now)
