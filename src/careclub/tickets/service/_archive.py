"""Writing the customer archive: buildings of a project, their units, people, the ties between people and
units (owner, tenant, occupant, contact, from a date until a date) and a unit's records (a move-in, a
renovation file, a payment or deposit, a violation, arrears, a note; money in fen).

Every write checks all its fields first and refuses them together, each naming its field. Writes with a
principal need `archive.manage` over the project (a unit's, a building's); without one they act as the system
(the tenant file). The `ensure_*` helpers are for the tenant file and the import: each answers the row's id,
creates it when it is missing, brings what was given up to date, and changes nothing when run again. Codes
are unique per project (buildings) and per building (units), by unique indexes: of two racing writers one
gets the row, the other 409."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import date
from typing import Any

from careclub.core.db import current_tenant_id, fetch
from careclub.core.errors import AppError, Conflict, NotFound, Problems, ValidationFailed
from careclub.core.principal import Principal
from careclub.platform import audit
from careclub.platform.service import company_today
from careclub.platform.tables import User
from careclub.tickets.service._archive_read import (
    get_building,
    get_occupancy,
    get_person,
    get_project,
    get_record,
    get_unit,
)
from careclub.tickets.service._archive_rules import (
    AMOUNT_MAX,
    MONEY_KINDS,
    NOTE_MAX,
    PERSON_KINDS,
    RECORD_KINDS,
    ROLE_WORDS,
    ROLES,
    STATUS_WORDS,
    UNIT_STATUSES,
    USE_WORDS,
    USES,
    check_area,
    check_choice,
    check_code,
    check_email,
    check_floor,
    check_phone,
    check_text,
    parse_area,
)
from careclub.tickets.tables import ArchiveRecord, Occupancy, Person


async def found(problems: Problems, lookup: Awaitable[dict[str, Any]]) -> dict[str, Any] | None:
    """`Problems.check` for a lookup: its refusal naming a field is kept with the others."""
    try:
        return await lookup
    except AppError as exc:
        if exc.field is None:
            raise
        problems.add(exc)
        return None


async def _check_user(problems: Problems, user_id: uuid.UUID | None) -> None:
    if user_id is not None and not await User.exists().where(User.id == user_id):
        problems.add(NotFound("no such person", code="user_not_found", field="user_id"))


async def _changed(table: str, row_id: uuid.UUID, before: dict[str, Any], after: dict[str, Any], action: str) -> bool:
    """Write the fields of `after` that differ from `before`; audited. Answers whether anything changed."""
    changes = {k: v for k, v in after.items() if before.get(k) != v}
    if not changes:
        return False
    sets = ", ".join(f'"{k}" = ${i + 2}' for i, k in enumerate(changes))
    await fetch(f"UPDATE {table} SET {sets} WHERE id = $1", row_id, *changes.values())
    await audit.record(action, table, row_id, before={k: before.get(k) for k in changes}, after=changes)
    return True


# ---- buildings ----------------------------------------------------------------------------------------

def _building_values(problems: Problems, code: str | None, name: str | None) -> dict[str, Any]:
    return {"code": problems.check(check_code, code),
            "name": problems.check(check_text, name, "name", 120, required=True)}


async def _insert_building(project_id: uuid.UUID, code: str, name: str) -> uuid.UUID | None:
    rows = await fetch("INSERT INTO property_building (id, tenant_id, created_at, project_id, code, name)"
                       " VALUES (gen_random_uuid(), $1, now(), $2, $3, $4)"
                       " ON CONFLICT (tenant_id, project_id, code) DO NOTHING RETURNING id",
                       current_tenant_id(), project_id, code, name)
    if rows:
        await audit.record("archive.building.create", "property_building", rows[0]["id"],
                           after={"project_id": project_id, "code": code, "name": name})
    return rows[0]["id"] if rows else None


def _building_taken(code: str) -> Conflict:
    return Conflict("the project has a building with the code %(code)s already", code="building_code_taken",
                    field="code", params={"code": code})


async def create_building(principal: Principal | None, *, project_id: uuid.UUID | None, code: str,
                          name: str) -> dict[str, Any]:
    problems = Problems()
    values = _building_values(problems, code, name)
    project = await found(problems, get_project(principal, project_id))
    problems.done()
    assert project is not None
    building_id = await _insert_building(project["id"], values["code"], values["name"])
    if building_id is None:
        raise _building_taken(values["code"])
    return await get_building(principal, building_id)


async def update_building(principal: Principal | None, building_id: uuid.UUID, *, code: str | None = None,
                          name: str | None = None) -> dict[str, Any]:
    building = await get_building(principal, building_id, manage=True)
    problems = Problems()
    values = _building_values(problems, building["code"] if code is None else code,
                              building["name"] if name is None else name)
    problems.done()
    if values["code"] != building["code"] and await fetch(
            "SELECT 1 FROM property_building WHERE project_id = $1 AND code = $2", building["project_id"],
            values["code"]):
        raise _building_taken(values["code"])
    await _changed("property_building", building_id, building, values, "archive.building.update")
    return await get_building(principal, building_id)


# ---- units --------------------------------------------------------------------------------------------

def _unit_values(problems: Problems, given: dict[str, Any]) -> dict[str, Any]:
    """The unit fields given (a missing key is left alone), checked; `area` is m² as typed, `area_cm2` exact."""
    checks: dict[str, Any] = {
        "code": check_code, "floor": check_floor, "area_cm2": lambda v: check_area(v, "area"), "area": parse_area,
        "use": lambda v: check_choice(v, USES, "use", USE_WORDS),
        "status": lambda v: check_choice(v, UNIT_STATUSES, "status", STATUS_WORDS)}
    return {"area_cm2" if k == "area" else k: problems.check(checks[k], v) for k, v in given.items()}


async def _insert_unit(building: dict[str, Any], values: dict[str, Any]) -> uuid.UUID | None:
    rows = await fetch("INSERT INTO property_unit (id, tenant_id, created_at, building, project_id, code, floor,"
                       " area_cm2, use, status) VALUES (gen_random_uuid(), $1, now(), $2, $3, $4, $5, $6, $7, $8)"
                       " ON CONFLICT (tenant_id, building, code) DO NOTHING RETURNING id",
                       current_tenant_id(), building["id"], building["project_id"], values["code"], values["floor"],
                       values["area_cm2"], values["use"], values["status"])
    if rows:
        await audit.record("archive.unit.create", "property_unit", rows[0]["id"],
                           after={"building": building["id"], **values})
    return rows[0]["id"] if rows else None


def _unit_taken(code: str) -> Conflict:
    return Conflict("the building has a unit with the code %(code)s already", code="unit_code_taken",
                    field="code", params={"code": code})


async def create_unit(principal: Principal | None, *, building_id: uuid.UUID | None, code: str,
                      floor: int | None = None, area_cm2: int | None = None, area: str | None = None,
                      use: str = "residential", status: str = "vacant") -> dict[str, Any]:
    """A unit of a building; its area in square centimetres (`area_cm2`) or as people type it in m² (`area`)."""
    problems = Problems()
    values = _unit_values(problems, {"code": code, "floor": floor, "use": use, "status": status,
                                     **({"area": area} if area is not None else {"area_cm2": area_cm2})})
    building = await found(problems, get_building(principal, building_id, manage=True, field="building_id"))
    problems.done()
    assert building is not None
    unit_id = await _insert_unit(building, values)
    if unit_id is None:
        raise _unit_taken(values["code"])
    return await get_unit(principal, unit_id)


async def update_unit(principal: Principal | None, unit_id: uuid.UUID, **given: Any) -> dict[str, Any]:
    """Change some of code, floor, area_cm2 (or `area` in m² as typed), use and status (a key left out keeps its
    value)."""
    unit = await get_unit(principal, unit_id, manage=True)
    problems = Problems()
    values = _unit_values(problems, given)
    problems.done()
    if "code" in values and values["code"] != unit["code"] and await fetch(
            "SELECT 1 FROM property_unit WHERE building = $1 AND code = $2", unit["building"], values["code"]):
        raise _unit_taken(values["code"])
    await _changed("property_unit", unit_id, unit, values, "archive.unit.update")
    return await get_unit(principal, unit_id)


# ---- people -------------------------------------------------------------------------------------------

PERSON_TEXT = {"name": 120, "emergency_name": 120, "note": NOTE_MAX}


def _person_values(problems: Problems, given: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in given.items():
        if key in PERSON_TEXT:
            out[key] = problems.check(check_text, value, key, PERSON_TEXT[key], required=key == "name")
        elif key in ("phone", "emergency_phone"):
            out[key] = problems.check(check_phone, value, key)
        elif key == "email":
            out[key] = problems.check(check_email, value)
        elif key == "kind":
            out[key] = problems.check(check_choice, value, PERSON_KINDS, "kind")
        elif key == "user_id":
            out[key] = value
        else:
            raise ValueError(f"a person has no field {key}")
    return out


async def create_person(principal: Principal | None, *, name: str, kind: str = "individual", phone: str = "",
                        email: str = "", emergency_name: str = "", emergency_phone: str = "", note: str = "",
                        user_id: uuid.UUID | None = None) -> dict[str, Any]:
    problems = Problems()
    values = _person_values(problems, {"name": name, "kind": kind, "phone": phone, "email": email,
                                       "emergency_name": emergency_name, "emergency_phone": emergency_phone,
                                       "note": note, "user_id": user_id})
    await _check_user(problems, user_id)
    problems.done()
    row = Person(**values)
    await row.save()
    await audit.record("archive.person.create", "customer", row.id,
                       after={k: v for k, v in values.items() if k != "note"})
    return await get_person(None, row.id)


async def update_person(principal: Principal | None, person_id: uuid.UUID, **given: Any) -> dict[str, Any]:
    """Change some of a person's fields (a key left out keeps its value)."""
    person = await get_person(principal, person_id, manage=True)
    problems = Problems()
    values = _person_values(problems, given)
    await _check_user(problems, values.get("user_id"))
    problems.done()
    await _changed("customer", person_id, person, values, "archive.person.update")
    return await get_person(None, person_id)


