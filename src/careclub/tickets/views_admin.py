"""The admin's ticket settings pages: the company's ticket types (`/tickets/types`), one type's page with
everything the tenant file and the API can set (`/tickets/types/{code}`), and the service calendar the SLA
clocks count working time in (`/tickets/calendar`).

Rule: every setting a tenant file or `PUT /api/v1/ticket-types/{code}` can make, the admin can make here,
with the same validation: the page reads the form into the very changes the API takes and saves them
through `service.save_type`, and every problem it names (`stages[2].code`, `transitions[4].to`,
`sla.normal.resolve`, `checklist[1].label`) is shown at once beside its row. Lists of rows (stages, steps,
checklist items) are edited without script: each row has a "remove" box and a few blank rows wait at the
end for new ones ("more rows" adds some). The calendar page saves through `service.save_calendar` and
`service.set_calendar_day`, and shows the next two weeks as the SLA clock will count them.

Who: `tenant.manage` (anyone else gets 403 from the guard; an unknown type code 404). Only fixed codes go
through gettext; names and notes the company typed are shown as typed."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from typing import Annotated, Any

import chinese_calendar
from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from careclub.core import clock
from careclub.core.db import fetch
from careclub.core.error_messages import error_text
from careclub.core.errors import AppError, NotFound, ValidationFailed, each_error
from careclub.core.i18n import N_, labeller, ngettext
from careclub.core.i18n import gettext as _
from careclub.platform.permissions import Perm
from careclub.platform.service import company_zone
from careclub.platform.views_admin._common import Form, me, role_label
from careclub.tickets import rules, service
from careclub.tickets.api import check_label, stage_name, type_name
from careclub.tickets.calendar import DAY_RULES, official_year_known, parse_hours
from careclub.tickets.views import department_choices, refused_status, tickets_page

Filter = Annotated[str | None, QueryParameter(max_length=40)]

FLAGS = ("active", "residents_may_raise", "requires_signoff", "requires_visit", "scored")
FLAG_NAMES = {"active": N_("In use: staff can register tickets of this type"),
              "residents_may_raise": N_("Residents may raise it themselves (portal)"),
              "requires_signoff": N_("Requires the resident's sign-off"),
              "requires_visit": N_("Requires a return visit before closing"),
              "scored": N_("Counts toward the departments' contact-slip score")}
PHASE_NAMES = {"new": N_("New (response clock)"), "work": N_("Work (clock runs)"), "wait": N_("Waiting (clock paused)"),
               "done": N_("Done (clock stopped)"), "closed": N_("Closed"), "cancelled": N_("Cancelled")}
ACTOR_NAMES = {"dispatch": N_("Dispatchers"), "handle": N_("Handling staff"),
               "resident": N_("Residents (their own tickets)")}
NEED_NAMES = {"holder": N_("Someone to hand it to"), "signoff": N_("A sign-off"), "rating": N_("A rating"),
              "checklist": N_("The checklist done"), "note": N_("A note")}
VISIBILITY_NAMES = {"department": N_("Staff of the department holding it"),
                    "assignee": N_("The person it is assigned to"), "residents": N_("The unit's residents")}
REQUIRABLE_NAMES = {"unit": N_("Property unit"), "person": N_("Customer"), "contact_name": N_("Contact name"),
                    "contact_phone": N_("Contact phone"), "description": N_("Description")}
KIND_NAMES = {"check": N_("Tick box"), "amount": N_("Amount"), "text": N_("Text")}
CLOCK_NAMES = {"working": N_("Working time"), "calendar": N_("Calendar time (round the clock)")}
DAY_RULE_NAMES = {"official": N_("The official calendar"), "all_but_holidays": N_("Every day but public holidays"),
                  "every_day": N_("Every day")}
DAY_RULE_HINTS = {
    "official": N_("Monday to Friday, less the State Council's public holidays, plus the weekend days it makes "
                   "working days (调休). What most offices keep."),
    "all_but_holidays": N_("Every day of the week, weekends too, but not the days of a public holiday. For a "
                           "service desk that also works on weekends."),
    "every_day": N_("Every day of the year, holidays included. For a round-the-clock service."),
}
# chinese_calendar names its holidays in English: these are shown through gettext.
HOLIDAY_LABELS = [N_("New Year's Day"), N_("Spring Festival"), N_("Tomb-sweeping Day"), N_("Labour Day"),
                  N_("Dragon Boat Festival"), N_("National Day"), N_("Mid-autumn Festival"),
                  N_("Anti-Fascist 70th Day")]
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
DONE = {"saved": N_("The ticket type is saved."), "restored": N_("The built-in workflow is restored."),
        "calendar": N_("The service calendar is saved."), "day_added": N_("The exception day is saved."),
        "day_removed": N_("The exception day is removed.")}

phase_label = labeller(PHASE_NAMES)
actor_label = labeller(ACTOR_NAMES)
need_label = labeller(NEED_NAMES)
flag_label = labeller(FLAG_NAMES)
visibility_label = labeller(VISIBILITY_NAMES)
requirable_label = labeller(REQUIRABLE_NAMES)
kind_label = labeller(KIND_NAMES)
clock_label = labeller(CLOCK_NAMES)
day_rule_label = labeller(DAY_RULE_NAMES)
day_rule_hint = labeller(DAY_RULE_HINTS)
done_label = labeller(DONE)

# Rows of the editable lists: how many blank rows wait at the end, and at most how many rows (the API's caps).
LISTS = {"st": ("stages", 3, 40), "tr": ("transitions", 5, 200), "ck": ("checklist", 2, 60)}
PREFIX_OF = {name: prefix for prefix, (name, _more, _cap) in LISTS.items()}
INDEXED = re.compile(r"^(stages|transitions|checklist|required_fields|visible_to)\[(\d+)\](?:\.(\w+))?$")


def labels() -> dict[str, Any]:
    return {"phase_label": phase_label, "actor_label": actor_label, "need_label": need_label,
            "flag_label": flag_label, "visibility_label": visibility_label, "requirable_label": requirable_label,
            "kind_label": kind_label, "clock_label": clock_label, "day_rule_label": day_rule_label,
            "day_rule_hint": day_rule_hint, "type_name": type_name,
            "stage_name": stage_name, "check_label": check_label}


def page(request: Request[Any, Any, Any], template: str, status_code: int = 200, **ctx: Any) -> Template:
    return tickets_page(request, template, status_code=status_code, **labels(), **ctx)


# ---- durations as people read them -------------------------------------------------------------

def _hours_minutes(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": rest}
    if hours:
        return _("%(hours)s h") % {"hours": hours}
    return _("%(minutes)s min") % {"minutes": rest}


def day_hours(day_minutes: int) -> str:
    """A working day's length in hours: 540 -> "9", 510 -> "8.5"."""
    return f"{day_minutes / 60:g}"


