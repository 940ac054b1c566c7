"""Reading the customer archive: who may see which part of it, one building, unit or person, the lists
staff search (units, people) and the two archive pages (a unit's whole history, a person's units and tickets).

Scope: staff see the units whose project their `archive.read` rights cover (`manage=True` asks for
`archive.manage`); anything outside answers 404 exactly like a missing id. People belong to no project: a
person is seen through the units they are tied to (any tie, past or present, to a unit in scope), and a person
tied to no unit at all (just entered, not linked yet) is seen by every archive reader. `principal=None` is the
system (the tenant file, an import's own writes): it sees everything.

Lists scale to a company with 100,000 units: units are read a project at a time from the
(tenant, project, code) index in code order, a keyset page after (project, code, id); a code search is a
prefix range on that index (text comparisons are leakproof, so row-level security lets the index serve them,
which LIKE would not). People are read by name from (tenant, name) the same way, or by the phone's stored
digits from (tenant, phone). Totals are counted only up to the cap."""

from __future__ import annotations

import base64
import uuid
from datetime import date
from typing import Any

from careclub.core.db import current_tenant_id, fetch
from careclub.core.errors import NotFound, ValidationFailed
from careclub.core.paging import CAP, capped
from careclub.core.principal import Principal
from careclub.platform.permissions import Perm
from careclub.platform.service import company_today, units_in_scope
from careclub.tickets.service._archive_rules import RECORD_KINDS, looks_like_phone, phone_digits
from careclub.tickets.tables import ArchiveRecord, Occupancy

TICKETS_SHOWN = 200
_TOP = "\U0010ffff"  # sorts after every character: the upper end of a prefix range

Cursor = tuple[uuid.UUID, str, uuid.UUID]


def _perm(manage: bool) -> Perm:
    return Perm.ARCHIVE_MANAGE if manage else Perm.ARCHIVE_READ


async def scope_ids(principal: Principal | None, *, manage: bool = False) -> list[uuid.UUID] | None:
    """The org units (projects among them) the caller's archive rights cover; None: the whole company."""
    if principal is None:
        return None
    return await units_in_scope(principal, _perm(manage))


async def projects_in_scope(principal: Principal | None, *, manage: bool = False) -> list[dict[str, Any]]:
    """The projects (org units of kind project) the caller may see, or run with `manage`, by name."""
    ids = await scope_ids(principal, manage=manage)
    sql = "SELECT id, code, name, path FROM org_unit WHERE kind = 'project'"
    if ids is not None:
        return await fetch(sql + " AND id = ANY($1::uuid[]) ORDER BY name, code", ids)
    return await fetch(sql + " ORDER BY name, code")


def _covers(principal: Principal | None, path: str | None, manage: bool) -> bool:
    return principal is None or (path is not None and principal.covers(_perm(manage), path))


async def get_project(principal: Principal | None, project_id: uuid.UUID | None, *, manage: bool = True,
                      field: str = "project_id") -> dict[str, Any]:
    """An org unit of kind project the caller's archive rights cover (404 otherwise, as if absent)."""
    rows = await fetch("SELECT id, code, name, kind, path FROM org_unit WHERE id = $1", project_id) \
        if project_id is not None else []
    if not rows or not _covers(principal, rows[0]["path"], manage):
        raise NotFound("no such project", code="org_unit_not_found", field=field)
    if rows[0]["kind"] != "project":
        raise ValidationFailed("%(name)s is not a project: buildings belong to an org unit of kind project",
                               field=field, params={"name": rows[0]["name"]})
    return rows[0]


_BUILDING = """SELECT b.id, b.created_at, b.project_id, b.code, b.name, o.code AS project_code,
    o.name AS project_name, o.path AS project_path FROM property_building b JOIN org_unit o ON o.id = b.project_id"""


async def get_building(principal: Principal | None, building_id: uuid.UUID | None, *, manage: bool = False,
                       field: str | None = None) -> dict[str, Any]:
    rows = await fetch(_BUILDING + " WHERE b.id = $1", building_id) if building_id is not None else []
    if not rows or not _covers(principal, rows[0]["project_path"], manage):
        raise NotFound("no such building, or it is not in your projects", code="building_not_found", field=field)
    return rows[0]


async def list_buildings(principal: Principal | None, *, project_id: uuid.UUID | None = None,
                         manage: bool = False) -> list[dict[str, Any]]:
    """The buildings of the projects in scope (a company has hundreds, not millions), by project and code."""
    args: list[Any] = []
    where = ["TRUE"]
    ids = await scope_ids(principal, manage=manage)
    if ids is not None:
        args.append(ids)
        where.append(f"b.project_id = ANY(${len(args)}::uuid[])")
    if project_id is not None:
        args.append(project_id)
        where.append(f"b.project_id = ${len(args)}")
    return await fetch(_BUILDING + f" WHERE {' AND '.join(where)} ORDER BY o.name, o.code, b.code LIMIT 5000", *args)