# ---- ties between people and units --------------------------------------------------------------------

def _dates(problems: Problems, starts_on: date | None, ends_on: date | None) -> None:
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        problems.add(ValidationFailed("the end date must not be before the start date", field="ends_on"))


async def link_person(principal: Principal | None, *, unit_id: uuid.UUID | None, person_id: uuid.UUID | None,
                      role: str = "owner", starts_on: date | None = None, ends_on: date | None = None
                      ) -> dict[str, Any]:
    """Tie a person to a unit in a role from a date (and until one); a current tie in the same role twice is
    refused (409 `occupancy_exists`)."""
    problems = Problems()
    role = problems.check(check_choice, role, ROLES, "role", ROLE_WORDS)
    _dates(problems, starts_on, ends_on)
    unit = await found(problems, get_unit(principal, unit_id, manage=True, field="unit_id"))
    person = await found(problems, get_person(principal, person_id, field="person_id"))
    problems.done()
    assert unit is not None and person is not None
    if ends_on is None and await Occupancy.exists().where(
            Occupancy.unit == unit["id"], Occupancy.person == person["id"], Occupancy.role == role,
            Occupancy.ends_on.is_null()):
        raise Conflict("%(name)s is tied to this unit in this role already", code="occupancy_exists",
                       field="person_id", params={"name": person["name"]})
    row = Occupancy(unit=unit["id"], person=person["id"], role=role, starts_on=starts_on, ends_on=ends_on)
    await row.save()
    await audit.record("archive.occupancy.create", "unit_occupancy", row.id,
                       after={"unit": unit["id"], "person": person["id"], "role": role, "starts_on": starts_on,
                              "ends_on": ends_on})
    return await get_occupancy(principal, row.id)