def duration_words(minutes: int, clock_kind: str, day_minutes: int) -> str:
    """1080 working minutes with 9-hour days -> "2 working days of 9 h"; 240 calendar minutes -> "4 h"."""
    if minutes <= 0:
        return ""
    length = day_minutes if clock_kind == "working" else 1440
    days, rest = divmod(minutes, length)
    parts = []
    if days and clock_kind == "working":
        parts.append(ngettext("%(num)s working day of %(hours)s h", "%(num)s working days of %(hours)s h", days)
                     % {"num": days, "hours": day_hours(day_minutes)})
    elif days:
        parts.append(ngettext("%(num)s day", "%(num)s days", days) % {"num": days})
    if rest or not days:
        parts.append(_hours_minutes(rest))
    return " + ".join(parts)


def minutes_text(minutes: int, clock_kind: str, day_minutes: int) -> str:
    """"1080 min = 2 working days of 9 h"."""
    return _("%(minutes)s min = %(words)s") % {"minutes": minutes,
                                               "words": duration_words(minutes, clock_kind, day_minutes)}


async def working_day_minutes() -> int:
    settings = await service.calendar_settings()
    try:
        start, end = parse_hours(f"{settings['hours_start']}-{settings['hours_end']}")
    except ValueError:
        return 540
    return (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)


