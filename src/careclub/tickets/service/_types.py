"""Ticket types and the company's service calendar.

A company that signs up gets the nine built-in types the first time its tickets are touched, each with
its default workflow, checklist and SLA targets, so a new company can take a complaint on its first day;
its admin then changes what the company does differently (on the type's page or in the tenant file)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date
from typing import Any

from careclub.core.db import fetch
from careclub.core.errors import AppError, FieldErrors, NotFound, ValidationFailed
from careclub.platform import audit
from careclub.platform.service import company_zone
from careclub.platform.tables import OrgUnit
from careclub.tickets import rules
from careclub.tickets.calendar import WorkCalendar, parse_hours
from careclub.tickets.tables import CalendarDay, ServiceCalendar, TicketType

TYPE_FIELDS = (TicketType.id, TicketType.code, TicketType.name, TicketType.prefix, TicketType.stages,
               TicketType.transitions, TicketType.required_fields, TicketType.checklist, TicketType.sla,
               TicketType.default_department, TicketType.requires_signoff, TicketType.requires_visit,
               TicketType.visible_to, TicketType.residents_may_raise, TicketType.escalate_role, TicketType.scored,
               TicketType.active)

_JSON = ("stages", "transitions", "required_fields", "checklist", "sla", "visible_to")


def _loads(row: dict[str, Any]) -> dict[str, Any]:
    for key in _JSON:
        if isinstance(row.get(key), str):
            row[key] = json.loads(row[key])
    return row


def builtin_spec(code: str) -> dict[str, Any]:
    stages, transitions = rules.flow_to_json(rules.default_flow(code))
    resident_facing = code in ("complaint", "repair")
    return {"code": code, "name": "", "prefix": rules.TYPE_PREFIXES[code], "stages": stages,
            "transitions": transitions, "required_fields": ["unit"] if code in ("repair", "move_in", "move_out",
                                                                                  "renovation_permit") else [],
            "checklist": rules.CHECKLISTS.get(code, []), "sla": rules.DEFAULT_SLA,
            "requires_signoff": code in ("repair", "service_order", "move_out"),
            "requires_visit": code in ("complaint", "repair", "contact_slip", "service_order"),
            "residents_may_raise": resident_facing,
            "visible_to": ["department", "assignee"] + (["residents"] if code != "inspection" else [])}


async def ensure_builtin_types() -> None:
    """The built-in types a company does not have yet; concurrent first requests insert each once."""
    have = {r["code"] for r in await TicketType.select(TicketType.code)}
    for code in rules.BUILTIN_TYPES:
        if code in have:
            continue
        spec = builtin_spec(code)
        await fetch(
            "INSERT INTO ticket_type (id, tenant_id, code, name, prefix, stages, transitions, required_fields,"
            " checklist, sla, requires_signoff, requires_visit, visible_to, residents_may_raise, escalate_role,"
            " scored, active, created_at) VALUES ($1, current_setting('app.tenant_id')::uuid, $2, '', $3, $4, $5,"
            " $6, $7, $8, $9, $10, $11, $12, '', $13, true, now()) ON CONFLICT (tenant_id, code) DO NOTHING",
            uuid.uuid4(), code, spec["prefix"], json.dumps(spec["stages"]), json.dumps(spec["transitions"]),
            json.dumps(spec["required_fields"]), json.dumps(spec["checklist"]), json.dumps(spec["sla"]),
            spec["requires_signoff"], spec["requires_visit"], json.dumps(spec["visible_to"]),
            spec["residents_may_raise"], code == "contact_slip")


async def list_types(*, active_only: bool = False) -> list[dict[str, Any]]:
    await ensure_builtin_types()
    query = TicketType.select(*TYPE_FIELDS).order_by(TicketType.code)
    if active_only:
        query = query.where(TicketType.active.eq(True))
    return [_loads(r) for r in await query]


async def type_by_code(code: str) -> dict[str, Any]:
    await ensure_builtin_types()
    row = await TicketType.select(*TYPE_FIELDS).where(TicketType.code == code).first()
    if row is None:
        raise NotFound("there is no ticket type %(value)s", code="ticket_type_not_found", field="type",
                       params={"value": code})
    return _loads(row)


async def get_type(type_id: uuid.UUID) -> dict[str, Any]:
    row = await TicketType.select(*TYPE_FIELDS).where(TicketType.id == type_id).first()
    if row is None:
        raise NotFound("there is no such ticket type", code="ticket_type_not_found")
    return _loads(row)


def flow_of(ticket_type: dict[str, Any]) -> rules.Flow:
    return rules.flow_from_json(ticket_type["stages"], ticket_type["transitions"])


async def save_type(code: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change a type's configuration; every problem is reported at once, naming its field. A workflow change
    keeps tickets already in a stage the new workflow drops readable, but they move only by the new steps."""
    current = await type_by_code(code)
    merged = {**current, **changes}
    errors: list[AppError] = []
    errors += rules.check_flow(flow_of(merged))
    errors += rules.check_sla(merged["sla"])
    errors += rules.check_checklist(merged["checklist"])
    for i, name in enumerate(merged["required_fields"]):
        if name not in rules.REQUIRABLE_FIELDS:
            errors.append(ValidationFailed("a required field is one of %(choices)s", field=f"required_fields[{i}]",
                                           params={"choices": ", ".join(rules.REQUIRABLE_FIELDS)}))
    for i, who in enumerate(merged["visible_to"]):
        if who not in rules.VISIBILITY:
            errors.append(ValidationFailed("who may see a ticket is one of %(choices)s", field=f"visible_to[{i}]",
                                           params={"choices": ", ".join(rules.VISIBILITY)}))
    codes = {t.get("department") for t in merged["transitions"]} - {"", None}
    if codes:
        known = {r["code"] for r in await OrgUnit.select(OrgUnit.code).where(OrgUnit.code.is_in(list(codes)))}
        for i, t in enumerate(merged["transitions"]):
            if t.get("department") and t["department"] not in known:
                errors.append(ValidationFailed("there is no org unit %(value)s", field=f"transitions[{i}].department",
                                               params={"value": t["department"]}))
    if merged["default_department"] is not None and not await OrgUnit.exists().where(
            OrgUnit.id == merged["default_department"]):
        errors.append(NotFound("no such org unit", code="org_unit_not_found", field="default_department"))
    if not str(merged["prefix"]).isalnum() or not 1 <= len(merged["prefix"]) <= 8:
        errors.append(ValidationFailed("a number prefix is 1 to 8 letters or digits", field="prefix"))
    if len(str(merged["name"])) > 120:
        errors.append(ValidationFailed("at most %(value)s characters", field="name", params={"value": 120}))
    if errors:
        raise FieldErrors(errors)
    values = {getattr(TicketType, k): (json.dumps(v) if k in _JSON else v) for k, v in merged.items()
              if k not in ("id", "code")}
    await TicketType.update(values).where(TicketType.id == current["id"])
    await audit.record("ticket_type.update", "ticket_type", current["id"],
                       before={k: current[k] for k in changes if k in current},
                       after={k: merged[k] for k in changes if k in merged})
    return await type_by_code(code)