async def end_occupancy(principal: Principal | None, occupancy_id: uuid.UUID, *, ends_on: date | None = None
                        ) -> dict[str, Any]:
    """End a tie on a day (today when none is given); a tie that has ended already answers 409."""
    row = await get_occupancy(principal, occupancy_id, manage=True)
    if row["ends_on"] is not None:
        raise Conflict("this tie ended on %(day)s already", code="occupancy_ended", field="ends_on",
                       params={"day": row["ends_on"].isoformat()})
    day = ends_on or await company_today()
    problems = Problems()
    _dates(problems, row["starts_on"], day)
    problems.done()
    await Occupancy.update({Occupancy.ends_on: day}).where(Occupancy.id == occupancy_id)
    await audit.record("archive.occupancy.end", "unit_occupancy", occupancy_id, after={"ends_on": day})
    return await get_occupancy(principal, occupancy_id)


# ---- records ------------------------------------------------------------------------------------------

async def add_record(principal: Principal | None, *, unit_id: uuid.UUID | None, kind: str,
                     occurred_on: date | None, title: str, amount: int | None = None,
                     person_id: uuid.UUID | None = None, note: str = "") -> dict[str, Any]:
    """Something in the unit's file that is not a ticket; payments, deposits and arrears need their amount
    (fen, not negative)."""
    problems = Problems()
    kind = problems.check(check_choice, kind, RECORD_KINDS, "kind")
    if occurred_on is None:
        problems.add(ValidationFailed("%(field)s is required", field="occurred_on", params={"field": "occurred_on"}))
    title = problems.check(check_text, title, "title", 200, required=True)
    note = problems.check(check_text, note, "note", NOTE_MAX)
    if amount is not None and not 0 <= amount <= AMOUNT_MAX:
        problems.add(ValidationFailed("the amount must not be negative", field="amount"))
    elif amount is None and kind in MONEY_KINDS:
        problems.add(ValidationFailed("%(field)s is required", field="amount", params={"field": "amount"}))
    unit = await found(problems, get_unit(principal, unit_id, manage=True, field="unit_id"))
    if person_id is not None:
        await found(problems, get_person(principal, person_id, field="person_id"))
    problems.done()
    assert unit is not None
    row = ArchiveRecord(unit=unit["id"], person_id=person_id, kind=kind, occurred_on=occurred_on, title=title,
                        amount=amount, note=note, recorded_by=principal.user_id if principal else None)
    await row.save()
    await audit.record("archive.record.create", "unit_record", row.id,
                       after={"unit": unit["id"], "kind": kind, "occurred_on": occurred_on, "amount": amount})
    return await get_record(principal, row.id)