_UNIT = """SELECT pu.id, pu.created_at, pu.building, pu.project_id, pu.code, pu.floor, pu.area_cm2, pu.use, pu.status,
    b.code AS building_code, b.name AS building_name, o.code AS project_code, o.name AS project_name,
    o.path AS project_path
    FROM property_unit pu JOIN property_building b ON b.id = pu.building JOIN org_unit o ON o.id = pu.project_id"""


async def get_unit(principal: Principal | None, unit_id: uuid.UUID | None, *, manage: bool = False,
                   field: str | None = None) -> dict[str, Any]:
    rows = await fetch(_UNIT + " WHERE pu.id = $1", unit_id) if unit_id is not None else []
    if not rows or not _covers(principal, rows[0]["project_path"], manage):
        raise NotFound("no such unit, or it is not in your projects", code="unit_not_found", field=field)
    return rows[0]


_PERSON = """SELECT c.id, c.created_at, c.name, c.kind, c.phone, c.email, c.emergency_name, c.emergency_phone,
    c.note, c.user_id FROM customer c"""


def _person_scope(at: int) -> str:
    """SQL: the person `c` is tied to a unit of the projects `$at`, or to no unit at all; `$1` is the tenant.
    Scalar subqueries, looked up per person from the (tenant, person) index: EXISTS would let the planner hash
    every tie of the company first, which costs what the company's size costs even for one phone."""
    return (f"((SELECT true FROM unit_occupancy so JOIN property_unit su ON su.id = so.unit"
            f" WHERE so.tenant_id = $1 AND su.tenant_id = $1 AND so.person = c.id"
            f" AND su.project_id = ANY(${at}::uuid[]) LIMIT 1) IS NOT NULL"
            " OR (SELECT true FROM unit_occupancy sn WHERE sn.tenant_id = $1 AND sn.person = c.id LIMIT 1) IS NULL)")


async def get_person(principal: Principal | None, person_id: uuid.UUID | None, *, manage: bool = False,
                     field: str | None = None) -> dict[str, Any]:
    args: list[Any] = [current_tenant_id(), person_id]
    sql = _PERSON + " WHERE c.tenant_id = $1 AND c.id = $2"
    ids = await scope_ids(principal, manage=manage)
    if ids is not None:
        args.append(ids)
        sql += " AND " + _person_scope(3)
    rows = await fetch(sql, *args) if person_id is not None else []
    if not rows:
        raise NotFound("no such person in the archive, or not one of your projects'", code="customer_not_found",
                       field=field)
    return rows[0]


async def get_occupancy(principal: Principal | None, occupancy_id: uuid.UUID, *, manage: bool = False
                        ) -> dict[str, Any]:
    row = await Occupancy.select().where(Occupancy.id == occupancy_id).first()
    if row is not None:
        try:
            await get_unit(principal, row["unit"], manage=manage)
        except NotFound:
            row = None
    if row is None:
        raise NotFound("no such tie between a person and a unit", code="occupancy_not_found")
    row["current"] = current(row, await company_today())
    return row


async def get_record(principal: Principal | None, record_id: uuid.UUID) -> dict[str, Any]:
    row = await ArchiveRecord.select().where(ArchiveRecord.id == record_id).first()
    if row is not None:
        try:
            await get_unit(principal, row["unit"])
        except NotFound:
            row = None
    if row is None:
        raise NotFound("no such record in the archive", code="record_not_found")
    return row


# ---- the lists ----------------------------------------------------------------------------------------

def encode_cursor(row_id: uuid.UUID) -> str:
    """A page's cursor: the id of its last row (22 characters), whose sort key the next page reads back."""
    return base64.urlsafe_b64encode(row_id.bytes).decode().rstrip("=")