def effective_sla(ticket_type: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p: {**rules.DEFAULT_SLA[p], **(ticket_type["sla"].get(p) or {})} for p in rules.PRIORITIES}


# ---- the types ---------------------------------------------------------------------------------

@get("/tickets/types", opt={"permission": Perm.TENANT_MANAGE}, include_in_schema=False)
async def type_list(request: Request[Any, Any, Any]) -> Template:
    day = await working_day_minutes()
    rows = []
    for t in await service.list_types():
        sla = effective_sla(t)
        rows.append({**t, "display_name": type_name(t), "sla_lines": [
            {"priority": p, "respond": duration_words(sla[p]["respond"], sla[p].get("clock", "working"), day),
             "resolve": duration_words(sla[p]["resolve"], sla[p].get("clock", "working"), day),
             "clock": sla[p].get("clock", "working")} for p in rules.PRIORITIES]})
    return page(request, "tickets/admin/types.html", rows=rows)


async def _role_options() -> list[tuple[str, str]]:
    rows = await fetch("SELECT code, name FROM role ORDER BY name")
    return [(r["code"], role_label(r["code"], r["name"])) for r in rows]


async def _unit_codes() -> list[dict[str, Any]]:
    return await fetch("SELECT id, code, name FROM org_unit ORDER BY path LIMIT 500")


def type_form(t: dict[str, Any]) -> tuple[dict[str, str], dict[str, int]]:
    """The type as the form shows it, and how many rows each list gets (its items and the blank ones)."""
    f: dict[str, str] = {"name": t["name"], "prefix": t["prefix"], "escalate_role": t["escalate_role"] or "",
                         "default_department": str(t["default_department"] or "")}
    f.update({flag: "1" for flag in FLAGS if t[flag]})
    f.update({f"vis_{v}": "1" for v in t["visible_to"]})
    f.update({f"req_{r}": "1" for r in t["required_fields"]})
    for p, target in effective_sla(t).items():
        f.update({f"sla_{p}_respond": str(target["respond"]), f"sla_{p}_resolve": str(target["resolve"]),
                  f"sla_{p}_clock": target.get("clock", "working")})
    for i, s in enumerate(t["stages"]):
        f.update({f"st_{i}_code": s["code"], f"st_{i}_phase": s["phase"], f"st_{i}_name": s.get("name", "")})
    for i, tr in enumerate(t["transitions"]):
        f.update({f"tr_{i}_from": tr["from"], f"tr_{i}_to": tr["to"], f"tr_{i}_department": tr.get("department", "")})
        f.update({f"tr_{i}_by_{a}": "1" for a in tr.get("by", ())})
        f.update({f"tr_{i}_needs_{n}": "1" for n in tr.get("needs", ())})
    for i, item in enumerate(t["checklist"]):
        f.update({f"ck_{i}_code": item["code"], f"ck_{i}_label": item.get("label", ""),
                  f"ck_{i}_kind": item.get("kind", "check")})
        if item.get("required"):
            f[f"ck_{i}_required"] = "1"
    counts = {prefix: min(len(t[name]) + more, cap) for prefix, (name, more, cap) in LISTS.items()}
    return f, counts


def _typed_count(data: dict[str, str], prefix: str, more: bool) -> int:
    _name, extra, cap = LISTS[prefix]
    text = (data.get(f"{prefix}_rows") or "").strip()
    count = int(text) if text.isdigit() and len(text) < 4 else 0
    return max(0, min(count + (extra if more else 0), cap))


def _minutes(text: str) -> int | None:
    """Whole minutes typed; None (which the service refuses with its own words, and which then takes no part
    in comparing the response with the resolution) when it is not a number."""
    text = text.strip().replace(",", "")
    return int(text) if text.isdigit() and len(text) < 10 else None


