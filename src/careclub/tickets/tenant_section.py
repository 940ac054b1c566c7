"""The `[tickets]` section of tenant files: the service calendar, how each ticket type runs in the company,
and the customer archive the tickets hang on.

    [tickets.calendar]        hours = "08:30-17:30", days = "official" | "all_but_holidays" | "every_day",
                              quiet = "21:00-08:00" (no SLA mail then), warn_minutes = 60
    [[tickets.calendar_days]] day = 2027-01-01, working = false, note = "…" (the company's own exceptions)
    [[tickets.types]]         code (a built-in code), and only what differs from the built-in: name, prefix,
                              active, department (org unit code of the default department), requires_signoff,
                              requires_visit, visible_to, residents_may_raise, escalate_role, scored,
                              required_fields, checklist = [{code, label, kind, required}],
                              sla = {normal = {respond = 60, resolve = 1080, clock = "working"}, …},
                              stages = [{code, phase, name}], transitions = [{from, to, by, needs, department}]
    [[tickets.buildings]]     project (org unit code), code, name
    [[tickets.units]]         project, building, code, floor, area = "89.50" (m²), use, status
    [[tickets.people]]        name, phone, kind, email, emergency_name, emergency_phone, note,
                              account (the e-mail of the person's own sign-in, when they have one),
                              units = [{unit = "A-1201", project = "…", role = "owner", since = 2020-05-01}]

Applying is idempotent: types are matched by code, buildings and units by their codes, people by phone
(else name), occupancies by unit, person and role."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec

from careclub.core.errors import ValidationFailed
from careclub.platform.tables import User
from careclub.platform.tenant_file import ApplyContext, register_section, with_path
from careclub.tickets import service
from careclub.tickets.service import _archive as archive
from careclub.tickets.service._archive_rules import parse_area
from careclub.tickets.tables import Building, Occupancy, Person, PropertyUnit


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class CalendarSpec(Strict):
    hours: str = "08:30-17:30"
    days: Literal["official", "all_but_holidays", "every_day"] = "official"
    quiet: str = "21:00-08:00"
    warn_minutes: Annotated[int, msgspec.Meta(ge=0, le=10_080)] = 60


class CalendarDaySpec(Strict):
    day: date
    working: bool
    note: str = ""


class SlaSpec(Strict):
    respond: int
    resolve: int
    clock: Literal["working", "calendar"] = "working"


class StageSpec(Strict):
    code: str
    phase: str
    name: str = ""


class TransitionSpec(Strict, rename={"source": "from", "target": "to"}):
    source: str
    target: str
    by: list[str]
    needs: list[str] = []
    department: str = ""


class CheckSpec(Strict):
    code: str
    label: str = ""
    kind: Literal["check", "amount", "text"] = "check"
    required: bool = False


class TypeSpec(Strict):
    code: str
    name: str | None = None
    prefix: str | None = None
    active: bool | None = None
    department: str | None = None
    requires_signoff: bool | None = None
    requires_visit: bool | None = None
    visible_to: list[str] | None = None
    residents_may_raise: bool | None = None
    escalate_role: str | None = None
    scored: bool | None = None
    required_fields: list[str] | None = None
    checklist: list[CheckSpec] | None = None
    sla: dict[str, SlaSpec] | None = None
    stages: list[StageSpec] | None = None
    transitions: list[TransitionSpec] | None = None


class BuildingSpec(Strict):
    project: str
    code: str
    name: str = ""


class UnitSpec(Strict):
    project: str
    building: str
    code: str
    floor: int | None = None
    area: str | None = None
    use: Literal["residential", "office", "shop", "parking", "other"] = "residential"
    status: Literal["vacant", "occupied", "renovating"] = "occupied"


class OccupancySpec(Strict):
    unit: str  # building code - unit code, e.g. "A-1201"
    project: str
    role: Literal["owner", "tenant", "occupant", "contact"] = "owner"
    since: date | None = None


class PersonSpec(Strict):
    name: str
    phone: str = ""
    kind: Literal["individual", "company"] = "individual"
    email: str = ""
    emergency_name: str = ""
    emergency_phone: str = ""
    note: str = ""
    account: str = ""
    units: list[OccupancySpec] = []


class TicketsSection(Strict):
    calendar: CalendarSpec | None = None
    calendar_days: list[CalendarDaySpec] = []
    types: list[TypeSpec] = []
    buildings: list[BuildingSpec] = []
    units: list[UnitSpec] = []
    people: list[PersonSpec] = []


def _invalid(path: str, error: ValidationFailed) -> ValidationFailed:
    """A refusal named by where it stands in the file, like `with_path` does for a service's refusals."""
    return ValidationFailed("%(field)s: %(message)s", code="tenant_file_invalid", field=path,
                            params={"field": path, "message": error.message})


def _area(text: str | None, path: str) -> int | None:
    """The archive's own m² parser (the pages and the import read areas the same way), named by its path."""
    try:
        return parse_area(text, field="area")
    except ValidationFailed as exc:
        raise _invalid(path, exc) from None