# ---- idempotent helpers (the tenant file, imports) --------------------------------------------------

async def ensure_building_row(project_id: uuid.UUID, code: str, name: str = "") -> tuple[uuid.UUID, str | None]:
    """The building's id and what was done ("created", "updated" or None)."""
    problems = Problems()
    values = _building_values(problems, code, name or code)
    project = await found(problems, get_project(None, project_id, field="project"))
    problems.done()
    assert project is not None
    rows = await fetch("SELECT id, code, name FROM property_building WHERE project_id = $1 AND code = $2",
                       project["id"], values["code"])
    if not rows:
        new_id = await _insert_building(project["id"], values["code"], values["name"])
        if new_id is not None:
            return new_id, "created"
        rows = await fetch("SELECT id, code, name FROM property_building WHERE project_id = $1 AND code = $2",
                           project["id"], values["code"])
    changed = name and await _changed("property_building", rows[0]["id"], rows[0], {"name": values["name"]},
                                      "archive.building.update")
    return rows[0]["id"], "updated" if changed else None


async def ensure_building(project_id: uuid.UUID, code: str, name: str) -> uuid.UUID:
    return (await ensure_building_row(project_id, code, name))[0]


async def ensure_unit_row(building_id: uuid.UUID, code: str, *, floor: int | None = None,
                          area_cm2: int | None = None, use: str | None = None, status: str | None = None
                          ) -> tuple[uuid.UUID, str | None]:
    given = {k: v for k, v in (("floor", floor), ("area_cm2", area_cm2), ("use", use), ("status", status))
             if v is not None}
    problems = Problems()
    values = _unit_values(problems, {"code": code, **given})
    building = await found(problems, get_building(None, building_id, field="building"))
    problems.done()
    assert building is not None
    rows = await fetch("SELECT * FROM property_unit WHERE building = $1 AND code = $2", building["id"],
                       values["code"])
    if not rows:
        new_id = await _insert_unit(building, {"floor": None, "area_cm2": None, "use": "residential",
                                               "status": "vacant", **values})
        if new_id is not None:
            return new_id, "created"
        rows = await fetch("SELECT * FROM property_unit WHERE building = $1 AND code = $2", building["id"],
                           values["code"])
    changed = await _changed("property_unit", rows[0]["id"], rows[0], values, "archive.unit.update")
    return rows[0]["id"], "updated" if changed else None


