"""Importing a project's units and people from a sheet (xlsx, or CSV in UTF-8 or GB18030): one row is a
building code (and name), a unit code, floor, area in m², use, status, and optionally a person on it: name,
phone, role (owner, tenant, occupant, contact, or 业主, 租户, 住户, 联系人), the day the tie starts, and an
emergency contact.

Every row is checked first, and the rows against each other (the same unit or person given twice with
different values would make a second import change what the first did): with any problem nothing is imported
and each row's problem is reported as `rows[N].column`, unless the person chose to import the valid rows only.
Importing is idempotent: buildings are found by code within the project, units by code within their
building, people by phone (by name without one), ties by unit, person and role; what is there already and
the same is left alone, so importing the same file again changes nothing. The rows found are read in a few
queries up front, not one per row, so a sheet of 20,000 rows that changes nothing reads in seconds."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from careclub.core.db import current_tenant_id, current_transaction, fetch
from careclub.core.errors import AppError, Conflict, ValidationFailed
from careclub.core.principal import Principal
from careclub.platform import audit
from careclub.tickets.service._archive import _changed, _insert_building, _insert_unit, create_person
from careclub.tickets.service._archive_read import get_project
from careclub.tickets.service._archive_rules import (
    ROLE_WORDS,
    ROLES,
    STATUS_WORDS,
    UNIT_STATUSES,
    USE_WORDS,
    USES,
    check_choice,
    check_code,
    check_phone,
    check_text,
    parse_area,
    parse_floor,
)
from careclub.tickets.tables import Occupancy
from careclub.web.imports import Field, RowProblem, RowsRefused, read_table

IMPORT_FIELDS = [
    Field("building", ("building", "building code", "楼栋", "楼栋编号", "楼栋代码", "楼号")),
    Field("building_name", ("building name", "楼栋名称", "楼名"), required=False),
    Field("unit", ("unit", "unit code", "房号", "房间号", "房屋编号", "户号")),
    Field("floor", ("floor", "楼层"), required=False),
    Field("area", ("area", "面积", "建筑面积"), required=False),
    Field("use", ("use", "用途"), required=False),
    Field("status", ("status", "状态", "房屋状态"), required=False),
    Field("name", ("name", "person", "姓名", "客户姓名", "业主姓名"), required=False),
    Field("phone", ("phone", "电话", "手机", "手机号", "联系电话"), required=False),
    Field("role", ("role", "身份", "角色"), required=False),
    Field("starts_on", ("starts on", "since", "起始日期", "开始日期", "入住日期"), required=False),
    Field("emergency_name", ("emergency contact", "emergency name", "紧急联系人"), required=False),
    Field("emergency_phone", ("emergency phone", "紧急联系电话", "紧急联系人电话"), required=False),
]
_PERSON_FIELDS = ("phone", "role", "starts_on", "emergency_name", "emergency_phone")
_DAY = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
KINDS = ("buildings", "units", "people", "occupancies")


def parse_day(text: str, field: str = "starts_on") -> date | None:
    """A date as a sheet holds it: 2023-10-01, 2023/10/1, 2023.10.01 or 2023年10月1日."""
    value = (text or "").strip()
    if not value:
        return None
    m = _DAY.match(value.split("T")[0].split(" ")[0])
    try:
        if m is None:
            raise ValueError(value)
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ValidationFailed("%(field)s must be a date like 2026-03-01", field=field,
                               params={"field": field}) from None


def _check_row(row: dict[str, str]) -> tuple[dict[str, Any], list[tuple[str, AppError]]]:
    """One row's values, read and checked, and its problems as (column, error)."""
    found: list[tuple[str, AppError]] = []
    out: dict[str, Any] = {}

    def take(column: str, check: Any, *args: Any) -> None:
        try:
            out[column] = check(*args)
        except AppError as exc:
            found.append((column, exc))
            out[column] = None

    text = {f.name: (row.get(f.name) or "").strip() for f in IMPORT_FIELDS}
    take("building", check_code, text["building"], "building")
    take("building_name", check_text, text["building_name"], "building_name", 120)
    take("unit", check_code, text["unit"], "unit")
    take("floor", parse_floor, text["floor"])
    take("area_cm2", parse_area, text["area"])
    take("use", lambda v: check_choice(v, USES, "use", USE_WORDS) if v else None, text["use"])
    take("status", lambda v: check_choice(v, UNIT_STATUSES, "status", STATUS_WORDS) if v else None, text["status"])
    take("name", check_text, text["name"], "name", 120)
    take("phone", check_phone, text["phone"], "phone")
    take("role", lambda v: check_choice(v or "owner", ROLES, "role", ROLE_WORDS), text["role"])
    take("starts_on", parse_day, text["starts_on"])
    take("emergency_name", check_text, text["emergency_name"], "emergency_name", 120)
    take("emergency_phone", check_phone, text["emergency_phone"], "emergency_phone")
    if not text["name"] and any(text[k] for k in _PERSON_FIELDS):
        found.append(("name", ValidationFailed("%(field)s is required", field="name", params={"field": "name"})))
    found = [("area" if c == "area_cm2" else c, e) for c, e in found]
    return out, found