# The API's bounds (schemas.StageSpec, CheckSpec) that save_type itself does not check.
STAGE_NAME_MAX, LABEL_MAX = 60, 120


def _at_most(limit: int) -> str:
    return error_text(ValidationFailed("at most %(value)s characters", params={"value": limit}))


def read_type_form(data: dict[str, str], counts: dict[str, int], *, roles: set[str], units: dict[str, str],
                   codes: set[str]) -> tuple[dict[str, Any], dict[str, dict[int, int]], dict[str, str]]:
    """The form as the changes `service.save_type` takes (the API's shape), which form row each list item
    came from, and the problems only the page can see (a choice not on its list)."""
    errors: dict[str, str] = {}
    changes: dict[str, Any] = {"name": data.get("name", "").strip(), "prefix": data.get("prefix", "").strip()}
    changes.update({flag: bool(data.get(flag)) for flag in FLAGS})
    changes["visible_to"] = [v for v in rules.VISIBILITY if data.get(f"vis_{v}")]
    changes["required_fields"] = [r for r in rules.REQUIRABLE_FIELDS if data.get(f"req_{r}")]
    role = data.get("escalate_role", "").strip()
    if role and role not in roles:
        errors["escalate_role"] = _("Choose a role from the list.")
    changes["escalate_role"] = role
    department = data.get("default_department", "").strip()
    if department:
        if department in units:
            changes["default_department"] = uuid.UUID(department)
        else:
            errors["default_department"] = _("Choose a department from the list.")
    changes["sla"] = {p: {"respond": _minutes(data.get(f"sla_{p}_respond", "")),
                          "resolve": _minutes(data.get(f"sla_{p}_resolve", "")),
                          "clock": data.get(f"sla_{p}_clock", "working")} for p in rules.PRIORITIES}
    rows: dict[str, dict[int, int]] = {prefix: {} for prefix in LISTS}
    stages: list[dict[str, Any]] = []
    for i in range(counts["st"]):
        code, phase, name = (data.get(f"st_{i}_{k}", "").strip() for k in ("code", "phase", "name"))
        if data.get(f"st_{i}_remove") or not (code or phase or name):
            continue
        if len(name) > STAGE_NAME_MAX:
            errors[f"st_{i}_name"] = _at_most(STAGE_NAME_MAX)
        rows["st"][len(stages)] = i
        stages.append({"code": code, "phase": phase, **({"name": name} if name else {})})
    transitions: list[dict[str, Any]] = []
    for i in range(counts["tr"]):
        source, target, dept = (data.get(f"tr_{i}_{k}", "").strip() for k in ("from", "to", "department"))
        by = [a for a in rules.ACTORS if data.get(f"tr_{i}_by_{a}")]
        needs = [n for n in rules.NEEDS if data.get(f"tr_{i}_needs_{n}")]
        if data.get(f"tr_{i}_remove") or not (source or target or dept or by or needs):
            continue
        if dept and dept not in codes:
            errors[f"tr_{i}_department"] = _("There is no org unit with this code.")
        rows["tr"][len(transitions)] = i
        transitions.append({"from": source, "to": target, "by": by, "needs": needs,
                            **({"department": dept} if dept else {})})
    checklist: list[dict[str, Any]] = []
    for i in range(counts["ck"]):
        code, label, kind = (data.get(f"ck_{i}_{k}", "").strip() for k in ("code", "label", "kind"))
        if data.get(f"ck_{i}_remove") or not (code or label):
            continue
        if len(label) > LABEL_MAX:
            errors[f"ck_{i}_label"] = _at_most(LABEL_MAX)
        rows["ck"][len(checklist)] = i
        checklist.append({"code": code, **({"label": label} if label else {}), "kind": kind or "check",
                          "required": bool(data.get(f"ck_{i}_required"))})
    changes.update({"stages": stages, "transitions": transitions, "checklist": checklist})
    return changes, rows, errors