async def ensure_unit(building_id: uuid.UUID, code: str, *, floor: int | None = None, area_cm2: int | None = None,
                      use: str | None = None, status: str | None = None) -> uuid.UUID:
    return (await ensure_unit_row(building_id, code, floor=floor, area_cm2=area_cm2, use=use, status=status))[0]


async def find_person(name: str, phone: str) -> dict[str, Any] | None:
    """The archive's person with this phone (its digits), else, without a phone, the one with this name."""
    sql = ("SELECT * FROM customer WHERE phone = $1 AND phone <> '' ORDER BY created_at, id LIMIT 1" if phone else
           "SELECT * FROM customer WHERE name = $1 ORDER BY phone = '' DESC, created_at, id LIMIT 1")
    rows = await fetch(sql, phone or name)
    return rows[0] if rows else None


async def ensure_person_row(name: str, phone: str = "", **fields: Any) -> tuple[uuid.UUID, str | None]:
    """Found by phone when one is given, else by name. Blank fields (and a None `user_id`) leave what is kept."""
    given = {k: v for k, v in fields.items() if v not in ("", None)}
    problems = Problems()
    values = _person_values(problems, {"name": name, "phone": phone, **given})
    await _check_user(problems, values.get("user_id"))
    problems.done()
    existing = await find_person(values["name"], values["phone"])
    if existing is None:
        return (await create_person(None, **values))["id"], "created"
    wanted = {k: v for k, v in values.items() if k != "phone" or v}
    changed = await _changed("customer", existing["id"], existing, wanted, "archive.person.update")
    return existing["id"], "updated" if changed else None


async def ensure_person(name: str, phone: str = "", **fields: Any) -> uuid.UUID:
    return (await ensure_person_row(name, phone, **fields))[0]


async def ensure_occupancy_row(unit_id: uuid.UUID, person_id: uuid.UUID, role: str = "owner",
                               starts_on: date | None = None) -> tuple[uuid.UUID, str | None]:
    """The current tie of the person to the unit in the role (its start date brought up to date), else a new one."""
    problems = Problems()
    role = problems.check(check_choice, role, ROLES, "role", ROLE_WORDS)
    problems.done()
    row = await Occupancy.select().where(Occupancy.unit == unit_id, Occupancy.person == person_id,
                                         Occupancy.role == role, Occupancy.ends_on.is_null()).first()
    if row is None:
        return (await link_person(None, unit_id=unit_id, person_id=person_id, role=role, starts_on=starts_on))["id"], \
            "created"
    changed = starts_on is not None and await _changed("unit_occupancy", row["id"], row, {"starts_on": starts_on},
                                                       "archive.occupancy.update")
    return row["id"], "updated" if changed else None


async def ensure_occupancy(unit_id: uuid.UUID, person_id: uuid.UUID, role: str = "owner",
                           starts_on: date | None = None) -> uuid.UUID:
    return (await ensure_occupancy_row(unit_id, person_id, role, starts_on))[0]