async def _after(value: str | None, sql: str) -> dict[str, Any] | None:
    """The row a cursor names (`sql` reads its sort key by id), or a 422 naming `after`."""
    if not value:
        return None
    try:
        row_id = uuid.UUID(bytes=base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except ValueError:
        row_id = None
    rows = await fetch(sql, row_id) if row_id is not None else []
    if not rows:
        raise ValidationFailed("after is not a cursor this API gave", field="after")
    return rows[0]


def _prefix(args: list[Any], column: str, text: str) -> str:
    """A prefix match the (tenant, column) index can serve under row-level security."""
    args += [text, text + _TOP]
    n = len(args)
    return f"{column} >= ${n - 1} AND {column} < ${n} AND starts_with({column}, ${n - 1})"


async def unit_list(principal: Principal | None, *, project_id: uuid.UUID | None = None,
                    building_id: uuid.UUID | None = None, q: str | None = None, after: str | None = None,
                    limit: int = 50) -> tuple[list[dict[str, Any]], str | None]:
    """Units in scope by project, then code (then id); `q` a unit code or its beginning. Answers the page and
    the cursor of the next one (None on the last)."""
    projects = await projects_in_scope(principal)
    if building_id is not None:
        try:
            building = await get_building(principal, building_id)
        except NotFound:
            return [], None
        project_id = project_id if project_id is not None else building["project_id"]
        if project_id != building["project_id"]:
            return [], None
    if project_id is not None:
        projects = [p for p in projects if p["id"] == project_id]
    cursor = await _after(after, "SELECT id, project_id, code FROM property_unit WHERE id = $1")
    start = 0
    if cursor is not None:
        start = next((i for i, p in enumerate(projects) if p["id"] == cursor["project_id"]), len(projects))
    rows: list[dict[str, Any]] = []
    for i in range(start, len(projects)):
        project = projects[i]
        args: list[Any] = [current_tenant_id(), project["id"]]
        where = ["tenant_id = $1", "project_id = $2"]
        if building_id is not None:
            args.append(building_id)
            where.append(f"building = ${len(args)}")
        if q:
            where.append(_prefix(args, "code", q))
        if cursor is not None and i == start:
            args += [cursor["code"], cursor["id"]]
            where.append(f"(code, id) > (${len(args) - 1}, ${len(args)})")
        args.append(limit + 1 - len(rows))
        found = await fetch(
            "SELECT pu.id, pu.created_at, pu.building, pu.project_id, pu.code, pu.floor, pu.area_cm2, pu.use,"
            " pu.status, b.code AS building_code, b.name AS building_name"
            f" FROM (SELECT * FROM property_unit WHERE {' AND '.join(where)} ORDER BY code, id LIMIT ${len(args)}) pu"
            " JOIN property_building b ON b.id = pu.building ORDER BY pu.code, pu.id", *args)
        for r in found:
            r["project_code"], r["project_name"] = project["code"], project["name"]
        rows += found
        if len(rows) > limit:
            break
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        return rows, encode_cursor(last["id"])
    return rows, None


async def unit_count(principal: Principal | None, *, project_id: uuid.UUID | None = None,
                     building_id: uuid.UUID | None = None, q: str | None = None) -> tuple[int, bool]:
    args: list[Any] = [current_tenant_id()]
    where = ["tenant_id = $1"]
    ids = await scope_ids(principal)
    if ids is not None:
        args.append(ids)
        where.append(f"project_id = ANY(${len(args)}::uuid[])")
    for column, value in (("project_id", project_id), ("building", building_id)):
        if value is not None:
            args.append(value)
            where.append(f"{column} = ${len(args)}")
    if q:
        where.append(_prefix(args, "code", q))
    rows = await fetch(f"SELECT count(*) AS n FROM (SELECT 1 FROM property_unit WHERE {' AND '.join(where)}"
                       f" LIMIT {CAP + 1}) x", *args)
    return capped(int(rows[0]["n"]))


# A reader held to some projects sees people through their ties, checked person by person: the count stops
# at a thousand for them (10,000 for a company-wide reader), so it costs what a page of that list costs.
SCOPED_CAP = 1000


async def _person_where(principal: Principal | None, q: str | None) -> tuple[list[Any], list[str], bool]:
    args: list[Any] = [current_tenant_id()]
    where = ["c.tenant_id = $1"]
    ids = await scope_ids(principal)
    if ids is not None:
        args.append(ids)
        where.append(_person_scope(len(args)))
    text = (q or "").strip()
    if text and looks_like_phone(text):
        args.append(phone_digits(text))
        where.append(f"c.phone = ${len(args)} AND c.phone <> ''")  # the index holds only phones given
    elif text:
        where.append(_prefix(args, "c.name", text))
    return args, where, ids is not None


async def person_list(principal: Principal | None, *, q: str | None = None, after: str | None = None,
                      limit: int = 50) -> tuple[list[dict[str, Any]], str | None]:
    """People in scope by name (then id): `q` a phone (found by its digits, exactly) or a name's beginning.
    Answers the page and the cursor of the next one (None on the last)."""
    args, where, _scoped = await _person_where(principal, q)
    cursor = await _after(after, "SELECT id, name FROM customer WHERE id = $1")
    if cursor is not None:
        args += [cursor["name"], cursor["id"]]
        where.append(f"(c.name, c.id) > (${len(args) - 1}, ${len(args)})")
    args.append(limit + 1)
    rows = await fetch(_PERSON + f" WHERE {' AND '.join(where)} ORDER BY c.name, c.id LIMIT ${len(args)}", *args)
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(rows[-1]["id"])
    return rows, None


async def person_count(principal: Principal | None, *, q: str | None = None) -> tuple[int, bool]:
    """How many people `person_list` finds, counted up to the cap (a thousand for a reader held to projects)."""
    args, where, scoped = await _person_where(principal, q)
    cap = SCOPED_CAP if scoped else CAP
    rows = await fetch(f"SELECT count(*) AS n FROM (SELECT 1 FROM customer c WHERE {' AND '.join(where)}"
                       f" LIMIT {cap + 1}) x", *args)
    return capped(int(rows[0]["n"]), cap)


# ---- the archive pages --------------------------------------------------------------------------------

def current(row: dict[str, Any], today: date) -> bool:
    """A tie that holds on the day: started (or with no start) and not ended before it."""
    return (row["starts_on"] is None or row["starts_on"] <= today) and (
        row["ends_on"] is None or row["ends_on"] >= today)


_TICKETS = """SELECT t.id, t.number, t.type_code, t.title, t.status, t.priority, t.created_at, t.closed_at,
    t.satisfaction, tt.name AS type_name,
    (SELECT s->>'name' FROM jsonb_array_elements(tt.stages) s WHERE s->>'code' = t.status LIMIT 1) AS status_name
    FROM ticket t LEFT JOIN ticket_type tt ON tt.id = t.type"""


async def unit_archive(principal: Principal | None, unit_id: uuid.UUID) -> dict[str, Any]:
    """Everything the archive holds about a unit: the unit with its building and project, its people with
    their roles, dates and contacts (emergency contacts included; current ties first), its records grouped by
    kind (newest first), and its tickets (newest first, the latest 200)."""
    unit = await get_unit(principal, unit_id)
    today = await company_today()
    people = await fetch(
        "SELECT o.id AS occupancy_id, o.role, o.starts_on, o.ends_on, c.id, c.created_at, c.name, c.kind, c.phone,"
        " c.email, c.emergency_name, c.emergency_phone, c.note, c.user_id FROM unit_occupancy o"
        " JOIN customer c ON c.id = o.person WHERE o.unit = $1"
        " ORDER BY o.ends_on IS NOT NULL, o.ends_on DESC, o.starts_on DESC NULLS LAST, c.name", unit_id)
    for p in people:
        p["current"] = current(p, today)
    records: dict[str, list[dict[str, Any]]] = {k: [] for k in RECORD_KINDS}
    for r in await fetch("SELECT r.*, c.name AS person_name FROM unit_record r LEFT JOIN customer c"
                         " ON c.id = r.person_id WHERE r.unit = $1 ORDER BY r.occurred_on DESC, r.created_at DESC"
                         " LIMIT 2000", unit_id):
        records.setdefault(r["kind"], []).append(r)
    tickets = await fetch(_TICKETS + f" WHERE t.unit = $1 ORDER BY t.created_at DESC LIMIT {TICKETS_SHOWN}", unit_id)
    return {"unit": unit, "people": people, "records": records, "tickets": tickets}


async def person_archive(principal: Principal | None, person_id: uuid.UUID) -> dict[str, Any]:
    """A person with the units they are tied to (those in scope; current ties first) and their tickets (those
    of projects in scope, newest first, the latest 200)."""
    person = await get_person(principal, person_id)
    ids = await scope_ids(principal)
    today = await company_today()
    args: list[Any] = [person_id]
    where = ""
    if ids is not None:
        args.append(ids)
        where = " AND pu.project_id = ANY($2::uuid[])"
    units = await fetch(
        "SELECT o.id AS occupancy_id, o.role, o.starts_on, o.ends_on, pu.id, pu.created_at, pu.building,"
        " pu.project_id, pu.code, pu.floor, pu.area_cm2, pu.use, pu.status, b.code AS building_code,"
        " b.name AS building_name, og.code AS project_code, og.name AS project_name FROM unit_occupancy o"
        " JOIN property_unit pu ON pu.id = o.unit JOIN property_building b ON b.id = pu.building"
        " JOIN org_unit og ON og.id = pu.project_id"
        f" WHERE o.person = $1{where} ORDER BY o.ends_on IS NOT NULL, o.ends_on DESC, og.name, b.code, pu.code",
        *args)
    for u in units:
        u["current"] = current(u, today)
    ticket_where = " AND t.project_id = ANY($2::uuid[])" if ids is not None else ""
    tickets = await fetch(_TICKETS + f" WHERE t.person = $1{ticket_where} ORDER BY t.created_at DESC"
                          f" LIMIT {TICKETS_SHOWN}", *args)
    return {"person": person, "units": units, "tickets": tickets}