def _disagrees(seen: dict[Any, tuple[int, dict[str, Any]]], key: Any, number: int,
               values: dict[str, Any]) -> list[tuple[str, AppError]]:
    """The same unit or person twice in a file must say the same of it (a blank says nothing)."""
    given = {k: v for k, v in values.items() if v not in (None, "")}
    if key not in seen:
        seen[key] = (number, given)
        return []
    first, before = seen[key]
    out: list[tuple[str, AppError]] = []
    for k, v in given.items():
        if k in before and before[k] != v:
            out.append(("area" if k == "area_cm2" else k, ValidationFailed(
                "row %(row)s gives this a different %(field)s", field=k, params={"row": first, "field": k})))
        before.setdefault(k, v)
    return out


@dataclass
class _Found:
    """The rows a file names that are there already, read up front."""

    buildings: dict[str, dict[str, Any]] = field(default_factory=dict)
    units: dict[tuple[uuid.UUID, str], dict[str, Any]] = field(default_factory=dict)
    people: dict[Any, dict[str, Any]] = field(default_factory=dict)
    ties: dict[tuple[uuid.UUID, uuid.UUID, str], dict[str, Any]] = field(default_factory=dict)

    @classmethod
    async def load(cls, project_id: uuid.UUID, rows: list[tuple[int, dict[str, Any]]]) -> _Found:
        f = cls()
        for b in await fetch("SELECT id, project_id, code, name FROM property_building WHERE tenant_id = $1"
                             " AND project_id = $2", current_tenant_id(), project_id):
            f.buildings[b["code"]] = b
        codes = sorted({r["unit"] for _n, r in rows})
        for u in await fetch("SELECT * FROM property_unit WHERE tenant_id = $1 AND project_id = $2 AND"
                             " code = ANY($3::text[])", current_tenant_id(), project_id, codes):
            f.units[(u["building"], u["code"])] = u
        phones = sorted({r["phone"] for _n, r in rows if r["name"] and r["phone"]})
        names = sorted({r["name"] for _n, r in rows if r["name"] and not r["phone"]})
        for p in await fetch("SELECT * FROM customer WHERE tenant_id = $1 AND phone = ANY($2::text[]) AND phone <> ''"
                             " ORDER BY created_at DESC, id DESC", current_tenant_id(), phones):
            f.people[p["phone"]] = p  # the oldest last, so it is the one kept
        for p in await fetch("SELECT * FROM customer WHERE tenant_id = $1 AND name = ANY($2::text[])"
                             " ORDER BY phone = '', created_at DESC, id DESC", current_tenant_id(), names):
            f.people[("name", p["name"])] = p
        units = [u["id"] for u in f.units.values()]
        for o in await fetch("SELECT * FROM unit_occupancy WHERE tenant_id = $1 AND unit = ANY($2::uuid[])"
                             " AND ends_on IS NULL ORDER BY created_at DESC", current_tenant_id(), units):
            f.ties[(o["unit"], o["person"], o["role"])] = o
        return f