async def _apply_calendar(section: TicketsSection, ctx: ApplyContext) -> None:
    if section.calendar is not None:
        c = section.calendar
        try:
            hours_start, hours_end = (p.strip() for p in c.hours.replace("–", "-").split("-"))
            quiet_start, quiet_end = (p.strip() for p in c.quiet.replace("–", "-").split("-"))
        except ValueError:
            raise _invalid("tickets.calendar", ValidationFailed("hours are written like 08:30-17:30")) from None
        wanted: dict[str, Any] = {"hours_start": hours_start, "hours_end": hours_end, "days": c.days,
                                  "quiet_start": quiet_start, "quiet_end": quiet_end, "warn_minutes": c.warn_minutes}
        current = await service.calendar_settings()
        if any(str(current.get(k)) != str(v) for k, v in wanted.items()):
            await with_path("tickets.calendar", service.save_calendar(**wanted))
            ctx.changed("service calendar saved")
    have = {r["day"]: (r["working"], r["note"]) for r in await service.calendar_overrides()}
    for d in section.calendar_days:
        if have.get(d.day) != (d.working, d.note):
            await service.set_calendar_day(d.day, d.working, d.note)
            ctx.changed(f"calendar exception {d.day}")


async def _apply_types(section: TicketsSection, ctx: ApplyContext) -> None:
    for i, spec in enumerate(section.types):
        path = f"tickets.types[{i}]"
        current = await with_path(path, service.type_by_code(spec.code))
        changes: dict[str, Any] = {}
        for key in ("name", "prefix", "active", "requires_signoff", "requires_visit", "visible_to",
                    "residents_may_raise", "escalate_role", "scored", "required_fields"):
            value = getattr(spec, key)
            if value is not None:
                changes[key] = value
        if spec.department is not None:
            changes["default_department"] = await ctx.unit_id(spec.department, path=f"{path}.department")
        for key in ("checklist", "stages", "transitions"):
            value = getattr(spec, key)
            if value is not None:
                changes[key] = msgspec.to_builtins(value)
        if spec.sla is not None:
            changes["sla"] = {**current["sla"], **msgspec.to_builtins(spec.sla)}
        if all(current.get(k) == v for k, v in changes.items()):
            continue
        await with_path(path, service.save_type(spec.code, changes))
        ctx.changed(f"ticket type {spec.code} configured")


async def _archive_size() -> tuple[int, ...]:
    return tuple([await t.count() for t in (Building, PropertyUnit, Person, Occupancy)])


async def _apply_archive(section: TicketsSection, ctx: ApplyContext) -> None:
    before = await _archive_size()
    buildings: dict[tuple[str, str], Any] = {}
    for i, b in enumerate(section.buildings):
        path = f"tickets.buildings[{i}]"
        project = await ctx.unit_id(b.project, path=f"{path}.project")
        buildings[(b.project, b.code)] = await with_path(path, archive.ensure_building(project, b.code,
                                                                                    b.name or b.code))
    units: dict[tuple[str, str], Any] = {}
    for i, u in enumerate(section.units):
        path = f"tickets.units[{i}]"
        building = buildings.get((u.project, u.building))
        if building is None:
            raise _invalid(f"{path}.building", ValidationFailed(
                "no building %(code)s of %(project)s is listed", params={"code": u.building, "project": u.project}))
        units[(u.project, f"{u.building}-{u.code}")] = await with_path(path, archive.ensure_unit(
            building, u.code, floor=u.floor, area_cm2=_area(u.area, f"{path}.area"), use=u.use, status=u.status))
    for i, p in enumerate(section.people):
        path = f"tickets.people[{i}]"
        user_id = None
        if p.account:
            user = await User.select(User.id).where(User.email == p.account.strip().lower()).first()
            if user is None and not ctx.demo:
                continue  # a demo resident's sign-in exists in demo mode only
            user_id = user["id"] if user else None
        person = await with_path(path, archive.ensure_person(
            p.name, p.phone, kind=p.kind, email=p.email, emergency_name=p.emergency_name,
            emergency_phone=p.emergency_phone, note=p.note, user_id=user_id))
        for j, o in enumerate(p.units):
            unit = units.get((o.project, o.unit))
            if unit is None:
                raise _invalid(f"{path}.units[{j}].unit", ValidationFailed(
                    "no unit %(code)s of %(project)s is listed", params={"code": o.unit, "project": o.project}))
            await with_path(f"{path}.units[{j}]", archive.ensure_occupancy(unit, person, o.role, o.since))
    after = await _archive_size()
    if after != before:
        ctx.changed("archive: {} building(s), {} unit(s), {} people, {} occupancies added".format(
            *(a - b for a, b in zip(after, before, strict=True))))


async def apply(section: TicketsSection, ctx: ApplyContext) -> None:
    await _apply_calendar(section, ctx)
    await _apply_types(section, ctx)
    await _apply_archive(section, ctx)


register_section("tickets", TicketsSection, apply, order=55)