def type_errors(exc: AppError, rows: dict[str, dict[int, int]]) -> dict[str, str]:
    """The service's errors under the form's names: `stages[2].code` -> `st_<row>_code` (the row on the
    page the third stage sent came from), `sla.normal.resolve` -> `sla_normal_resolve`."""
    out: dict[str, str] = {}
    for error in each_error(exc):
        field = error.field or ""
        m = INDEXED.match(field)
        if m and m.group(1) in PREFIX_OF:
            prefix = PREFIX_OF[m.group(1)]
            row = rows[prefix].get(int(m.group(2)), int(m.group(2)))
            key = f"{prefix}_{row}_{m.group(3)}" if m.group(3) else f"{prefix}_{row}"
        elif m:
            key = m.group(1)
        elif field.startswith("sla."):
            key = "sla_" + "_".join(field.split(".")[1:3])
        elif field in ("name", "prefix", "stages", "transitions", "checklist", "escalate_role",
                       "default_department"):
            key = field
        else:
            key = "form"
        text = error_text(error)
        out[key] = f"{out[key]} {text}" if key in out and text not in out[key] else text
    return out


async def _type_page(request: Request[Any, Any, Any], ticket_type: dict[str, Any], *, form: dict[str, str],
                     counts: dict[str, int], errors: dict[str, str] | None = None, status_code: int = 200,
                     done: str | None = None) -> Template:
    principal = me(request)
    day = await working_day_minutes()
    units = await _unit_codes()
    stage_codes = list(dict.fromkeys([s["code"] for s in ticket_type["stages"]]
                                     + [form[k] for k in sorted(form) if re.fullmatch(r"st_\d+_code", k) and form[k]]))
    sla_words = {}
    for p in rules.PRIORITIES:
        kind = form.get(f"sla_{p}_clock", "working")
        # under an hour the minutes say it all; from an hour on they read as hours and working days too
        typed = {k: _minutes(form.get(f"sla_{p}_{k}", "")) or 0 for k in ("respond", "resolve")}
        sla_words[p] = {k: minutes_text(m, kind, day) if m >= 60 else "" for k, m in typed.items()}
    departments = await department_choices(principal)
    return page(request, "tickets/admin/type_edit.html", status_code=status_code, t=ticket_type, form=form,
                counts=counts, errors=errors or {}, notice=done_label(done) if done in DONE else None,
                roles=await _role_options(), departments=departments, units=units, stage_codes=stage_codes,
                sla_words=sla_words, day_hours=day_hours(day), flags=FLAGS,
                phase_options=[(p, phase_label(p)) for p in rules.PHASES],
                kind_options=[(k, kind_label(k)) for k in rules.CHECK_KINDS], actors=rules.ACTORS,
                needs=rules.NEEDS, visibility=rules.VISIBILITY, requirable=rules.REQUIRABLE_FIELDS,
                priorities=rules.PRIORITIES,
                builtin=ticket_type["code"] in rules.BUILTIN_TYPES,
                builtin_labels={i["code"]: check_label(i) for i in ticket_type["checklist"]}
                | {c: _(label) for c, label in rules.CHECK_LABELS.items()},
                builtin_stage_names={c: _(n) for c, n in rules.STAGE_NAMES.items()},
                builtin_type_name=_(rules.TYPE_NAMES[ticket_type["code"]])
                if ticket_type["code"] in rules.TYPE_NAMES else "")


@get("/tickets/types/{code:str}", opt={"permission": Perm.TENANT_MANAGE}, include_in_schema=False)
async def type_edit(request: Request[Any, Any, Any], code: FromPath[str], done: Filter = None) -> Template:
    ticket_type = await service.type_by_code(code)
    form, counts = type_form(ticket_type)
    return await _type_page(request, ticket_type, form=form, counts=counts, done=done)