async def _import_row(project: dict[str, Any], r: dict[str, Any], f: _Found, done: dict[str, Counter[str]]) -> None:
    b = f.buildings.get(r["building"])
    if b is None:
        new_id = await _insert_building(project["id"], r["building"], r["building_name"] or r["building"])
        if new_id is None:
            raise Conflict("the building %(code)s was added meanwhile; import again", code="conflict", field="building",
                           params={"code": r["building"]})
        b = f.buildings[r["building"]] = {"id": new_id, "project_id": project["id"], "code": r["building"],
                                          "name": r["building_name"] or r["building"]}
        done["created"]["buildings"] += 1
    elif r["building_name"] and await _changed("property_building", b["id"], b, {"name": r["building_name"]},
                                               "archive.building.update"):
        b["name"] = r["building_name"]
        done["updated"]["buildings"] += 1
    values = {k: r[k] for k in ("floor", "area_cm2", "use", "status") if r[k] is not None}
    u = f.units.get((b["id"], r["unit"]))
    if u is None:
        unit = {"code": r["unit"], "floor": None, "area_cm2": None, "use": "residential", "status": "vacant", **values}
        new_id = await _insert_unit(b, unit)
        if new_id is None:
            raise Conflict("the unit %(code)s was added meanwhile; import again", code="conflict", field="unit",
                           params={"code": r["unit"]})
        u = f.units[(b["id"], r["unit"])] = {"id": new_id, "building": b["id"], **unit}
        done["created"]["units"] += 1
    elif await _changed("property_unit", u["id"], u, values, "archive.unit.update"):
        u.update(values)
        done["updated"]["units"] += 1
    if not r["name"]:
        return
    key = r["phone"] or ("name", r["name"])
    given = {k: r[k] for k in ("name", "phone", "emergency_name", "emergency_phone") if r[k]}
    p = f.people.get(key)
    if p is None:
        p = f.people[key] = await create_person(None, **given)
        done["created"]["people"] += 1
    elif await _changed("customer", p["id"], p, given, "archive.person.update"):
        p.update(given)
        done["updated"]["people"] += 1
    tie = f.ties.get((u["id"], p["id"], r["role"]))
    if tie is None:
        row = Occupancy(unit=u["id"], person=p["id"], role=r["role"], starts_on=r["starts_on"])
        await row.save()
        await audit.record("archive.occupancy.create", "unit_occupancy", row.id,
                           after={"unit": u["id"], "person": p["id"], "role": r["role"], "starts_on": r["starts_on"]})
        f.ties[(u["id"], p["id"], r["role"])] = {"id": row.id, "starts_on": r["starts_on"]}
        done["created"]["occupancies"] += 1
    elif r["starts_on"] and await _changed("unit_occupancy", tie["id"], tie, {"starts_on": r["starts_on"]},
                                           "archive.occupancy.update"):
        tie["starts_on"] = r["starts_on"]
        done["updated"]["occupancies"] += 1


async def import_units(principal: Principal | None, data: bytes, *, project_id: uuid.UUID | None,
                       valid_only: bool = False) -> dict[str, Any]:
    """Units and people of one project from an xlsx or CSV file; the caller needs `archive.manage` over the
    project. Answers the rows read, the rows imported, what was created and updated of each kind, and the
    problems (with `valid_only`, those of the rows left out)."""
    project = await get_project(principal, project_id, field="project")
    table = read_table(data, IMPORT_FIELDS)
    problems: list[RowProblem] = []
    good: list[tuple[int, dict[str, Any]]] = []
    units: dict[Any, tuple[int, dict[str, Any]]] = {}
    people: dict[Any, tuple[int, dict[str, Any]]] = {}
    for number, row in table.rows:
        values, found = _check_row(row)
        if not found:
            found += _disagrees(units, (values["building"], values["unit"]), number,
                                {k: values[k] for k in ("building_name", "floor", "area_cm2", "use", "status")})
            if values["name"]:
                found += _disagrees(people, values["phone"] or ("name", values["name"]), number,
                                    {k: values[k] for k in ("name", "emergency_name", "emergency_phone")})
        problems += [RowProblem(number, column, error) for column, error in found]
        if not found:
            good.append((number, values))
    if problems and not valid_only:
        raise RowsRefused(problems)
    done: dict[str, Counter[str]] = {"created": Counter(), "updated": Counter()}
    existing = await _Found.load(project["id"], good)
    imported = 0
    for number, values in good:
        try:
            async with current_transaction().connection.transaction():  # a savepoint: a refused row leaves nothing
                await _import_row(project, values, existing, done)
            imported += 1
        except AppError as exc:
            problems.append(RowProblem(number, exc.field or "row", exc))
            existing = await _Found.load(project["id"], good)  # what the savepoint undid is gone again
    if problems and not valid_only:
        raise RowsRefused(problems)
    created, updated = ({k: done[what][k] for k in KINDS} for what in ("created", "updated"))
    result = {"rows": len(table.rows), "imported": imported, "created": created, "updated": updated}
    if any(created.values()) or any(updated.values()):
        await audit.record("archive.import", "org_unit", project["id"], after=result)
    return {**result, "problems": problems}