# ---- the service calendar ----------------------------------------------------------------------

async def calendar_settings() -> dict[str, Any]:
    row = await ServiceCalendar.select().first()
    if row is None:
        return {"hours_start": "08:30", "hours_end": "17:30", "days": "official", "quiet_start": "21:00",
                "quiet_end": "08:00", "warn_minutes": 60}
    return row


async def calendar_overrides() -> list[dict[str, Any]]:
    return await CalendarDay.select(CalendarDay.day, CalendarDay.working, CalendarDay.note).order_by(CalendarDay.day)


async def work_calendar() -> WorkCalendar:
    """The calendar the company's SLA clocks count working time in: its hours, its day rule, its overrides."""
    s = await calendar_settings()
    start, end = parse_hours(f"{s['hours_start']}-{s['hours_end']}")
    overrides = {r["day"]: r["working"] for r in await calendar_overrides()}
    return WorkCalendar(zone=await company_zone(), start=start, end=end, days=s["days"], overrides=overrides)


_TIME = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$")


def _hhmm(text: str) -> str:
    hours, minutes = text.strip().split(":")
    return f"{int(hours):02d}:{minutes}"


def _hours_problem(field: str, text: str) -> AppError | None:
    if not _TIME.match((text or "").strip()):
        return ValidationFailed("a time of day is written like 08:30", field=field)
    return None


async def save_calendar(*, hours_start: str, hours_end: str, days: str, quiet_start: str, quiet_end: str,
                        warn_minutes: int) -> dict[str, Any]:
    errors = [e for e in (_hours_problem("hours_start", hours_start), _hours_problem("hours_end", hours_end),
                          _hours_problem("quiet_start", quiet_start), _hours_problem("quiet_end", quiet_end)) if e]
    if not errors:
        try:
            parse_hours(f"{hours_start}-{hours_end}")
        except ValueError:
            errors.append(ValidationFailed("the service hours must end after they start", field="hours_end"))
    from careclub.tickets.calendar import DAY_RULES

    if days not in DAY_RULES:
        errors.append(ValidationFailed("the working days are one of %(choices)s", field="days",
                                       params={"choices": ", ".join(DAY_RULES)}))
    if not 0 <= warn_minutes <= 10_080:
        errors.append(ValidationFailed("a warning comes 0 to 10080 minutes before the deadline", field="warn_minutes"))
    if errors:
        raise FieldErrors(errors)
    values = {"hours_start": _hhmm(hours_start), "hours_end": _hhmm(hours_end), "days": days,
              "quiet_start": _hhmm(quiet_start), "quiet_end": _hhmm(quiet_end), "warn_minutes": warn_minutes}
    await fetch(
        "INSERT INTO service_calendar (id, tenant_id, hours_start, hours_end, days, quiet_start, quiet_end,"
        " warn_minutes, created_at) VALUES ($1, current_setting('app.tenant_id')::uuid, $2, $3, $4, $5, $6, $7, now())"
        " ON CONFLICT (tenant_id) DO UPDATE SET hours_start = EXCLUDED.hours_start, hours_end = EXCLUDED.hours_end,"
        " days = EXCLUDED.days, quiet_start = EXCLUDED.quiet_start, quiet_end = EXCLUDED.quiet_end,"
        " warn_minutes = EXCLUDED.warn_minutes",
        uuid.uuid4(), *values.values())
    await audit.record("service_calendar.update", "service_calendar", "", after=values)
    return await calendar_settings()


async def set_calendar_day(day: date, working: bool | None, note: str = "") -> None:
    """A working day or a day off that beats the official calendar; `None` removes the exception."""
    if working is None:
        await CalendarDay.delete().where(CalendarDay.day == day)
    else:
        await fetch(
            "INSERT INTO service_calendar_day (id, tenant_id, day, working, note, created_at)"
            " VALUES ($1, current_setting('app.tenant_id')::uuid, $2, $3, $4, now())"
            " ON CONFLICT (tenant_id, day) DO UPDATE SET working = EXCLUDED.working, note = EXCLUDED.note",
            uuid.uuid4(), day, working, note[:120])
    await audit.record("service_calendar.day", "service_calendar_day", "",
                       after={"day": day.isoformat(), "working": working, "note": note})