@post("/tickets/types/{code:str}", opt={"permission": Perm.TENANT_MANAGE}, include_in_schema=False)
async def type_save(request: Request[Any, Any, Any], code: FromPath[str], data: Form) -> Response[Any]:
    """Save every setting at once (`op=save`), or draw the form again with more blank rows (`op=more`)."""
    ticket_type = await service.type_by_code(code)
    more = data.get("op") == "more"
    counts = {prefix: _typed_count(data, prefix, more) for prefix in LISTS}
    form = {k: v for k, v in data.items() if k != "_csrf_token"}
    if more:
        return await _type_page(request, ticket_type, form=form, counts=counts)
    units = await _unit_codes()
    changes, rows, errors = read_type_form(
        data, counts, roles={c for c, _n in await _role_options()}, units={str(u["id"]): u["code"] for u in units},
        codes={u["code"] for u in units})
    if "default_department" not in changes and not errors.get("default_department"):
        changes["default_department"] = None  # "none": tickets start at the desk of whoever registers them
    try:
        await service.save_type(code, changes)
    except AppError as exc:
        errors = {**type_errors(exc, rows), **errors}
        return await _type_page(request, ticket_type, form=form, counts=counts, errors=errors,
                                status_code=refused_status(exc))
    if errors:  # the service took what it could read; what the page could not read is still refused
        return await _type_page(request, ticket_type, form=form, counts=counts, errors=errors, status_code=422)
    return Redirect(f"/tickets/types/{code}?done=saved", status_code=303)


@post("/tickets/types/{code:str}/restore", opt={"permission": Perm.TENANT_MANAGE}, include_in_schema=False)
async def type_restore(request: Request[Any, Any, Any], code: FromPath[str]) -> Response[Any]:
    """The built-in stages and steps again (the type's other settings stay as they are)."""
    await service.type_by_code(code)
    if code not in rules.BUILTIN_TYPES:
        raise NotFound("there is no ticket type %(value)s", code="ticket_type_not_found", params={"value": code})
    spec = service.builtin_spec(code)
    await service.save_type(code, {"stages": spec["stages"], "transitions": spec["transitions"]})
    return Redirect(f"/tickets/types/{code}?done=restored", status_code=303)


# ---- the service calendar ----------------------------------------------------------------------

CALENDAR_FIELDS = ("hours_start", "hours_end", "days", "quiet_start", "quiet_end", "warn_minutes")
DAY_FIELDS = ("day", "working", "note")


def day_reason(day: date, rule: str, overrides: dict[date, dict[str, Any]]) -> str:
    """Why a day is a working day or a day off under the company's calendar."""
    if day in overrides:
        note = overrides[day]["note"]
        text = _("Your exception: working day") if overrides[day]["working"] else _("Your exception: day off")
        return f"{text} · {note}" if note else text
    weekend = day.weekday() >= 5
    if rule == "every_day":
        return _("Every day is a working day")
    if not official_year_known(day.year):
        base = _("Weekend") if weekend else _("Weekday")
        return _("%(what)s (no official calendar for %(year)s yet)") % {"what": base, "year": day.year}
    on_holiday, name = chinese_calendar.get_holiday_detail(day)
    holiday = _(name) if name else ""
    if on_holiday and name:
        text = _("Public holiday: %(name)s") % {"name": holiday}
        if chinese_calendar.is_in_lieu(day):
            text += " · " + _("a day off in exchange for a make-up workday")
        return text
    if name:
        return _("Make-up workday (调休) for %(name)s") % {"name": holiday}
    if weekend:
        return _("Weekend") if rule == "official" else _("Weekend: a working day under your rule")
    return _("Weekday")


async def _calendar_page(request: Request[Any, Any, Any], *, form: dict[str, str] | None = None,
                         day_form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                         status_code: int = 200, done: str | None = None) -> Template:
    settings = await service.calendar_settings()
    overrides = await service.calendar_overrides()
    cal = await service.work_calendar()
    zone = await company_zone()
    now = clock.local(clock.now(), zone)
    assert now is not None
    today = now.date()
    by_day = {o["day"]: o for o in overrides}
    preview = [{"day": d, "weekday": _(WEEKDAYS[d.weekday()]), "working": cal.is_working_day(d),
                "reason": day_reason(d, settings["days"], by_day), "today": d == today}
               for d in (today + timedelta(days=i) for i in range(14))]
    missing = [y for y in (today.year, today.year + 1) if not official_year_known(y)]
    day_minutes = await working_day_minutes()
    current = {k: str(settings[k]) for k in CALENDAR_FIELDS}
    return page(request, "tickets/admin/calendar.html", status_code=status_code, form=form or current,
                day_form=day_form or {"working": "off"}, errors=errors or {}, overrides=overrides,
                preview=preview, missing_years=missing if settings["days"] != "every_day" else [],
                settings=settings, day_hours=day_hours(day_minutes), rules_=DAY_RULES, today=today,
                weekday_of=lambda d: _(WEEKDAYS[d.weekday()]),
                notice=done_label(done) if done in DONE else None)


@get("/tickets/calendar", opt={"permission": Perm.TENANT_MANAGE}, include_in_schema=False)
async def calendar_page(request: Request[Any, Any, Any], done: Filter = None) -> Template:
    return await _calendar_page(request, done=done)


@post("/tickets/calendar", opt={"permission": Perm.TENANT_MANAGE}, include_in_schema=False)
async def calendar_save(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    form = {k: (data.get(k) or "").strip() for k in CALENDAR_FIELDS}
    text = form["warn_minutes"].replace(",", "")
    warn = int(text) if text.isdigit() and len(text) < 7 else -1  # refused by the service in its own words
    try:
        await service.save_calendar(hours_start=form["hours_start"], hours_end=form["hours_end"], days=form["days"],
                                    quiet_start=form["quiet_start"], quiet_end=form["quiet_end"], warn_minutes=warn)
    except AppError as exc:
        errors: dict[str, str] = {}
        for error in each_error(exc):
            key = error.field if error.field in CALENDAR_FIELDS else "form"
            errors[key] = f"{errors[key]} {error_text(error)}" if key in errors else error_text(error)
        return await _calendar_page(request, form=form, errors=errors, status_code=refused_status(exc))
    return Redirect("/tickets/calendar?done=calendar", status_code=303)


@post("/tickets/calendar/days", opt={"permission": Perm.TENANT_MANAGE}, include_in_schema=False)
async def calendar_day_add(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    """A working day or a day off that beats the day rule (saving a day again replaces its exception)."""
    day_form = {k: (data.get(k) or "").strip() for k in DAY_FIELDS}
    errors: dict[str, str] = {}
    day: date | None = None
    try:
        day = date.fromisoformat(day_form["day"])
    except ValueError:
        errors["day"] = _("Use the form YYYY-MM-DD.")
    if day_form["working"] not in ("working", "off"):
        errors["working"] = _("Choose a working day or a day off.")
    if len(day_form["note"]) > 120:
        errors["note"] = _at_most(120)
    if errors or day is None:
        return await _calendar_page(request, day_form=day_form, errors=errors, status_code=422)
    await service.set_calendar_day(day, day_form["working"] == "working", day_form["note"])
    return Redirect("/tickets/calendar?done=day_added#exceptions", status_code=303)


@post("/tickets/calendar/days/remove", opt={"permission": Perm.TENANT_MANAGE}, include_in_schema=False)
async def calendar_day_remove(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    try:
        day = date.fromisoformat((data.get("day") or "").strip())
    except ValueError:
        raise NotFound("nothing here: no such page or record", code="not_found") from None
    await service.set_calendar_day(day, None)
    return Redirect("/tickets/calendar?done=day_removed#exceptions", status_code=303)


ROUTES: list[Any] = [type_list, type_edit, type_save, type_restore, calendar_page, calendar_save, calendar_day_add,
                     calendar_day_remove]
